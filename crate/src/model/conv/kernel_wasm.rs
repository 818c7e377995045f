//! wasm32 simd128 micro-kernel. With `-C target-feature=+relaxed-simd` it multiplies
//! and adds with `f32x4.relaxed_madd` (a fused multiply-add where the engine has one);
//! without, with `f32x4.mul` + `f32x4.add`. The choice is made at compile time: a wasm
//! module cannot probe its own features, so the page would pick between two builds.

use super::kernel::Micro;
use core::arch::wasm32::*;

/// 5 tiles x 8 channels: 10 accumulators + 2 weight vectors + 1 broadcast, within the
/// 15 xmm registers V8 leaves for wasm code on x64 (more spills).
pub const SIMD128: Micro = Micro {
    name: if cfg!(target_feature = "relaxed-simd") {
        "wasm-simd128-relaxed"
    } else {
        "wasm-simd128"
    },
    kr: 8,
    nr: NR,
    f: simd128,
};

const NR: usize = 5;

#[inline(always)]
fn madd(a: v128, b: v128, acc: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        f32x4_relaxed_madd(a, b, acc)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        f32x4_add(f32x4_mul(a, b), acc)
    }
}

unsafe fn simd128(c: usize, a: *const f32, b: *const f32, out: *mut f32, ldo: usize) {
    let mut acc = [[f32x4_splat(0.0); 2]; NR];
    for p in 0..c {
        let (a0, a1) = unsafe {
            (
                v128_load(a.add(p * 8) as *const v128),
                v128_load(a.add(p * 8 + 4) as *const v128),
            )
        };
        for (j, row) in acc.iter_mut().enumerate() {
            let bj = unsafe { v128_load32_splat(b.add(p * NR + j) as *const u32) };
            row[0] = madd(a0, bj, row[0]);
            row[1] = madd(a1, bj, row[1]);
        }
    }
    for (j, row) in acc.iter().enumerate() {
        unsafe {
            v128_store(out.add(j * ldo) as *mut v128, row[0]);
            v128_store(out.add(j * ldo + 4) as *mut v128, row[1]);
        }
    }
}
