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
            let Operands { k, a, b, c, ldc } = *ops;
            const MR: usize = $mr;
            const L: usize = $lanes;
            let mut acc = [[$zero(); NV]; MR];
            for p in 0..k {
                // SAFETY (all pointer accesses): `GemmMicro::run`'s contract.
                // A loop, not `array::from_fn`: a closure would not get the target
                // features, and each load would become a call.
                let mut bv = [$zero(); NV];
                for (v, x) in bv.iter_mut().enumerate() {
                    *x = unsafe { $load(b.add((p * 2 + v) * L)) };
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
