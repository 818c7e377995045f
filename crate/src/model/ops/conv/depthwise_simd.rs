//! The depthwise loop for stride 1 and 2 without dilation, one channel plane per call:
//! each block of `LANES` output columns keeps its sums in registers across all taps
//! (a load and a multiply-add per tap, one store), where a row-at-a-time loop would
//! load and store the output row once per tap. The plane is first copied with its zero
//! padding (and, for stride 2, each row split into its even and odd columns), so every
//! tap of every block reads contiguous values without a bounds check.
//! The arithmetic runs in explicit vectors ([`depthwise_rows`]): AVX2+FMA (AVX-512 reads
//! the plane in place, [`super::depthwise_masked`]) natively, chosen at run time (the
//! crate's baseline is SSE2), simd128 in wasm; the
//! plain-Rust loop here serves other builds and is the tests' second opinion.

use super::depthwise_rows::{self, Job, Rows};
use crate::model::conv::gemm_micro::Clamp;
use crate::model::conv::unfolded::split_pairs;
use crate::model::graph::ConvCfg;
use crate::model::ops::output::{with_scratch, Scratch};
use std::cell::RefCell;

/// Output columns per block: one zmm, two ymm, four simd128 vectors (the row kernels'
/// block, which the padding is sized for).
const LANES: usize = depthwise_rows::BLOCK;

/// One plane's geometry.
pub struct Shape {
    pub hw: (usize, usize),
    pub out_hw: (usize, usize),
    pub kernel: (usize, usize),
    pub padding: (usize, usize),
    pub stride: usize,
    /// ReLU / ReLU6 applied before the store.
    pub clamp: Clamp,
}

/// `dst = bias + conv(src, k)` for one channel plane, with scratch room for the plane's
/// padded rows ([`scratch_len`]).
pub type PlaneFn =
    fn(src: &[f32], dst: &mut [f32], k: &[f32], bias: f32, shape: &Shape, scratch: &mut [f32]);

/// Scratch values a plane of `shape` needs (its padded input rows).
pub fn scratch_len(shape: &Shape) -> usize {
    let (rows, wide) = padded_size(shape);
    rows * wide
}

thread_local! {
    /// Each thread's padded plane, reused from plane to plane.
    static PADDED: Scratch = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch of at least `len` values.
pub fn with_padded<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_scratch(&PADDED, len, f)
}

/// The plane function for `cfg`, if this loop handles it: square 3x3, 5x5 or 7x7
/// kernels, stride 1 or 2, no dilation, padding below the kernel.
pub fn plane_kernel(cfg: &ConvCfg) -> Option<PlaneFn> {
    let (k, s) = (cfg.kernel.0, cfg.stride.0);
    let fits = cfg.kernel.1 == k
        && cfg.stride.1 == s
        && cfg.dilation == (1, 1)
        && matches!(k, 3 | 5 | 7)
        && matches!(s, 1 | 2)
        && cfg.padding.0 < k
        && cfg.padding.1 < k;
    if !fits {
        return None;
    }
    let table = best();
    Some(table[(k / 2 - 1) * 2 + (s - 1)])
}

/// The six plane functions (kernel 3, 5, 7 x stride 1, 2) of one instruction set.
type Table = [PlaneFn; 6];

macro_rules! table {
    ($rows:ty) => {
        [
            plane::<$rows, 1, 3>,
            plane::<$rows, 2, 3>,
            plane::<$rows, 1, 5>,
            plane::<$rows, 2, 5>,
            plane::<$rows, 1, 7>,
            plane::<$rows, 2, 7>,
        ]
    };
}

/// The plane functions for this machine, decided once.
fn best() -> &'static Table {
    static BEST: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
    BEST.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return super::depthwise_masked::TABLE;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return table!(depthwise_rows::Avx2);
            }
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        let table = table!(depthwise_rows::Simd128);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        let table = table!(Portable);
        table
    })
}

/// A plane function: the padding, then `R`'s arithmetic. No closures inside: a closure
/// would be compiled without the row kernel's target features.
fn plane<R: Rows, const S: usize, const K: usize>(
    src: &[f32],
    dst: &mut [f32],
    k: &[f32],
    bias: f32,
    shape: &Shape,
    scratch: &mut [f32],
) {
    let wp = pad::<S>(src, shape, scratch);
    let job = Job {
        padded: scratch,
        wp,
        taps: k,
        bias,
        clamp: shape.clamp,
        out_hw: shape.out_hw,
    };
    // SAFETY: `best()` hands out `R` only where the CPU (or the wasm build) has its
    // instruction set; the job is checked inside.
    unsafe { R::run::<S, K>(&job, dst) }
}

/// The blocked loop in plain Rust (builds without an explicit-vector kernel; in the
/// others the tests' second opinion).
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
struct Portable;

impl Rows for Portable {
    unsafe fn run<const S: usize, const K: usize>(job: &Job, dst: &mut [f32]) {
        blocks::<S, K>(dst, job);
    }
}

/// Values of a padded row one block reads: `LANES` outputs and the kernel's reach
/// (at most 6 more columns, stride 1; 3 more in a half row, stride 2).
const WINDOW: usize = LANES + 8;

/// Copies the input rows the taps read into `padded`, zero-padded (stride 2: each
/// row's even columns, then its odd ones). Returns the padded row length.
fn pad<const S: usize>(src: &[f32], shape: &Shape, padded: &mut [f32]) -> usize {
    let (h, w) = shape.hw;
    let (ph, pw) = shape.padding;
    let (rows, wp) = padded_size(shape);
    let half = wp / 2;
    // The input rows the taps read, zero-padded (stride 2: even columns, then odd).
    for (r, row) in padded.chunks_exact_mut(wp).take(rows).enumerate() {
        let iy = r as isize - ph as isize;
        if iy < 0 || iy >= h as isize {
            row.fill(0.0);
            continue;
        }
        let line = &src[iy as usize * w..][..w];
        if S == 1 {
            row[..pw].fill(0.0);
            row[pw..pw + w].copy_from_slice(line);
            row[pw + w..].fill(0.0);
        } else {
            // Input column c is padded column c + pw: even[(c + pw) / 2] or odd[...].
            // Zeros first, then the pairs that start on an even padded column (a loop
            // the compiler vectorises; per-column bounds checks cost most of the pass).
            row.fill(0.0);
            let (even, odd) = row.split_at_mut(half);
            split_pairs(line, pw, even, odd);
        }
    }
    wp
}

/// `dst = bias + conv(padded, taps)`, stride `S`, a `K x K` kernel, in plain Rust.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
fn blocks<const S: usize, const K: usize>(dst: &mut [f32], job: &Job) {
    let (oh, ow) = job.out_hw;
    let (padded, wp, bias) = (job.padded, job.wp, job.bias);
    let half = wp / 2;
    let mut taps = [0f32; 49];
    taps[..K * K].copy_from_slice(&job.taps[..K * K]);
    for oy in 0..oh {
        let out = &mut dst[oy * ow..(oy + 1) * ow];
        let mut ox = 0;
        while ox < ow {
            let mut acc = [bias; LANES];
            for ky in 0..K {
                let r = (oy * S + ky) * wp + ox;
                // Stride 1: padded column ox + t + kx. Stride 2: column 2 (ox + t) + kx,
                // which is even[ox + t + kx / 2] or odd[ox + t + kx / 2].
                let Ok(even) = <&[f32; WINDOW]>::try_from(&padded[r..r + WINDOW]) else {
                    return;
                };
                let Ok(odd) = <&[f32; WINDOW]>::try_from(
                    &padded[r + half * (S - 1)..r + half * (S - 1) + WINDOW],
                ) else {
                    return;
                };
                for kx in 0..K {
                    let wv = taps[ky * K + kx];
                    let (win, at) = if S == 1 {
                        (even, kx)
                    } else if kx % 2 == 0 {
                        (even, kx / 2)
                    } else {
                        (odd, kx / 2)
                    };
                    for t in 0..LANES {
                        acc[t] += wv * win[at + t];
                    }
                }
            }
            match job.clamp {
                Clamp::None => {}
                Clamp::Relu => {
                    for a in acc.iter_mut() {
                        *a = a.max(0.0);
                    }
                }
                Clamp::Relu6 => {
                    for a in acc.iter_mut() {
                        *a = a.clamp(0.0, 6.0);
                    }
                }
            }
            if ox + LANES <= ow {
                out[ox..ox + LANES].copy_from_slice(&acc);
            } else {
                out[ox..].copy_from_slice(&acc[..ow - ox]);
            }
            ox += LANES;
        }
    }
}

/// Rows and row length of the padded input: every row a tap reads, each wide enough
/// for whole blocks of `LANES` outputs and a block's `WINDOW` (stride 2: in each half).
fn padded_size(shape: &Shape) -> (usize, usize) {
    let (oh, ow) = shape.out_hw;
    let s = shape.stride;
    let rows = (oh.max(1) - 1) * s + shape.kernel.0;
    let blocks = ow.div_ceil(LANES) * LANES;
    let half = (shape.hw.1 + 2 * shape.padding.1)
        .div_ceil(2)
        .max(blocks - LANES + WINDOW);
    (rows, 2 * half)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One plane by the definition (zero padding), in f64.
    fn direct(src: &[f32], k: &[f32], bias: f32, shape: &Shape) -> Vec<f32> {
        let ((h, w), (oh, ow), (kk, _), (p, _), s) = (
            shape.hw,
            shape.out_hw,
            shape.kernel,
            shape.padding,
            shape.stride,
        );
        let mut out = vec![0f32; oh * ow];
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = bias as f64;
                for ky in 0..kk {
                    for kx in 0..kk {
                        let (iy, ix) = (
                            (oy * s + ky) as isize - p as isize,
                            (ox * s + kx) as isize - p as isize,
                        );
                        if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                            acc +=
                                k[ky * kk + kx] as f64 * src[iy as usize * w + ix as usize] as f64;
                        }
                    }
                }
                out[oy * ow + ox] = acc as f32;
            }
        }
        out
    }

    /// The portable table (what wasm and CPUs without AVX2 run), AVX2's and this
    /// machine's (AVX-512's reads the plane in place), for every kernel size and stride,
    /// on rows of full blocks and a partial one, a plane narrower than a block, and with
    /// the padding torchvision uses and none.
    #[test]
    fn each_table_matches_the_definition() {
        let mut tables: Vec<&Table> = vec![&table!(Portable), best()];
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            tables.push(&table!(depthwise_rows::Avx2));
        }
        let cases = [(3, 1), (3, 2), (5, 1), (5, 2), (7, 1), (7, 2)];
        for (i, (kk, s)) in cases.into_iter().enumerate() {
            for (h, w, p) in [(9, 37, kk / 2), (11, 6, kk / 2), (10, 40, 0)] {
                let (oh, ow) = ((h + 2 * p - kk) / s + 1, (w + 2 * p - kk) / s + 1);
                let shape = Shape {
                    hw: (h, w),
                    out_hw: (oh, ow),
                    kernel: (kk, kk),
                    padding: (p, p),
                    stride: s,
                    clamp: Clamp::None,
                };
                let src: Vec<f32> = (0..h * w)
                    .map(|v| ((v * 37 % 101) as f32 - 50.0) / 25.0)
                    .collect();
                let k: Vec<f32> = (0..kk * kk)
                    .map(|v| ((v * 13 % 7) as f32 - 3.0) / 4.0)
                    .collect();
                let want = direct(&src, &k, 0.25, &shape);
                for table in &tables {
                    // One value past the plane: no kernel may write it.
                    let mut dst = vec![f32::NAN; oh * ow + 1];
                    let mut scratch = vec![f32::NAN; scratch_len(&shape)];
                    table[i](&src, &mut dst[..oh * ow], &k, 0.25, &shape, &mut scratch);
                    assert!(
                        dst[oh * ow].is_nan(),
                        "{kk}x{kk} s{s}: wrote past the plane"
                    );
                    for (j, (a, b)) in dst.iter().zip(&want).enumerate() {
                        assert!(
                            (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                            "{kk}x{kk} s{s} {h}x{w} pad {p} at {j}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }
}
