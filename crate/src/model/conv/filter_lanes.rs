//! Direct convolutions with 32 filters across the lanes (AVX-512, natively) for output
//! rows 14 wide or less, or a multiple of 14: ResNet's and DenseNet's 3x3s from 56x56 to
//! 7x7. The flat-row kernel ([`super::direct`]) computes and drops its padding columns
//! (its 49 outputs of a 7x7 map fill two 32-position spans: 28% of its work wasted,
//! 14% at 14x14); here no lane ever holds a position outside the map.
//!
//! A tile is up to 14 outputs of one row (of two rows where they are 7 wide or less)
//! times a block of 32 filters, in two registers per output: for each input channel and tap, the block's two filter vectors are loaded
//! once and each output's input value is broadcast once, into a register, against both,
//! so any width fits. 1x1 convolutions take it too (`ops::conv` says which), their maps
//! read in place: at stride 1 as one flat row, at stride 2 every other value of every
//! other row. While a block's tiles run, the next block's filters are asked for into L2,
//! a line per step spread over the tiles: where filters outgrow L2 (ResNet-50's layer4,
//! 4 MB per convolution) the first tile of each block waited on them from memory
//! (ResNet-50's forward pass 38.6-39.6 -> 35.9-37.1 ms, runs alternating, one thread).
//!
//! The input is read as the flat-row kernel reads it, [`Unfolded`]'s zero-padded phase
//! planes ([`PhaseTaps`]), where a row's outputs read consecutive values at either
//! stride; the tile is transposed in registers and each filter's row stored from its
//! register by one masked store, with bias, residual and clamp (a few hundred values
//! against thousands of multiply-adds). ResNet-50 on Zen 4, natively, one thread, each
//! layer: 28x28 3x3s 2.4-2.5 -> 2.2 ms, 14x14 2.5 -> 2.2-2.25, 7x7 2.85-3.0 -> 2.5-2.6
//! (onnxruntime's 2.0, 2.1 and 2.4); the 56x56 ones unchanged (2.3).

// The kernel exists natively on x86_64 only; elsewhere it is never chosen.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code, unused_mut))]

use super::direct::{pack_filters, per_image, PhaseTaps};
use super::gemm_micro::Clamp;
use super::packed_gemm::Out;
use super::unfolded::Unfolded;
use crate::model::graph::ConvCfg;
use rayon::prelude::*;

/// Filters per block: two 16-lane vectors.
const BLOCK: usize = 32;
/// Input plane size from which a 1x1 convolution at stride 2 reads in place rather than
/// from a compact copy of the values it reads ([`Unfolded::subsampled`]): ResNet-50's
/// downsampling 1x1s over 56x56 planes took 0.88-0.89 ms in place against 1.02, over
/// 28x28 0.88 against 0.95-0.96, over 14x14 1.29-1.33 against 1.23-1.30 (its 1024
/// planes' strided reads then cost more than the copy; runs alternating in one process,
/// one thread; the copy was then four zeroed phase planes read row by row).
const IN_PLACE_STRIDED_PLANE: usize = 28 * 28;

/// Outputs per tile at most ([`avx512::wide`]): 2 x 14 accumulators, two filter vectors
/// and the broadcast input in 31 of AVX-512's 32 registers.
const WIDE: usize = 14;
/// Outputs per filter's row of a tile at most: one vector, as the transpose writes it.
const TILE_ROW: usize = 16;

/// A convolution's weights packed per block of 32 filters as `[in][tap][filter]`, the
/// filters past the layer's zero.
#[derive(Debug)]
pub struct FilterLanesConv {
    cfg: ConvCfg,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl FilterLanesConv {
    /// Whether the flat-row kernel would waste enough of its work on `out_hw` that this
    /// one should take `cfg` (which [`super::direct::DirectConv::fits`]): output rows at
    /// most 14 wide or a multiple of 14, 32 filters or more, 16 input channels or more
    /// (the stems' 3 leave too few multiply-adds per tile to hide its transposed store).
    pub fn suits(cfg: &ConvCfg, out_hw: (usize, usize)) -> bool {
        (out_hw.1 <= WIDE || out_hw.1.is_multiple_of(WIDE))
            && cfg.out_channels >= BLOCK
            && cfg.in_channels >= 16
    }

    /// [`Self::suits`] for a 1x1 convolution without padding at stride 1 or 2: at stride
    /// 1 any map, read as one flat row.
    pub fn suits_pointwise(cfg: &ConvCfg, out_hw: (usize, usize)) -> bool {
        match pointwise_stride(cfg) {
            Some(1) => Self::suits(cfg, (1, 1)),
            Some(2) => Self::suits(cfg, out_hw),
            _ => false,
        }
    }

    /// Packs `weight` (`[out, in, k, k]`) and its bias (zeros if none).
    pub fn new(cfg: ConvCfg, weight: &[f32], bias: Option<&[f32]>) -> Self {
        let (cin, cout) = (cfg.in_channels, cfg.out_channels);
        let taps = cfg.kernel.0 * cfg.kernel.1;
        let blocks = cout.div_ceil(BLOCK);
        let mut weights = Vec::with_capacity(blocks * cin * taps * BLOCK);
        for block in 0..blocks {
            pack_filters(
                weight,
                &cfg,
                block * BLOCK..(block + 1) * BLOCK,
                &mut weights,
            );
        }
        FilterLanesConv {
            cfg,
            weights,
            bias: bias.map_or_else(|| vec![0.0; cout], <[f32]>::to_vec),
        }
    }

    /// `clamp(conv(x) + bias [+ residual])` for `n` images of `h x w` into `oh x ow`
    /// (the caller checked the sizes). Only where AVX-512F is.
    pub fn forward(
        &self,
        x: &[f32],
        n: usize,
        (h, w): (usize, usize),
        (oh, ow): (usize, usize),
        residual: Option<&[f32]>,
        clamp: Clamp,
    ) -> Vec<f32> {
        let (cin, cout) = (self.cfg.in_channels, self.cfg.out_channels);
        // 1x1 convolutions read their input in place: output `q` of the flattened map
        // reads input `q` of each plane at stride 1, output `(oy, ox)` input
        // `(2 oy, 2 ox)` at stride 2.
        let in_place = match pointwise_stride(&self.cfg) {
            Some(1) => Some((h * w, 1, (1, oh * ow))),
            Some(2) if h * w >= IN_PLACE_STRIDED_PLANE => Some((2 * w, 2, (oh, ow))),
            _ => None,
        };
        if let Some((cols, step, out_hw)) = in_place {
            let taps = PhaseTaps {
                channel: h * w,
                cols,
                offsets: vec![0],
                step,
            };
            // SAFETY: as below.
            return unsafe {
                per_image(
                    x,
                    n,
                    (cin * h * w, cout * oh * ow),
                    residual,
                    |xs, ys, res| self.image(xs, &taps, out_hw, ys, res, clamp),
                )
            };
        }
        if pointwise_stride(&self.cfg).is_some() {
            // Below the in-place threshold a strided 1x1 reads a compact copy of the
            // values it reads, as one flat row like a 1x1 at stride 1: read from phase
            // planes, each output row a tile of its own, ResNet-50's layer4 downsample
            // (7x7 outputs) ran as tiles of 7 (1.17 -> 0.95 ms, runs alternating in one
            // process, one thread).
            let flat = PhaseTaps {
                channel: oh * ow,
                cols: oh * ow,
                offsets: vec![0],
                step: 1,
            };
            let stride = self.cfg.stride.0;
            // SAFETY: as below.
            return unsafe {
                per_image(
                    x,
                    n,
                    (cin * h * w, cout * oh * ow),
                    residual,
                    |xs, ys, res| {
                        let compact = Unfolded::subsampled(xs, cin, (h, w), (oh, ow), stride);
                        self.image(compact.phases(), &flat, (1, oh * ow), ys, res, clamp);
                    },
                )
            };
        }
        let taps = PhaseTaps::new(&self.cfg, (h, w));
        // SAFETY: every image's blocks store every filter's every output pixel.
        unsafe {
            per_image(
                x,
                n,
                (cin * h * w, cout * oh * ow),
                residual,
                |xs, ys, res| {
                    let padded = Unfolded::new(xs, cin, &self.cfg, (h, w), (oh, ow));
                    self.image(padded.phases(), &taps, (oh, ow), ys, res, clamp);
                },
            )
        }
    }

    fn image(
        &self,
        padded: &[f32],
        taps: &PhaseTaps,
        out_hw: (usize, usize),
        y: &mut [f32],
        residual: Option<&[f32]>,
        clamp: Clamp,
    ) {
        let cin = self.cfg.in_channels;
        let per_block = cin * taps.offsets.len() * BLOCK;
        let out = Out(y.as_mut_ptr());
        let run = |block: usize| {
            let weights = &self.weights[block * per_block..][..per_block];
            let next = self.weights.get((block + 1) * per_block..).unwrap_or(&[]);
            // SAFETY: each block writes only its own filters' planes of `y`, which `out`
            // covers; `padded` holds every channel's phase planes.
            unsafe {
                self.block(
                    block,
                    (weights, next),
                    (padded, taps),
                    out_hw,
                    out,
                    residual,
                    clamp,
                )
            };
        };
        let blocks = self.cfg.out_channels.div_ceil(BLOCK);
        if rayon::current_num_threads() > 1 && blocks > 1 {
            (0..blocks).into_par_iter().for_each(run);
        } else {
            (0..blocks).for_each(run);
        }
    }

    /// Every output of one block of filters, tile by tile. Compiled for AVX-512 as a
    /// whole so the store's loop (bias, residual, clamp per filter row) is vectorised 16
    /// lanes wide, not 4 (the baseline's SSE): ResNet-50's 3x3s 0.7-1.0 ms faster in all,
    /// DenseNet-121's 0.7, ResNet-18's 0.2 (A/B in one process, one thread).
    ///
    /// # Safety
    /// `out` covers the layer's `[out, oh, ow]` output and no other thread writes this
    /// block's planes; AVX-512F.
    #[allow(clippy::too_many_arguments)]
    #[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx512f"))]
    unsafe fn block(
        &self,
        block: usize,
        (weights, next): (&[f32], &[f32]),
        (padded, taps): (&[f32], &PhaseTaps),
        (oh, ow): (usize, usize),
        out: Out,
        residual: Option<&[f32]>,
        clamp: Clamp,
    ) {
        let first = block * BLOCK;
        let filters = BLOCK.min(self.cfg.out_channels - first);
        if let Some(r) = residual {
            assert!(
                r.len() >= self.cfg.out_channels * oh * ow,
                "a residual too short"
            );
        }
        // Rows of at most half a tile go two to a tile (their outputs are consecutive):
        // tiles of 7 halved the multiply-adds per load of a block's filters from L2.
        // ResNet-50's 7x7 3x3s took 0.04-0.12 ms less each, DenseNet-121's 7x7 block
        // 0.02 in all (runs alternating in one process, one thread).
        let rows_per_tile = if 2 * ow <= WIDE { 2 } else { 1 };
        let tiles = oh.div_ceil(rows_per_tile) * ow.div_ceil(WIDE);
        // Each tile asks for its share of the next block's filters, `ahead_step` values
        // (at most a cache line) per step of its loop over channels and taps.
        let steps = self.cfg.in_channels * taps.offsets.len();
        let share = next.len().min(weights.len()).div_ceil(tiles);
        let ahead_step = share.div_ceil(steps.max(1)).min(16);
        let mut tile = 0;
        for oy in (0..oh).step_by(rows_per_tile) {
            let rows = rows_per_tile.min(oh - oy);
            let mut ox0 = 0;
            while ox0 < ow {
                // Only ever prefetched: an address past `next` is harmless.
                let ahead = (next.as_ptr().wrapping_add(tile * share), ahead_step);
                tile += 1;
                let row = WIDE.min(ow - ox0);
                let pixels = rows * row;
                let corner = &padded[oy * taps.cols + taps.step * ox0..];
                let at = (first * oh + oy) * ow + ox0;
                let sink = TileSink {
                    // SAFETY (both): filter `first`'s row `oy` from column `ox0`, inside
                    // the output (the caller's contract) and the residual (checked).
                    out: unsafe { out.0.add(at) },
                    residual: residual.map_or(std::ptr::null(), |r| unsafe { r.as_ptr().add(at) }),
                    bias: self.bias[first..].as_ptr(),
                    plane: oh * ow,
                    filters,
                    pixels,
                    clamp,
                };
                ask_for_next_rows(out, residual, at + 2 * WIDE - 1, (filters, oh * ow));
                // SAFETY: the phase planes hold every tap of these outputs; the sink's
                // `filters` rows of `pixels` are this block's.
                unsafe {
                    tile_sums(
                        corner,
                        taps,
                        weights,
                        self.cfg.in_channels,
                        ahead,
                        &sink,
                        row,
                    )
                };
                ox0 += row;
            }
        }
    }
}

/// Asks for the line holding output `end` of each of the block's `filters` planes
/// (`plane` values apart), and of the residual's: the end of the next tile's run of each
/// row, so that, tiles running along a row 14 outputs (56 bytes) at a time, every line of
/// the rows is asked for a tile ahead. The 32 output (and 32 residual) rows are more
/// streams than the hardware prefetchers follow: ResNet-50's forward pass took 0.8-1.0
/// ms less, ResNet-18's 0.15, DenseNet-121's 0.2 (runs alternating in one process, one
/// thread), MobileNetV2's unchanged.
fn ask_for_next_rows(
    out: Out,
    residual: Option<&[f32]>,
    end: usize,
    (filters, plane): (usize, usize),
) {
    #[cfg(target_arch = "x86_64")]
    for f in 0..filters {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // Only ever prefetched: an address past the planes is harmless.
        let at = end + f * plane;
        // SAFETY: prefetches never fault, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(out.0.wrapping_add(at).cast()) };
        if let Some(r) = residual {
            unsafe { _mm_prefetch::<_MM_HINT_T0>(r.as_ptr().wrapping_add(at).cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (out, residual, end, filters, plane);
}

/// The stride of a 1x1 convolution without padding (the same both ways), which reads
/// its input in place: at stride 1 as one flat row, at stride 2 (on planes of at least
/// [`IN_PLACE_STRIDED_PLANE`] values) every other value of every other row.
fn pointwise_stride(cfg: &ConvCfg) -> Option<usize> {
    let (sy, sx) = cfg.stride;
    (cfg.kernel == (1, 1) && cfg.padding == (0, 0) && sy == sx).then_some(sy)
}

/// Where a tile's sums go, with bias, residual and clamp: `filters` (of the block's 32)
/// rows of `pixels` outputs, the first filter's at `out` (and `residual`), a plane apart.
struct TileSink {
    out: *mut f32,
    /// Null where there is none.
    residual: *const f32,
    /// The block's first filter's.
    bias: *const f32,
    plane: usize,
    filters: usize,
    pixels: usize,
    clamp: Clamp,
}

/// The sums of `sink.pixels` outputs, one or two rows of `row` (the first output at
/// `corner` of the phase planes, the second row's a plane row further), for a block's
/// 32 filters, stored through `sink` as consecutive outputs; `ahead` (a pointer and a
/// step in values) is prefetched along the way.
///
/// # Safety
/// AVX-512F; `sink` as [`TileSink`] says, its rows writable (and readable where it has a
/// residual) and written by no other thread.
unsafe fn tile_sums(
    corner: &[f32],
    taps: &PhaseTaps,
    weights: &[f32],
    cin: usize,
    ahead: (*const f32, usize),
    sink: &TileSink,
    row: usize,
) {
    let pixels = sink.pixels;
    assert!(sink.filters <= BLOCK && pixels <= TILE_ROW && pixels.is_multiple_of(row));
    let rows = pixels / row;
    let last = (cin - 1) * taps.channel
        + taps.offsets.iter().copied().max().unwrap_or(0)
        + (rows - 1) * taps.cols
        + taps.step * (row - 1);
    assert!(corner.len() > last && weights.len() >= cin * taps.offsets.len() * BLOCK);
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! by_pixels {
            ($($n:literal)*) => {
                match (pixels, taps.step) {
                    $(($n, 1) => avx512::wide::<$n, 1, 16>,)*
                    $(($n, 2) => avx512::wide::<$n, 2, 16>,)*
                    _ => unreachable!("1 to WIDE outputs per tile, a step of 1 or 2"),
                }
            };
        }
        macro_rules! by_rows {
            ($($r:literal)*) => {
                match (row, taps.step) {
                    $(($r, 1) => avx512::wide::<{ 2 * $r }, 1, $r>,)*
                    $(($r, 2) => avx512::wide::<{ 2 * $r }, 2, $r>,)*
                    _ => unreachable!("two rows of 1 to WIDE / 2 outputs, a step of 1 or 2"),
                }
            };
        }
        let kernel = if rows == 2 {
            by_rows!(1 2 3 4 5 6 7)
        } else {
            by_pixels!(1 2 3 4 5 6 7 8 9 10 11 12 13 14)
        };
        // SAFETY: the reads stay within the slices, checked above.
        unsafe {
            kernel(
                corner.as_ptr(),
                (taps.cols, taps.channel),
                &taps.offsets,
                weights.as_ptr(),
                cin,
                ahead,
                sink,
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (corner, weights, ahead, sink);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::super::direct::avx512::store_lanes;
    use super::super::transpose16::transpose16;
    use super::{TileSink, BLOCK};
    use std::arch::asm;
    use std::arch::x86_64::*;

    /// Stores the tile's sums (`$acc`, pixels x 2 vectors of 16 filters) as
    /// `[filter][pixel]` rows of 16, transposed in registers: the planes' rows are then
    /// written from consecutive sums, where reading them 32 apart kept the store scalar
    /// (ResNet-18's 3x3s with a residual 0.65-1.1 ms faster in all, alternating run by
    /// run in one process, one thread). A macro, not a function taking `&acc`: where
    /// such a function was not inlined, the accumulators' address escaped and, since
    /// [`wide`]'s assembly may read memory, every multiply-add's sum was stored to the
    /// stack (ResNet-18's 3x3s 2.4x slower, in a build where an unrelated change moved
    /// the inlining).
    macro_rules! store_sums {
        ($acc:expr, $sink:expr) => {
            for half in 0..$sink.filters.div_ceil(16) {
                let mut rows = [_mm512_setzero_ps(); 16];
                for (r, a) in rows.iter_mut().zip($acc.iter()) {
                    *r = a[half];
                }
                unsafe { store_rows(rows, $sink, half) };
            }
        };
    }

    /// Sixteen filters' sums (`rows[pixel]`), transposed in registers, to their output
    /// rows: each filter's `pixels` outputs with its bias, the residual and the clamp, by
    /// one masked store, straight from the register. Through a tile on the stack and a
    /// loop per filter row (16 lanes, `store_clamped`), ResNet-50's forward pass took
    /// 0.67-0.72 ms longer, ResNet-18's 0.51-0.65, DenseNet-121's 0.67-0.71 (runs
    /// alternating in one process, one thread).
    ///
    /// # Safety
    /// AVX-512F; `sink` as [`super::tile_sums`] requires.
    #[target_feature(enable = "avx512f")]
    unsafe fn store_rows(mut rows: [__m512; 16], sink: &TileSink, half: usize) {
        transpose16(&mut rows);
        let (lo, hi) = sink.clamp.bounds();
        let (lo, hi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi));
        let mask = ((1u32 << sink.pixels) - 1) as u16;
        let filters = (sink.filters - 16 * half).min(16);
        for (f, r) in rows.iter().enumerate().take(filters) {
            let f = 16 * half + f;
            // SAFETY (both): filter `f < sink.filters`, lanes `< sink.pixels`.
            let bias = _mm512_set1_ps(unsafe { *sink.bias.add(f) });
            let (to, at) = ((sink.out, sink.residual), (f * sink.plane) as isize);
            unsafe { store_lanes(*r, bias, to, at, mask, (lo, hi)) };
        }
    }

    /// One pixel's two multiply-adds, its input broadcast from `[x + d]` once into a
    /// register for both. Broadcast inside each multiply-add (its memory operand), a tile
    /// made 30 loads per 28 multiply-adds, and on Zen 5 (two vector loads and two
    /// 512-bit multiply-adds a cycle) the loads bounded it: ResNet-50's 3x3s at stride 1
    /// took 15.5 ms in all, 13.1 this way, at stride 2 4.0 against 3.5 (binaries
    /// alternating, one thread).
    macro_rules! pair {
        ($a:expr, $x:expr, $w0:expr, $w1:expr, $d:expr) => {
            asm!(
                "vbroadcastss {t}, dword ptr [{x} + {d}]",
                "vfmadd231ps {a0}, {w0}, {t}",
                "vfmadd231ps {a1}, {w1}, {t}",
                a0 = inout(zmm_reg) $a[0],
                a1 = inout(zmm_reg) $a[1],
                w0 = in(zmm_reg) $w0,
                w1 = in(zmm_reg) $w1,
                t = out(zmm_reg) _,
                x = in(reg) $x,
                d = const $d,
                options(pure, readonly, nostack, preserves_flags),
            )
        };
    }

    /// Output `q < P` of filter `f`, through `sink`: the sum over channels c and taps t of
    /// `input[c * channel + taps[t] + S q] * weights[(c * taps + t) * 32 + f]` for `q <
    /// R`, and past that (a second row) of `input[... + cols + S (q - R)]`; one line at
    /// `ahead` prefetched into L2 per step, `ahead` moving `ahead_step` values a step.
    /// In assembly: written with intrinsics, the compiler loaded all 14 broadcasts before
    /// the multiply-adds and spilled accumulators (14x14 maps 2.7 -> 3.5 ms a layer).
    ///
    /// # Safety
    /// AVX-512F; `input` and `weights` readable where those indices reach, `sink` as
    /// [`super::tile_sums`] requires.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn wide<const P: usize, const S: usize, const R: usize>(
        input: *const f32,
        (cols, channel): (usize, usize),
        taps: &[usize],
        weights: *const f32,
        cin: usize,
        (mut ahead, ahead_step): (*const f32, usize),
        sink: &TileSink,
    ) {
        let mut acc = [[_mm512_setzero_ps(); 2]; super::WIDE];
        let mut w = weights;
        for c in 0..cin {
            let base = unsafe { input.add(c * channel) };
            for &off in taps {
                let (w0, w1) = unsafe { (_mm512_loadu_ps(w), _mm512_loadu_ps(w.add(16))) };
                let x = unsafe { base.add(off) };
                // The second row's first input; read only where the tile has two rows.
                let x2 = x.wrapping_add(cols);
                _mm_prefetch::<_MM_HINT_T1>(ahead.cast());
                ahead = ahead.wrapping_add(ahead_step);
                macro_rules! pairs {
                    ($($q:literal)*) => {
                        $(if P > $q && $q < R {
                            unsafe { pair!(acc[$q], x, w0, w1, 4 * S * $q) };
                        } else if P > $q {
                            unsafe { pair!(acc[$q], x2, w0, w1, 4 * S * ($q as usize).saturating_sub(R)) };
                        })*
                    };
                }
                pairs!(0 1 2 3 4 5 6 7 8 9 10 11 12 13);
                w = unsafe { w.add(BLOCK) };
            }
        }
        store_sums!(acc, sink);
    }
}
