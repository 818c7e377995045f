//! wasm32 simd128 GEMM micro-kernel with the epilogue in the store: 4 channels x 8
//! pixels. With `-C target-feature=+relaxed-simd` it multiplies and adds with
//! `f32x4.relaxed_madd` (a fused multiply-add where the engine has one); without, with
//! `f32x4.mul` + `f32x4.add`. The choice is made at compile time: a wasm module cannot
//! probe its own features, so a page picks between two builds.

use super::gemm_micro::{Clamp, Epilogue, GemmMicro, Operands};
use core::arch::wasm32::*;

const MR: usize = 4;
/// Pixel vectors (4 lanes each) per step.
const NV: usize = 2;

/// 4 channels x 8 pixels: 8 accumulators + 2 pixel vectors + broadcasts stay within the
/// 15 xmm registers V8 gives wasm code on x64 (10 accumulators spilled: measured).
pub const SIMD128: GemmMicro = GemmMicro::new(
    if cfg!(target_feature = "relaxed-simd") {
        "wasm-simd128-relaxed"
    } else {
        "wasm-simd128"
    },
    (MR, 4 * NV),
    simd128::<NV>,
    simd128::<1>,
);

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

/// `W` of the panel's `NV` vectors of pixels (all of them, or the first: the packed GEMM's
/// narrow edge panels).
unsafe fn simd128<const W: usize>(ops: &Operands, ep: &Epilogue) {
    let Operands {
        k,
        a,
        b,
        ldb,
        c,
        ldc,
    } = *ops;
    let mut acc = [[f32x4_splat(0.0); W]; MR];
    for p in 0..k {
        // SAFETY (all pointer accesses): `GemmMicro::run`'s contract.
        let bv: [v128; W] =
            std::array::from_fn(|v| unsafe { v128_load(b.add(p * ldb + v * 4) as *const v128) });
        for (l, row) in acc.iter_mut().enumerate() {
            let al = unsafe { v128_load32_splat(a.add(p * MR + l) as *const u32) };
            for (r, bv) in row.iter_mut().zip(&bv) {
                *r = madd(al, *bv, *r);
            }
        }
    }
    let (zero, six) = (f32x4_splat(0.0), f32x4_splat(6.0));
    for (l, row) in acc.iter().enumerate() {
        let out = unsafe { c.add(l * ldc) };
        for (h, r) in row.iter().enumerate() {
            let mut v = *r;
            if ep.accumulate {
                v = f32x4_add(v, unsafe { v128_load(out.add(4 * h) as *const v128) });
            }
            if !ep.bias.is_null() {
                v = f32x4_add(v, f32x4_splat(unsafe { *ep.bias.add(l) }));
            }
            if !ep.residual.is_null() {
                v = f32x4_add(v, unsafe {
                    v128_load(ep.residual.add(l * ldc + 4 * h) as *const v128)
                });
            }
            v = match ep.clamp {
                Clamp::None => v,
                Clamp::Relu => f32x4_pmax(v, zero),
                Clamp::Relu6 => f32x4_pmin(f32x4_pmax(v, zero), six),
            };
            unsafe { v128_store(out.add(4 * h) as *mut v128, v) };
        }
    }
}
