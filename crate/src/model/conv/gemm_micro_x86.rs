//! x86_64 GEMM micro-kernels with the epilogue in the store (AVX-512F and AVX2+FMA),
//! chosen at run time by `gemm_micro::best()`. Each keeps `mr` channels x `nr` pixels of
//! accumulators in registers: per step two vector loads of `b` and `mr` broadcast values
//! of `a`.

use super::gemm_micro::{Clamp, Epilogue, GemmMicro, Operands};
use std::arch::x86_64::*;

/// 8 channels x 32 pixels: 16 zmm accumulators; 2 loads + 8 broadcasts per 16 FMAs.
pub const AVX512: GemmMicro = GemmMicro::new("avx512", (8, 32), avx512::<2>, avx512::<1>);

/// 4 channels x 16 pixels: 8 ymm accumulators of the 16 registers.
pub const AVX2: GemmMicro = GemmMicro::new("avx2+fma", (4, 16), avx2::<2>, avx2::<1>);

/// One kernel of `$mr` rows x `NV` vectors of `$lanes` pixels (of a panel two vectors
/// wide: `NV` = 2 the whole panel, 1 its first half), from the instruction set's
/// intrinsics (the kernels differ in nothing else).
macro_rules! micro_kernel {
    ($name:ident, $features:literal, $mr:literal, $lanes:literal,
     $zero:ident, $set1:ident, $load:ident, $store:ident, $fmadd:ident, $add:ident, $max:ident, $min:ident) => {
        #[target_feature(enable = $features)]
        unsafe fn $name<const NV: usize>(ops: &Operands, ep: &Epilogue) {
            let Operands {
                k,
                a,
                b,
                ldb,
                c,
                ldc,
            } = *ops;
            const MR: usize = $mr;
            const L: usize = $lanes;
            let mut acc = [[$zero(); NV]; MR];
            for p in 0..k {
                // SAFETY (all pointer accesses): `GemmMicro::run`'s contract.
                // A loop, not `array::from_fn`: a closure would not get the target
                // features, and each load would become a call.
                let mut bv = [$zero(); NV];
                for (v, x) in bv.iter_mut().enumerate() {
                    *x = unsafe { $load(b.add(p * ldb + v * L)) };
                }
                for (l, row) in acc.iter_mut().enumerate() {
                    let al = $set1(unsafe { *a.add(p * MR + l) });
                    for (r, bv) in row.iter_mut().zip(&bv) {
                        *r = $fmadd(al, *bv, *r);
                    }
                }
            }
            let (zero, six) = ($zero(), $set1(6.0));
            for (l, row) in acc.iter().enumerate() {
                let out = unsafe { c.add(l * ldc) };
                for (h, v) in row.iter().enumerate() {
                    let mut v = *v;
                    if ep.accumulate {
                        v = $add(v, unsafe { $load(out.add(L * h)) });
                    }
                    if !ep.bias.is_null() {
                        v = $add(v, $set1(unsafe { *ep.bias.add(l) }));
                    }
                    if !ep.residual.is_null() {
                        v = $add(v, unsafe { $load(ep.residual.add(l * ldc + L * h)) });
                    }
                    v = match ep.clamp {
                        Clamp::None => v,
                        Clamp::Relu => $max(v, zero),
                        Clamp::Relu6 => $min($max(v, zero), six),
                    };
                    unsafe { $store(out.add(L * h), v) };
                }
            }
        }
    };
}

micro_kernel!(
    avx512,
    "avx512f",
    8,
    16,
    _mm512_setzero_ps,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_fmadd_ps,
    _mm512_add_ps,
    _mm512_max_ps,
    _mm512_min_ps
);

micro_kernel!(
    avx2,
    "avx2,fma",
    4,
    8,
    _mm256_setzero_ps,
    _mm256_set1_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_fmadd_ps,
    _mm256_add_ps,
    _mm256_max_ps,
    _mm256_min_ps
);

/// Columns `cols` (at most `N` of a panel `nr` wide) of an 8-row panel's product:
/// `out[j][l] = sum_p a[p * 8 + l] b[p * nr + cols.start + j]`, the 8 rows in one ymm,
/// two chains of sums per column. The packed product's last few columns of a map
/// (196 = 6 x 32 + 4 pixels, 49 = 32 + 16 + 1) ran in plain SSE at a quarter of this
/// speed: about 2 ms of ResNet-50's forward pass.
///
/// # Safety
/// AVX2 and FMA; `a` holds `k * 8` values and `b` `k * nr`; `cols.end <= nr`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn columns8<const N: usize>(
    k: usize,
    a: *const f32,
    b: *const f32,
    nr: usize,
    cols: std::ops::Range<usize>,
) -> [[f32; 8]; N] {
    let n = cols.len().min(N);
    let (mut even, mut odd) = ([_mm256_setzero_ps(); N], [_mm256_setzero_ps(); N]);
    let mut p = 0;
    // SAFETY (every load): p < k, j < n <= nr - cols.start, the caller's bounds.
    while p + 2 <= k {
        let (a0, a1) = unsafe {
            (
                _mm256_loadu_ps(a.add(p * 8)),
                _mm256_loadu_ps(a.add(p * 8 + 8)),
            )
        };
        let (b0, b1) = unsafe { (b.add(p * nr + cols.start), b.add((p + 1) * nr + cols.start)) };
        for j in 0..n {
            even[j] = _mm256_fmadd_ps(a0, _mm256_set1_ps(unsafe { *b0.add(j) }), even[j]);
            odd[j] = _mm256_fmadd_ps(a1, _mm256_set1_ps(unsafe { *b1.add(j) }), odd[j]);
        }
        p += 2;
    }
    if p < k {
        let a0 = unsafe { _mm256_loadu_ps(a.add(p * 8)) };
        let b0 = unsafe { b.add(p * nr + cols.start) };
        for (j, sum) in even.iter_mut().enumerate().take(n) {
            *sum = _mm256_fmadd_ps(a0, _mm256_set1_ps(unsafe { *b0.add(j) }), *sum);
        }
    }
    let mut out = [[0f32; 8]; N];
    for ((o, e), d) in out.iter_mut().zip(&even).zip(&odd).take(n) {
        // SAFETY: 8 values.
        unsafe { _mm256_storeu_ps(o.as_mut_ptr(), _mm256_add_ps(*e, *d)) };
    }
    out
}
