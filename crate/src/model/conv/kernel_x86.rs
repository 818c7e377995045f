//! x86_64 micro-kernels (AVX-512F and AVX2+FMA), chosen at run time by
//! `kernel::best()`. Each keeps `kr` channels x `nr` tiles of accumulators in registers:
//! per step, `nr / lanes` vector loads of tiles and `kr` broadcast filter values.

use super::kernel::Micro;
use std::arch::x86_64::*;

/// 8 channels x 32 tiles: 16 zmm accumulators; 2 loads + 8 broadcasts per 16 FMAs.
pub const AVX512: Micro = Micro {
    name: "avx512",
    kr: 8,
    nr: 32,
    f: avx512,
};

/// 4 channels x 16 tiles: 8 ymm accumulators of the 16 registers.
pub const AVX2: Micro = Micro {
    name: "avx2+fma",
    kr: 4,
    nr: 16,
    f: avx2,
};

#[target_feature(enable = "avx512f")]
unsafe fn avx512(c: usize, a: *const f32, b: *const f32, out: *mut f32, ldo: usize) {
    const KR: usize = 8;
    let mut acc = [[_mm512_setzero_ps(); 2]; KR];
    for p in 0..c {
        // SAFETY (all pointer accesses): `Micro::run` checked the panels and `out`.
        let (b0, b1) = unsafe {
            (
                _mm512_loadu_ps(b.add(p * 32)),
                _mm512_loadu_ps(b.add(p * 32 + 16)),
            )
        };
        for (l, row) in acc.iter_mut().enumerate() {
            let al = _mm512_set1_ps(unsafe { *a.add(p * KR + l) });
            row[0] = _mm512_fmadd_ps(al, b0, row[0]);
            row[1] = _mm512_fmadd_ps(al, b1, row[1]);
        }
    }
    for (l, row) in acc.iter().enumerate() {
        unsafe {
            _mm512_storeu_ps(out.add(l * ldo), row[0]);
            _mm512_storeu_ps(out.add(l * ldo + 16), row[1]);
        }
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(c: usize, a: *const f32, b: *const f32, out: *mut f32, ldo: usize) {
    const KR: usize = 4;
    let mut acc = [[_mm256_setzero_ps(); 2]; KR];
    for p in 0..c {
        // SAFETY (all pointer accesses): `Micro::run` checked the panels and `out`.
        let (b0, b1) = unsafe {
            (
                _mm256_loadu_ps(b.add(p * 16)),
                _mm256_loadu_ps(b.add(p * 16 + 8)),
            )
        };
        for (l, row) in acc.iter_mut().enumerate() {
            let al = _mm256_set1_ps(unsafe { *a.add(p * KR + l) });
            row[0] = _mm256_fmadd_ps(al, b0, row[0]);
            row[1] = _mm256_fmadd_ps(al, b1, row[1]);
        }
    }
    for (l, row) in acc.iter().enumerate() {
        unsafe {
            _mm256_storeu_ps(out.add(l * ldo), row[0]);
            _mm256_storeu_ps(out.add(l * ldo + 8), row[1]);
        }
    }
}
