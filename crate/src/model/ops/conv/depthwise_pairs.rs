//! Depthwise convolutions with "same" padding over narrow planes (output rows of at most
//! 8 pixels: MobileNet's, EfficientNet's and ConvNeXt's 7x7 layers) with AVX-512,
//! natively: two output rows per vector. At stride 1, output rows `oy` and `oy + 1` read,
//! for tap `(ky, kx)`, input rows `oy + ky - p` and `oy + 1 + ky - p` at the same columns,
//! and those lie one after the other in the plane: one masked load of `2 w` values
//! (lanes whose column falls outside the row, or whose row outside the plane, read as
//! zero and touch no memory) serves both. At stride 2 (3x3, 14x14 -> 7x7) each input
//! row is one masked 16-value load and each tap column takes every other value of two
//! rows by one two-source permute. No padded copy, no interleaving of channels into lanes
//! ([`super::depthwise_lanes`], whose transposes cost more than its sums), and a 7x7
//! plane's 49 outputs fill 4 vectors; the four row pairs of a block of 8 rows are four
//! independent chains of sums sharing each broadcast tap. Natively, one thread, against
//! the lanes (runs alternating in one process): MobileNetV2's 960-channel 7x7 layers
//! 0.048-0.055 -> 0.030-0.033 ms each and its 576-channel stride-2 one 0.077-0.079 ->
//! 0.032-0.033 (onnxruntime's 0.03-0.04), ConvNeXt-T's stage-4 7x7 kernels 0.175-0.183
//! -> 0.108, EfficientNet-B0's 5x5 ones 0.212 -> 0.200 (their fused SiLU is most of what
//! is left). The masks, the same for every plane, are computed once per call: built per
//! load from the row's and the column's they left the 7x7 layers at 0.041-0.044 ms.

use super::super::super::conv::gemm_micro::Clamp;
use super::depthwise_masked::clamped;
use super::Call;
use crate::model::graph::ConvCfg;
use crate::model::ops::output::overwritten;
use rayon::prelude::*;
use std::arch::x86_64::*;

/// Values per vector.
const LANES: usize = 16;
/// Row pairs per block: four chains of sums.
const PAIRS: usize = 4;
/// Planes per parallel task.
const PLANES_PER_TASK: usize = 64;

/// Whether a depthwise convolution over `h x w` planes runs here, with AVX-512F and no
/// dilation, "same" padding (half the kernel): at stride 1 a kernel of 3, 5 or 7 on rows
/// of at most 8 pixels; at stride 2 a 3x3 kernel whose output rows are at most 7 pixels
/// (one row's taps within one 16-value load).
pub(super) fn takes(cfg: &ConvCfg, (h, w): (usize, usize)) -> bool {
    let k = cfg.kernel.0;
    let square = cfg.kernel == (k, k) && cfg.padding == (k / 2, k / 2) && cfg.dilation == (1, 1);
    let same = cfg.stride == (1, 1) && matches!(k, 3 | 5 | 7) && (1..=LANES / 2).contains(&w);
    let halved = cfg.stride == (2, 2)
        && k == 3
        && super::out_size(cfg, h, w).is_some_and(|(_, ow)| 2 * (ow - 1) + k <= LANES);
    square && (same || halved) && std::is_x86_feature_detected!("avx512f")
}

/// `clamp(bias + conv(x))` for every channel (where [`takes`]).
pub(super) fn forward(wt: &[f32], bias: &[f32], call: &Call, x: &[f32], clamp: Clamp) -> Vec<f32> {
    let (cfg, n, (h, w), (oh, ow)) = call.parts();
    let c = cfg.in_channels;
    // `takes` admits 3x3 only at stride 2.
    let kernel = match (cfg.stride.0, cfg.kernel.0) {
        (2, _) => halved::<3>,
        (_, 3) => planes::<3>,
        (_, 5) => planes::<5>,
        _ => planes::<7>,
    };
    let task = |(t, (src, dst)): (usize, (&[f32], &mut [f32]))| {
        // SAFETY: `takes` checked AVX-512F; the chunks hold whole planes.
        unsafe {
            kernel(
                src,
                dst,
                (wt, bias),
                (t * PLANES_PER_TASK, c),
                ((h, w), (oh, ow)),
                clamp,
            )
        }
    };
    let fill = |y: &mut [f32]| {
        let chunks = x
            .chunks(PLANES_PER_TASK * h * w)
            .zip(y.chunks_mut(PLANES_PER_TASK * oh * ow));
        if rayon::current_num_threads() > 1 {
            chunks
                .collect::<Vec<_>>()
                .into_par_iter()
                .enumerate()
                .for_each(task);
        } else {
            chunks.enumerate().for_each(task);
        }
    };
    // SAFETY: every plane's every row pair is stored (`store_pairs`: both rows where
    // the second exists), which covers each output value.
    unsafe { overwritten(n * c * oh * ow, fill) }
}

/// The planes of `src` (the first is plane `first` of the batch, channel `first % c`)
/// into `dst`.
///
/// # Safety
/// AVX-512F; `src` and `dst` hold the same whole number of `h x w` planes, `w <= 8`;
/// `wt` holds `c` kernels of `K x K` and `bias` `c` values.
#[target_feature(enable = "avx512f")]
unsafe fn planes<const K: usize>(
    src: &[f32],
    dst: &mut [f32],
    (wt, bias): (&[f32], &[f32]),
    (first, c): (usize, usize),
    ((h, w), _): ((usize, usize), (usize, usize)),
    clamp: Clamp,
) {
    let p = (K / 2) as isize;
    let plane = h * w;
    let first_row: u16 = (1 << w) - 1;
    let second_row = first_row << w;
    // Lanes whose column `j % w + kx - p` falls inside the row.
    let mut columns = [0u16; K];
    for (kx, m) in columns.iter_mut().enumerate() {
        for j in 0..2 * w {
            let col = (j % w) as isize + kx as isize - p;
            if (0..w as isize).contains(&col) {
                *m |= 1 << j;
            }
        }
    }
    let row_inside = |r: isize| (0..h as isize).contains(&r);
    // Each load's mask, the same for every plane: per block of 8 rows, pair and tap,
    // the lanes whose row and column fall inside the plane.
    let blocks = h.div_ceil(2 * PAIRS);
    let mut masks = vec![[[[0u16; K]; K]; PAIRS]; blocks];
    for (blk, block) in masks.iter_mut().enumerate() {
        for (pi, pair) in block.iter_mut().enumerate() {
            for (ky, row) in pair.iter_mut().enumerate() {
                let r = (blk * 2 * PAIRS + 2 * pi + ky) as isize - p;
                let rows = if row_inside(r) { first_row } else { 0 }
                    | if row_inside(r + 1) { second_row } else { 0 };
                for (m, col) in row.iter_mut().zip(&columns) {
                    *m = rows & col;
                }
            }
        }
    }
    for (i, (s, d)) in src
        .chunks_exact(plane)
        .zip(dst.chunks_exact_mut(plane))
        .enumerate()
    {
        let ch = (first + i) % c;
        let taps = &wt[ch * K * K..][..K * K];
        let b = _mm512_set1_ps(bias[ch]);
        for (blk, block) in masks.iter().enumerate() {
            let oy0 = blk * 2 * PAIRS;
            let mut acc = [b; PAIRS];
            for ky in 0..K {
                for kx in 0..K {
                    let t = _mm512_set1_ps(taps[ky * K + kx]);
                    for (pi, sum) in acc.iter_mut().enumerate() {
                        let r = (oy0 + 2 * pi + ky) as isize - p;
                        let at = s.as_ptr().wrapping_offset(r * w as isize + kx as isize - p);
                        // SAFETY: the mask keeps every lane read inside the plane; a
                        // masked-off lane touches no memory, whatever its address.
                        let v = unsafe { _mm512_maskz_loadu_ps(block[pi][ky][kx], at) };
                        *sum = _mm512_fmadd_ps(t, v, *sum);
                    }
                }
            }
            // SAFETY: `d` is one output plane of `h x w`.
            unsafe { store_pairs(acc, oy0, (h, w), d, clamp) };
        }
    }
}

/// Clamps the sums of a block's row pairs (from output row `oy0`) and stores each pair's
/// rows that exist: lanes `0..ow` row `oy`, lanes `ow..2 ow` row `oy + 1`. The sums by
/// value: a reference to them, where the call is not inlined, would keep them in memory
/// through the loop (the filter lanes' trap, `conv/filter_lanes.rs`).
///
/// # Safety
/// AVX-512F; `d` is an output plane of `oh x ow` values, `ow <= 8`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store_pairs(
    acc: [__m512; PAIRS],
    oy0: usize,
    (oh, ow): (usize, usize),
    d: &mut [f32],
    clamp: Clamp,
) {
    let first_row: u16 = (1 << ow) - 1;
    for (pi, &sum) in acc.iter().enumerate() {
        let oy = oy0 + 2 * pi;
        let store =
            if oy < oh { first_row } else { 0 } | if oy + 1 < oh { first_row << ow } else { 0 };
        let v = unsafe { clamped(sum, clamp) };
        let at = d.as_mut_ptr().wrapping_add(oy * ow);
        // SAFETY: the mask keeps the store within rows `oy` and `oy + 1` of the plane
        // where they exist.
        unsafe { _mm512_mask_storeu_ps(at, store, v) };
    }
}

/// Permute indices taking output rows `oy` and `oy + 1` of a stride-2 tap column `kx`
/// from two 16-value input row loads (each from column `-p`): lanes `j < ow` read value
/// `kx + 2 j` of the first, lanes `ow + j` value `kx + 2 j` of the second.
fn halved_index(kx: usize, ow: usize) -> [i32; LANES] {
    let mut idx = [0i32; LANES];
    for j in 0..ow {
        idx[j] = (kx + 2 * j) as i32;
        idx[ow + j] = (LANES + kx + 2 * j) as i32;
    }
    idx
}

/// [`planes`] at stride 2: output rows `oy` and `oy + 1` read input rows `2 oy + ky - p`
/// and two below, each one masked load of 16 values from column `-p`, and each tap column
/// takes its every other value from both by one two-source permute.
///
/// # Safety
/// AVX-512F; `src` holds whole `h x w` planes and `dst` as many `oh x ow` ones, with
/// `2 (ow - 1) + K <= 16`; `wt` holds `c` kernels of `K x K` and `bias` `c` values.
#[target_feature(enable = "avx512f")]
unsafe fn halved<const K: usize>(
    src: &[f32],
    dst: &mut [f32],
    (wt, bias): (&[f32], &[f32]),
    (first, c): (usize, usize),
    ((h, w), (oh, ow)): ((usize, usize), (usize, usize)),
    clamp: Clamp,
) {
    let p = (K / 2) as isize;
    // Lanes of a load from column -p that fall inside the row.
    let mut inside = 0u16;
    for t in 0..LANES {
        if (0..w as isize).contains(&(t as isize - p)) {
            inside |= 1 << t;
        }
    }
    let mut index = [_mm512_setzero_si512(); K];
    for (kx, v) in index.iter_mut().enumerate() {
        // SAFETY: 16 indices.
        *v = unsafe { _mm512_loadu_si512(halved_index(kx, ow).as_ptr().cast()) };
    }
    // Each load's mask, the same for every plane: per block of 8 output rows, pair and
    // kernel row, the two input rows' lanes inside the plane.
    let row = |r: isize| {
        if (0..h as isize).contains(&r) {
            inside
        } else {
            0
        }
    };
    let blocks = oh.div_ceil(2 * PAIRS);
    let mut masks = vec![[[(0u16, 0u16); K]; PAIRS]; blocks];
    for (blk, block) in masks.iter_mut().enumerate() {
        for (pi, pair) in block.iter_mut().enumerate() {
            for (ky, m) in pair.iter_mut().enumerate() {
                let r = (2 * (blk * 2 * PAIRS + 2 * pi) + ky) as isize - p;
                *m = (row(r), row(r + 2));
            }
        }
    }
    for (i, (s, d)) in src
        .chunks_exact(h * w)
        .zip(dst.chunks_exact_mut(oh * ow))
        .enumerate()
    {
        let ch = (first + i) % c;
        let taps = &wt[ch * K * K..][..K * K];
        let b = _mm512_set1_ps(bias[ch]);
        for (blk, block) in masks.iter().enumerate() {
            let oy0 = blk * 2 * PAIRS;
            let mut acc = [b; PAIRS];
            for ky in 0..K {
                for (pi, sum) in acc.iter_mut().enumerate() {
                    let r = (2 * (oy0 + 2 * pi) + ky) as isize - p;
                    let (ma, mb) = block[pi][ky];
                    let at = |r: isize| s.as_ptr().wrapping_offset(r * w as isize - p);
                    // SAFETY: the masks keep every lane read inside the plane; a
                    // masked-off lane touches no memory, whatever its address.
                    let (upper, lower) = unsafe {
                        (
                            _mm512_maskz_loadu_ps(ma, at(r)),
                            _mm512_maskz_loadu_ps(mb, at(r + 2)),
                        )
                    };
                    for (kx, idx) in index.iter().enumerate() {
                        let v = _mm512_permutex2var_ps(upper, *idx, lower);
                        *sum = _mm512_fmadd_ps(_mm512_set1_ps(taps[ky * K + kx]), v, *sum);
                    }
                }
            }
            // SAFETY: `d` is one output plane of `oh x ow`.
            unsafe { store_pairs(acc, oy0, (oh, ow), d, clamp) };
        }
    }
}
