//! x86_64 GEMM micro-kernels with the epilogue in the store (AVX-512F and AVX2+FMA),
//! chosen at run time by `gemm_micro::best()`. The sums loop is the one of the Winograd
//! kernels (`kernel_x86`): per step `nr / lanes` vector loads of `b` and `mr` broadcast
//! values of `a`.

use super::gemm_micro::{Clamp, Epilogue, GemmMicro};
use std::arch::x86_64::*;

/// 8 channels x 32 pixels: 16 zmm accumulators; 2 loads + 8 broadcasts per 16 FMAs.
pub const AVX512: GemmMicro = GemmMicro {
    name: "avx512",
    mr: 8,
    nr: 32,
    f: avx512,
};

/// 4 channels x 16 pixels: 8 ymm accumulators of the 16 registers.
pub const AVX2: GemmMicro = GemmMicro {
    name: "avx2+fma",
    mr: 4,
    nr: 16,
    f: avx2,
};

#[target_feature(enable = "avx512f")]
unsafe fn avx512(k: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, ep: &Epilogue) {
    const MR: usize = 8;
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    for p in 0..k {
        // SAFETY (all pointer accesses): `GemmMicro::run`'s contract.
        let (b0, b1) = unsafe { (_mm512_loadu_ps(b.add(p * 32)), _mm512_loadu_ps(b.add(p * 32 + 16))) };
        for (l, row) in acc.iter_mut().enumerate() {
            let al = _mm512_set1_ps(unsafe { *a.add(p * MR + l) });
            row[0] = _mm512_fmadd_ps(al, b0, row[0]);
            row[1] = _mm512_fmadd_ps(al, b1, row[1]);
        }
    }
    let (zero, six) = (_mm512_setzero_ps(), _mm512_set1_ps(6.0));
    for (l, row) in acc.iter().enumerate() {
        let out = unsafe { c.add(l * ldc) };
        let mut v = *row;
        for (h, v) in v.iter_mut().enumerate() {
            if ep.accumulate {
                *v = _mm512_add_ps(*v, unsafe { _mm512_loadu_ps(out.add(16 * h)) });
            }
            if !ep.bias.is_null() {
                *v = _mm512_add_ps(*v, _mm512_set1_ps(unsafe { *ep.bias.add(l) }));
            }
            if !ep.residual.is_null() {
                *v = _mm512_add_ps(*v, unsafe { _mm512_loadu_ps(ep.residual.add(l * ldc + 16 * h)) });
            }
            *v = match ep.clamp {
                Clamp::None => *v,
                Clamp::Relu => _mm512_max_ps(*v, zero),
                Clamp::Relu6 => _mm512_min_ps(_mm512_max_ps(*v, zero), six),
            };
            unsafe { _mm512_storeu_ps(out.add(16 * h), *v) };
        }
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(k: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, ep: &Epilogue) {
    const MR: usize = 4;
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    for p in 0..k {
        // SAFETY (all pointer accesses): `GemmMicro::run`'s contract.
        let (b0, b1) = unsafe { (_mm256_loadu_ps(b.add(p * 16)), _mm256_loadu_ps(b.add(p * 16 + 8))) };
        for (l, row) in acc.iter_mut().enumerate() {
            let al = _mm256_set1_ps(unsafe { *a.add(p * MR + l) });
            row[0] = _mm256_fmadd_ps(al, b0, row[0]);
            row[1] = _mm256_fmadd_ps(al, b1, row[1]);
        }
    }
    let (zero, six) = (_mm256_setzero_ps(), _mm256_set1_ps(6.0));
    for (l, row) in acc.iter().enumerate() {
        let out = unsafe { c.add(l * ldc) };
        let mut v = *row;
        for (h, v) in v.iter_mut().enumerate() {
            if ep.accumulate {
                *v = _mm256_add_ps(*v, unsafe { _mm256_loadu_ps(out.add(8 * h)) });
            }
            if !ep.bias.is_null() {
                *v = _mm256_add_ps(*v, _mm256_set1_ps(unsafe { *ep.bias.add(l) }));
            }
            if !ep.residual.is_null() {
                *v = _mm256_add_ps(*v, unsafe { _mm256_loadu_ps(ep.residual.add(l * ldc + 8 * h)) });
            }
            *v = match ep.clamp {
                Clamp::None => *v,
                Clamp::Relu => _mm256_max_ps(*v, zero),
                Clamp::Relu6 => _mm256_min_ps(_mm256_max_ps(*v, zero), six),
            };
            unsafe { _mm256_storeu_ps(out.add(8 * h), *v) };
        }
    }
}
