//! The depthwise plane loop with AVX-512, natively, reading the input plane in place:
//! a tap's 16 input columns are one masked load (lanes outside the row read as zero and
//! touch no memory), rows above and below the plane are skipped, so no padded copy is
//! made. The padded copy ([`super::depthwise_simd`], which AVX2 and wasm keep) cost as
//! much as the sums: about half of MobileNetV2's depthwise time, which ran at half
//! onnxruntime's speed.
//!
//! Each block of 16 output columns of `R` output rows keeps its sums in registers; each
//! input row under the block is loaded once per tap column and feeds every output row
//! that reads it (stride 1, 3x3: 18 loads for 4 output vectors instead of 36). Stride 2
//! loads 48 consecutive input values and takes a tap column's every other value with
//! one two-source permute.

use super::depthwise_simd::{PlaneFn, Shape};
use crate::model::conv::gemm_micro::Clamp;
use std::arch::x86_64::*;

/// Output columns per block: one vector.
const LANES: usize = 16;
/// Output rows per pass.
const R: usize = 4;

/// The plane functions of [`super::depthwise_simd`]'s table (kernel 3, 5, 7 x stride 1,
/// 2), for CPUs with AVX-512F.
pub const TABLE: [PlaneFn; 6] = [
    plane::<1, 3>,
    plane::<2, 3>,
    plane::<1, 5>,
    plane::<2, 5>,
    plane::<1, 7>,
    plane::<2, 7>,
];

/// `dst = clamp(bias + conv(src, taps))`, stride `S`, a `K x K` kernel; no scratch.
fn plane<const S: usize, const K: usize>(
    src: &[f32],
    dst: &mut [f32],
    taps: &[f32],
    bias: f32,
    shape: &Shape,
    _scratch: &mut [f32],
) {
    let ((h, w), (oh, ow)) = (shape.hw, shape.out_hw);
    assert!(
        std::is_x86_feature_detected!("avx512f"),
        "depthwise: AVX-512F"
    );
    assert!(
        shape.stride == S && shape.kernel == (K, K),
        "depthwise: plane function for another shape"
    );
    assert!(
        src.len() >= h * w && dst.len() >= oh * ow && taps.len() >= K * K,
        "depthwise: plane sizes"
    );
    // Every output row's taps start inside or just above the plane, and every block's
    // first column at most `padding` left of it: the loads' masks cover the rest.
    let plane = Plane {
        src: src.as_ptr(),
        dst: dst.as_mut_ptr(),
        taps: &taps[..K * K],
        bias,
        shape,
    };
    // SAFETY: AVX-512F checked above; every load and store is masked to the plane.
    unsafe { run::<S, K>(&plane) }
}

struct Plane<'a> {
    src: *const f32,
    dst: *mut f32,
    taps: &'a [f32],
    bias: f32,
    shape: &'a Shape,
}

#[target_feature(enable = "avx512f")]
unsafe fn run<const S: usize, const K: usize>(p: &Plane) {
    let oh = p.shape.out_hw.0;
    let mut oy = 0;
    while oy + R <= oh {
        unsafe { rows::<S, K, R>(p, oy) };
        oy += R;
    }
    while oy < oh {
        unsafe { rows::<S, K, 1>(p, oy) };
        oy += 1;
    }
}

/// Lanes `t` of a load starting at column `c` with `0 <= c + t < w`.
#[inline(always)]
fn lane_mask(c: isize, w: usize) -> u16 {
    let lo = (-c).clamp(0, LANES as isize);
    let hi = (w as isize - c).clamp(0, LANES as isize);
    if hi <= lo {
        0
    } else {
        ((1u32 << hi) - (1u32 << lo)) as u16
    }
}

/// Output rows `oy..oy + RR`, every block of columns.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn rows<const S: usize, const K: usize, const RR: usize>(p: &Plane, oy: usize) {
    let ((h, w), (_, ow)) = (p.shape.hw, p.shape.out_hw);
    let (ph, pw) = p.shape.padding;
    let bias = _mm512_set1_ps(p.bias);
    // Up to 5x5, each tap's weight is broadcast once per band into a register; as the
    // memory operand of every multiply-add, it made one load per multiply-add besides
    // the input's, and the loads bounded the loop: MobileNetV2's forward pass 0.05-0.07
    // ms faster, EfficientNet-B0's 0.05 (runs alternating in one process, one thread).
    // ConvNeXt's 49 taps do not fit beside the sums (0.18 ms slower hoisted).
    let taps: [[__m512; K]; K] =
        std::array::from_fn(|ky| std::array::from_fn(|kx| _mm512_set1_ps(p.taps[ky * K + kx])));
    ask_for_next_band::<S, K, RR>(p, oy);
    for ox in (0..ow).step_by(LANES) {
        // The masks of the block's loads, the same for every row: stride 1 one per tap
        // column, stride 2 one per 16-value third of the 48 values the block reads.
        let first = (ox * S) as isize - pw as isize;
        let mut masks = [0u16; K];
        for (j, m) in masks.iter_mut().enumerate() {
            let step = if S == 1 { 1 } else { LANES };
            *m = lane_mask(first + (step * j) as isize, w);
        }
        let mut acc = [bias; RR];
        for i in 0..S * (RR - 1) + K {
            let iy = (oy * S + i) as isize - ph as isize;
            if iy < 0 || iy >= h as isize {
                continue;
            }
            let line = unsafe { p.src.add(iy as usize * w) };
            let v = unsafe { columns::<S, K>(line, first, &masks) };
            for (r, sum) in acc.iter_mut().enumerate() {
                // Output row oy + r reads input row (oy + r) S + ky - ph: ky = i - S r.
                let ky = i.wrapping_sub(S * r);
                if ky < K {
                    for (kx, x) in v.iter().enumerate() {
                        let t = if K <= 5 {
                            taps[ky][kx]
                        } else {
                            _mm512_set1_ps(p.taps[ky * K + kx])
                        };
                        *sum = _mm512_fmadd_ps(t, *x, *sum);
                    }
                }
            }
        }
        let mask = lane_mask(0, ow - ox);
        for (r, sum) in acc.iter().enumerate() {
            let v = unsafe { clamped(*sum, p.shape.clamp) };
            // SAFETY: the mask keeps the store within output row oy + r.
            unsafe { _mm512_mask_storeu_ps(p.dst.add((oy + r) * ow + ox), mask, v) };
        }
    }
}

/// Asks for the input rows that the band after `oy..oy + RR` reads beyond this band's
/// (one contiguous run of the plane). A row of a 112-wide map is 7 cache lines, too
/// short a stream for the hardware prefetchers to ramp up on, and a band reads 6 to 9
/// of them at once: MobileNetV2's stride-2 depthwise layer at 112x112 took 0.18-0.195
/// ms, 0.14-0.15 asked for, its forward pass 0.06-0.07 ms less (runs alternating in one
/// process, one thread).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn ask_for_next_band<const S: usize, const K: usize, const RR: usize>(p: &Plane, oy: usize) {
    let (h, w) = p.shape.hw;
    let row = |oy: usize| {
        ((oy * S + K) as isize - (p.shape.padding.0 + S) as isize).clamp(0, h as isize) as usize
    };
    let (from, to) = (row(oy + RR), row(oy + 2 * RR));
    for at in (from * w..to * w).step_by(16) {
        // Only ever prefetched (and inside the plane).
        _mm_prefetch::<_MM_HINT_T0>(p.src.wrapping_add(at).cast());
    }
}

/// `v` under `clamp`, the last step of every AVX-512 depthwise kernel's store (here, the
/// lanes' and the row pairs'): `max(v, 0)` then `min(.., 6)`, a NaN giving 0.
///
/// # Safety
/// AVX-512F.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn clamped(v: __m512, clamp: Clamp) -> __m512 {
    let zero = _mm512_setzero_ps();
    match clamp {
        Clamp::None => v,
        Clamp::Relu => _mm512_max_ps(v, zero),
        Clamp::Relu6 => _mm512_min_ps(_mm512_max_ps(v, zero), _mm512_set1_ps(6.0)),
    }
}

/// Permute indices over two vectors: the even lanes of 32 values, then the odd ones.
const EVEN: [i32; LANES] = every_other(0);
const ODD: [i32; LANES] = every_other(1);
/// Lanes 1..16 of the first vector, then lane `j` of the second (`SHIFT[j]`).
const SHIFT: [[i32; LANES]; 5] = [
    shift_in(0),
    shift_in(1),
    shift_in(2),
    shift_in(3),
    shift_in(4),
];

const fn every_other(from: i32) -> [i32; LANES] {
    let mut a = [0; LANES];
    let mut t = 0;
    while t < LANES {
        a[t] = 2 * t as i32 + from;
        t += 1;
    }
    a
}

const fn shift_in(j: i32) -> [i32; LANES] {
    let mut a = [0; LANES];
    let mut t = 0;
    while t < LANES - 1 {
        a[t] = t as i32 + 1;
        t += 1;
    }
    a[LANES - 1] = LANES as i32 + j;
    a
}

/// For each tap column `kx`, the 16 input values of one row that the block's outputs
/// read (`first + S t + kx`), zero outside the row.
///
/// # Safety
/// `line` starts an input row of `w` values, which `masks` were computed for.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn columns<const S: usize, const K: usize>(
    line: *const f32,
    first: isize,
    masks: &[u16; K],
) -> [__m512; K] {
    let mut v = [_mm512_setzero_ps(); K];
    // SAFETY (every load): masked-off lanes read no memory; the others lie in the row.
    if S == 1 {
        for (kx, x) in v.iter_mut().enumerate() {
            let at = line.wrapping_offset(first + kx as isize);
            *x = unsafe { _mm512_maskz_loadu_ps(masks[kx], at) };
        }
        return v;
    }
    // Stride 2: columns first + 2t + kx of the 48 loaded. Even and odd kx = 0, 1 from the
    // first 32; each later kx shifts kx - 2's lanes down by one and takes its last lane
    // from the third vector (first + 30 + kx = first + 32 + (kx - 2)).
    let third = |j: usize| line.wrapping_offset(first + (LANES * j) as isize);
    let (a, b, c) = unsafe {
        (
            _mm512_maskz_loadu_ps(masks[0], third(0)),
            _mm512_maskz_loadu_ps(masks[1], third(1)),
            _mm512_maskz_loadu_ps(masks[2], third(2)),
        )
    };
    v[0] = _mm512_permutex2var_ps(a, index(&EVEN), b);
    v[1] = _mm512_permutex2var_ps(a, index(&ODD), b);
    for kx in 2..K {
        v[kx] = _mm512_permutex2var_ps(v[kx - 2], index(&SHIFT[kx - 2]), c);
    }
    v
}

#[inline]
#[target_feature(enable = "avx512f")]
fn index(i: &[i32; LANES]) -> __m512i {
    // SAFETY: 16 values.
    unsafe { _mm512_loadu_si512(i.as_ptr().cast()) }
}
