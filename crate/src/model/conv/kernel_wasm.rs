//! wasm32 simd128 micro-kernel. With `-C target-feature=+relaxed-simd` it multiplies
//! and adds with `f32x4.relaxed_madd` (a fused multiply-add where the engine has one);
//! without, with `f32x4.mul` + `f32x4.add`. The choice is made at compile time: a wasm
//! module cannot probe its own features, so a page picks between two builds.

use super::kernel::Micro;
use core::arch::wasm32::*;

/// Broadcast filter values (channels) per step.
const KR: usize = 4;
/// Tile vectors (4 lanes each) per step.
const NV: usize = 2;
/// 4 channels x 8 tiles: 8 accumulators + 2 tile vectors + broadcasts stay within the
/// 15 xmm registers V8 gives wasm code on x64 (10 accumulators spilled: measured).
pub const SIMD128: Micro = Micro {
    name: if cfg!(target_feature = "relaxed-simd") {
        "wasm-simd128-relaxed"
    } else {
        "wasm-simd128"
    },
    kr: KR,
    nr: 4 * NV,
    f: simd128,
};

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
    let mut acc = [[f32x4_splat(0.0); NV]; KR];
    for p in 0..c {
        // SAFETY (all pointer accesses): `Micro::run` checked the panels and `out`.
        let bv: [v128; NV] =
            std::array::from_fn(|v| unsafe { v128_load(b.add((p * NV + v) * 4) as *const v128) });
        for (l, row) in acc.iter_mut().enumerate() {
            let al = unsafe { v128_load32_splat(a.add(p * KR + l) as *const u32) };
            for (r, bv) in row.iter_mut().zip(&bv) {
                *r = madd(al, *bv, *r);
            }
        }
    }
    for (l, row) in acc.iter().enumerate() {
        for (v, r) in row.iter().enumerate() {
            unsafe { v128_store(out.add(l * ldo + v * 4) as *mut v128, *r) };
        }
    }
}
