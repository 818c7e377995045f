//! x86_64 GEMM micro-kernels with the epilogue in the store (AVX-512F and AVX2+FMA),
//! chosen at run time by `gemm_micro::best()`. Each keeps `mr` channels x `nr` pixels of
//! accumulators in registers: per step two vector loads of `b` and `mr` broadcast values
//! of `a`.

use super::gemm_micro::{Clamp, Epilogue, GemmMicro};
use std::arch::x86_64::*;

/// 8 channels x 32 pixels: 16 zmm accumulators; 2 loads + 8 broadcasts per 16 FMAs.
pub const AVX512: GemmMicro = GemmMicro {
    name: "avx512",
    mr: 8,
    nr: 32,
    f: avx512,
    half: avx512_half,
};

/// 4 channels x 16 pixels: 8 ymm accumulators of the 16 registers.
pub const AVX2: GemmMicro = GemmMicro {
    name: "avx2+fma",
    mr: 4,
    nr: 16,
    f: avx2,
    half: avx2_half,
};

/// One kernel of `$mr` rows x `$nv` vectors of `$lanes` pixels (of a panel two vectors
/// wide), from the instruction set's intrinsics (the kernels differ in nothing else).
macro_rules! micro_kernel {
    ($name:ident, $features:literal, $mr:literal, $lanes:literal, $nv:literal,
     $zero:ident, $set1:ident, $load:ident, $store:ident, $fmadd:ident, $add:ident, $max:ident, $min:ident) => {
        #[target_feature(enable = $features)]
        unsafe fn $name(
            k: usize,
            a: *const f32,
            b: *const f32,
            c: *mut f32,
            ldc: usize,
            ep: &Epilogue,
        ) {
            const MR: usize = $mr;
            const L: usize = $lanes;
            let mut acc = [[$zero(); $nv]; MR];
            for p in 0..k {
                // SAFETY (all pointer accesses): `GemmMicro::run`'s contract.
                // A loop, not `array::from_fn`: a closure would not get the target
                // features, and each load would become a call.
                let mut bv = [$zero(); $nv];
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
    2,
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
    avx512_half,
    "avx512f",
    8,
    16,
    1,
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
    2,
    _mm256_setzero_ps,
    _mm256_set1_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_fmadd_ps,
    _mm256_add_ps,
    _mm256_max_ps,
    _mm256_min_ps
);

micro_kernel!(
    avx2_half,
    "avx2,fma",
    4,
    8,
    1,
    _mm256_setzero_ps,
    _mm256_set1_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_fmadd_ps,
    _mm256_add_ps,
    _mm256_max_ps,
    _mm256_min_ps
);
