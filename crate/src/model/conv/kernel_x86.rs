//! x86_64 micro-kernels (AVX-512F and AVX2+FMA), chosen at run time by
//! `kernel::best()`. Both keep `nr` tiles x `kr` channels of accumulators in registers
//! and broadcast one transformed input value per tile and step.

use super::kernel::Micro;
use std::arch::x86_64::*;

/// 12 tiles x 32 channels: 24 zmm accumulators, 2 weight vectors, broadcasts from memory.
pub const AVX512: Micro = Micro {
    name: "avx512",
    kr: 32,
    nr: 12,
    f: avx512,
};

/// 6 tiles x 16 channels: 12 ymm accumulators of the 16 registers.
pub const AVX2: Micro = Micro {
    name: "avx2+fma",
    kr: 16,
    nr: 6,
    f: avx2,
};

#[target_feature(enable = "avx512f")]
unsafe fn avx512(c: usize, a: *const f32, b: *const f32, out: *mut f32, ldo: usize) {
    const NR: usize = 12;
    let mut acc = [[_mm512_setzero_ps(); 2]; NR];
    for p in 0..c {
        let (a0, a1) = unsafe {
            (
                _mm512_loadu_ps(a.add(p * 32)),
                _mm512_loadu_ps(a.add(p * 32 + 16)),
            )
        };
        for (j, row) in acc.iter_mut().enumerate() {
            let bj = _mm512_set1_ps(unsafe { *b.add(p * NR + j) });
            row[0] = _mm512_fmadd_ps(a0, bj, row[0]);
            row[1] = _mm512_fmadd_ps(a1, bj, row[1]);
        }
    }
    for (j, row) in acc.iter().enumerate() {
        unsafe {
            _mm512_storeu_ps(out.add(j * ldo), row[0]);
            _mm512_storeu_ps(out.add(j * ldo + 16), row[1]);
        }
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(c: usize, a: *const f32, b: *const f32, out: *mut f32, ldo: usize) {
    const NR: usize = 6;
    let mut acc = [[_mm256_setzero_ps(); 2]; NR];
    for p in 0..c {
        let (a0, a1) = unsafe {
            (
                _mm256_loadu_ps(a.add(p * 16)),
                _mm256_loadu_ps(a.add(p * 16 + 8)),
            )
        };
        for (j, row) in acc.iter_mut().enumerate() {
            let bj = _mm256_set1_ps(unsafe { *b.add(p * NR + j) });
            row[0] = _mm256_fmadd_ps(a0, bj, row[0]);
            row[1] = _mm256_fmadd_ps(a1, bj, row[1]);
        }
    }
    for (j, row) in acc.iter().enumerate() {
        unsafe {
            _mm256_storeu_ps(out.add(j * ldo), row[0]);
            _mm256_storeu_ps(out.add(j * ldo + 8), row[1]);
        }
    }
}
