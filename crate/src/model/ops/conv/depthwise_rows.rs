//! The depthwise loop's arithmetic in explicit vectors, one instruction set each
//! (AVX2+FMA natively, simd128 in wasm; AVX-512 reads the plane in place instead,
//! [`super::depthwise_masked`]): over one zero-padded plane
//! ([`super::depthwise_simd`] prepares it), each block of 16 output columns of `R`
//! output rows keeps its sums in registers across all `K x K` taps, the taps broadcast
//! once per block. Written with intrinsics because the compiler left the portable
//! loop's sums in scalars and on the stack (measured 5 GMAC/s natively, about a
//! fifth of memory speed); `R` rows at once give the multiply-adds independent chains.

use crate::model::conv::gemm_micro::Clamp;

/// Output columns per block (a whole number of vectors in every instruction set).
pub const BLOCK: usize = 16;

/// One zero-padded plane and what to compute from it.
pub struct Job<'a> {
    /// `rows` padded input rows of `wp` values each; for stride 2 each row holds its
    /// even columns, then (from `wp / 2`) its odd columns.
    pub padded: &'a [f32],
    pub wp: usize,
    /// The `K x K` taps, row-major.
    pub taps: &'a [f32],
    pub bias: f32,
    pub clamp: Clamp,
    pub out_hw: (usize, usize),
}

impl Job<'_> {
    /// Panics unless every load of every block stays inside `padded` (the vector loops
    /// then read it through raw pointers): rows up to `(oh - 1) * S + K - 1`, and in each
    /// row (or half row) the last block's 16 columns plus the kernel's reach.
    fn check<const S: usize, const K: usize>(&self, dst: &[f32]) {
        let (oh, ow) = self.out_hw;
        let rows = (oh.max(1) - 1) * S + K;
        let reach = ow.div_ceil(BLOCK) * BLOCK + (K - 1) / S;
        let span = if S == 1 { reach } else { self.wp / 2 };
        assert!(self.taps.len() >= K * K, "depthwise: taps");
        assert!(dst.len() >= oh * ow, "depthwise: output plane");
        assert!(
            span >= reach && self.wp >= S * span && self.padded.len() >= rows * self.wp,
            "depthwise: padded plane too small"
        );
    }
}

/// A whole plane's arithmetic in one instruction set (or in plain Rust).
pub trait Rows {
    /// `dst = clamp(bias + conv(padded, taps))` for the whole plane, stride `S`.
    ///
    /// # Safety
    /// The CPU (or the wasm build) has the instruction set; `job` is checked inside.
    unsafe fn run<const S: usize, const K: usize>(job: &Job, dst: &mut [f32]);
}

/// The row loop of one instruction set as a [`Rows`] type `$ty`, from its vector
/// operations (module `$isa`: `V`, `LANES`, `splat`, `load`, `store`, `madd`, `max`,
/// `min`) and rows per pass `$r`.
macro_rules! rows_fn {
    ($ty:ident, $name:ident, $block:ident, $isa:ident, $r:literal $(, $feature:literal)?) => {
        pub struct $ty;

        impl Rows for $ty {
            unsafe fn run<const S: usize, const K: usize>(job: &Job, dst: &mut [f32]) {
                // SAFETY: forwarded to the caller.
                unsafe { $name::<S, K>(job, dst) }
            }
        }

        /// [`Rows::run`] compiled for the instruction set.
        $(#[target_feature(enable = $feature)])?
        unsafe fn $name<const S: usize, const K: usize>(job: &Job, dst: &mut [f32]) {
            job.check::<S, K>(dst);
            let oh = job.out_hw.0;
            let mut oy = 0;
            while oy + $r <= oh {
                unsafe { $block::<S, K, $r>(job, dst, oy) };
                oy += $r;
            }
            while oy < oh {
                unsafe { $block::<S, K, 1>(job, dst, oy) };
                oy += 1;
            }
        }

        /// Output rows `oy..oy + R`.
        $(#[target_feature(enable = $feature)])?
        unsafe fn $block<const S: usize, const K: usize, const R: usize>(
            job: &Job,
            dst: &mut [f32],
            oy: usize,
        ) {
            use $isa::{LANES, V};
            const NV: usize = BLOCK / LANES;
            let ow = job.out_hw.1;
            let (wp, half) = (job.wp, job.wp / 2);
            let p = job.padded.as_ptr();
            let (zero, six, bias) = unsafe { ($isa::splat(0.0), $isa::splat(6.0), $isa::splat(job.bias)) };
            let taps = &job.taps[..K * K];
            let mut next = 0;
            while next < ow {
                // A row at least a block wide ends with a block shifted left to end at
                // its last column (recomputing a few columns), so every store is whole.
                let ox = if next + BLOCK > ow && ow >= BLOCK { ow - BLOCK } else { next };
                next += BLOCK;
                let mut acc: [[V; NV]; R] = [[bias; NV]; R];
                for ky in 0..K {
                    for kx in 0..K {
                        // A broadcast load per tap and block (amortised over R rows).
                        let w = unsafe { $isa::splat(taps[ky * K + kx]) };
                        // Stride 1: padded column ox + kx. Stride 2: column 2 ox + kx, in
                        // the even half (kx even) or the odd half, at ox + kx / 2.
                        let col = if S == 1 {
                            ox + kx
                        } else {
                            ox + kx / 2 + (kx % 2) * half
                        };
                        for (r, row) in acc.iter_mut().enumerate() {
                            // SAFETY: `Job::check` bounds every row and column read.
                            let base = unsafe { p.add(((oy + r) * S + ky) * wp + col) };
                            for (v, a) in row.iter_mut().enumerate() {
                                *a = unsafe { $isa::madd(w, $isa::load(base.add(v * LANES)), *a) };
                            }
                        }
                    }
                }
                for (r, row) in acc.iter().enumerate() {
                    let at = (oy + r) * ow + ox;
                    // A block wider than its row (ow < BLOCK) spills into the next row,
                    // which is written after it; only past the plane's end does it go
                    // through a copy (a memcpy call per row would cost more than the row).
                    let direct = at + BLOCK <= dst.len();
                    let mut vals = [0f32; BLOCK];
                    let to = if direct {
                        dst[at..].as_mut_ptr()
                    } else {
                        vals.as_mut_ptr()
                    };
                    for (v, a) in row.iter().enumerate() {
                        let c = match job.clamp {
                            Clamp::None => *a,
                            Clamp::Relu => unsafe { $isa::max(*a, zero) },
                            Clamp::Relu6 => unsafe { $isa::min($isa::max(*a, zero), six) },
                        };
                        // SAFETY: `to` has BLOCK values of room (checked above).
                        unsafe { $isa::store(to.add(v * LANES), c) };
                    }
                    if !direct {
                        let n = BLOCK.min(ow - ox);
                        dst[at..][..n].copy_from_slice(&vals[..n]);
                    }
                }
            }
        }
    };
}

/// A module of one x86 instruction set's vector operations (the names `rows_fn!` uses),
/// each compiled with the set's target features so that it inlines into the row loop.
macro_rules! x86_vectors {
    ($name:ident, $features:literal, $v:ty, $lanes:literal, $set1:ident, $load:ident,
     $store:ident, $fmadd:ident, $max:ident, $min:ident) => {
        #[cfg(target_arch = "x86_64")]
        mod $name {
            use std::arch::x86_64::*;
            pub type V = $v;
            pub const LANES: usize = $lanes;
            #[inline]
            #[target_feature(enable = $features)]
            pub unsafe fn splat(x: f32) -> V {
                $set1(x)
            }
            #[inline]
            #[target_feature(enable = $features)]
            pub unsafe fn load(p: *const f32) -> V {
                unsafe { $load(p) }
            }
            #[inline]
            #[target_feature(enable = $features)]
            pub unsafe fn store(p: *mut f32, v: V) {
                unsafe { $store(p, v) }
            }
            #[inline]
            #[target_feature(enable = $features)]
            pub unsafe fn madd(a: V, b: V, c: V) -> V {
                $fmadd(a, b, c)
            }
            #[inline]
            #[target_feature(enable = $features)]
            pub unsafe fn max(a: V, b: V) -> V {
                $max(a, b)
            }
            #[inline]
            #[target_feature(enable = $features)]
            pub unsafe fn min(a: V, b: V) -> V {
                $min(a, b)
            }
        }
    };
}

x86_vectors!(
    avx2,
    "avx2,fma",
    __m256,
    8,
    _mm256_set1_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_fmadd_ps,
    _mm256_max_ps,
    _mm256_min_ps
);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;
    pub type V = v128;
    pub const LANES: usize = 4;
    #[inline(always)]
    pub unsafe fn splat(x: f32) -> V {
        f32x4_splat(x)
    }
    #[inline(always)]
    pub unsafe fn load(p: *const f32) -> V {
        unsafe { v128_load(p as *const v128) }
    }
    #[inline(always)]
    pub unsafe fn store(p: *mut f32, v: V) {
        unsafe { v128_store(p as *mut v128, v) }
    }
    /// A fused multiply-add where the build allows relaxed SIMD (as the GEMM kernel).
    #[inline(always)]
    pub unsafe fn madd(a: V, b: V, c: V) -> V {
        #[cfg(target_feature = "relaxed-simd")]
        {
            f32x4_relaxed_madd(a, b, c)
        }
        #[cfg(not(target_feature = "relaxed-simd"))]
        {
            f32x4_add(f32x4_mul(a, b), c)
        }
    }
    #[inline(always)]
    pub unsafe fn max(a: V, b: V) -> V {
        f32x4_pmax(a, b)
    }
    #[inline(always)]
    pub unsafe fn min(a: V, b: V) -> V {
        f32x4_pmin(a, b)
    }
}

// Rows per pass: 8 ymm sums natively; 8 v128 sums in wasm (V8 gives wasm code 15 xmm
// registers on x64, so more would spill).
#[cfg(target_arch = "x86_64")]
rows_fn!(Avx2, rows_avx2, block_avx2, avx2, 4, "avx2,fma");
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
rows_fn!(Simd128, rows_simd128, block_simd128, simd128, 2);
