//! Elementwise loops compiled for AVX-512 where the CPU has it. The crate is built for
//! baseline x86-64, so a loop over a map vectorises to SSE2, 4 lanes; the same loop in a
//! function compiled with `target_feature(enable = "avx512f")`, chosen at run time, runs
//! 16 lanes wide. The results are the same to the bit: the loops are plain f32 arithmetic
//! (no fused multiply-add is formed without being asked for), only the width differs.
//! In wasm and on CPUs without AVX-512 the loop runs as built. Measured where it pays:
//! the activations (SiLU's and GELU's `exp` and `erf` are arithmetic-bound), EfficientNet-
//! B0's forward pass 24.6 -> 19.5 ms, ConvNeXt-T's GELUs 6.6 ms faster (one thread, A/B
//! in one process); the memory-bound maps (addition, channel scale, batch norm) gained
//! nothing and stay as they are.

/// `body()`, compiled for AVX-512F where this CPU has it. Meant for a closure holding a
/// whole loop, which is then inlined into the AVX-512 function (its only caller there).
#[inline(always)]
pub fn run<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { avx512(body) };
    }
    body()
}

/// # Safety
/// AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}
