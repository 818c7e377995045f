//! GEMM micro-kernels for the Winograd points: `out[l][j] = sum_c a[c][l] * b[c][j]` for
//! a panel of `kr` output channels (`a`, the filters, packed once; one value broadcast
//! at a time) and `nr` tiles (`b`, the transformed input, loaded as vectors), with the
//! `kr x nr` accumulators in registers. Rows of `out` are channels, so the output
//! transform reads tiles contiguously. One kernel is chosen per process: the widest the
//! CPU (natively) or the build (wasm) has.

/// Signature shared by all micro-kernels (see [`Micro::run`] for the contract).
type MicroFn = unsafe fn(c: usize, a: *const f32, b: *const f32, out: *mut f32, ldo: usize);

/// A micro-kernel and the panel shape it computes.
#[derive(Clone, Copy)]
pub struct Micro {
    pub name: &'static str,
    /// Output channels per panel (broadcast values).
    pub kr: usize,
    /// Tiles per panel (vector lanes of the accumulators).
    pub nr: usize,
    pub(super) f: MicroFn,
}

impl std::fmt::Debug for Micro {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}x{})", self.name, self.kr, self.nr)
    }
}

impl Micro {
    /// `out[l * ldo + j] = sum_{p < c} a[p * kr + l] * b[p * nr + j]` for `l < kr`,
    /// `j < nr`. Panics if a slice is too short (the driver sizes them exactly).
    #[inline]
    pub fn run(&self, c: usize, a: &[f32], b: &[f32], out: &mut [f32], ldo: usize) {
        assert!(a.len() >= c * self.kr && b.len() >= c * self.nr);
        assert!(ldo >= self.nr && out.len() >= (self.kr - 1) * ldo + self.nr);
        // SAFETY: the bounds above cover every access; `best()` only returns kernels
        // whose target features this CPU has.
        unsafe { (self.f)(c, a.as_ptr(), b.as_ptr(), out.as_mut_ptr(), ldo) }
    }
}

/// The fastest micro-kernel for this machine, decided once.
pub fn best() -> Micro {
    static BEST: std::sync::OnceLock<Micro> = std::sync::OnceLock::new();
    *BEST.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Micro {
    use super::kernel_x86 as x86;
    if std::is_x86_feature_detected!("avx512f") {
        x86::AVX512
    } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        x86::AVX2
    } else {
        PORTABLE
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn detect() -> Micro {
    super::kernel_wasm::SIMD128
}

#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
fn detect() -> Micro {
    PORTABLE
}

/// Plain Rust over fixed-size arrays, which the compiler vectorises for the target.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
pub const PORTABLE: Micro = Micro {
    name: "portable",
    kr: 4,
    nr: 8,
    f: portable,
};

#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
unsafe fn portable(c: usize, a: *const f32, b: *const f32, out: *mut f32, ldo: usize) {
    const KR: usize = 4;
    const NR: usize = 8;
    // SAFETY: `Micro::run` checked both panels' lengths.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, c * KR),
            std::slice::from_raw_parts(b, c * NR),
        )
    };
    let mut acc = [[0f32; NR]; KR];
    for (ap, bp) in a.chunks_exact(KR).zip(b.chunks_exact(NR)) {
        for (row, &al) in acc.iter_mut().zip(ap) {
            for (r, &bj) in row.iter_mut().zip(bp) {
                *r += al * bj;
            }
        }
    }
    for (l, row) in acc.iter().enumerate() {
        // SAFETY: `Micro::run` checked `out` covers `(KR - 1) * ldo + NR` values.
        unsafe { std::ptr::copy_nonoverlapping(row.as_ptr(), out.add(l * ldo), NR) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(m: Micro) {
        let c = 5;
        let a: Vec<f32> = (0..c * m.kr).map(|i| (i % 13) as f32 - 6.0).collect();
        let b: Vec<f32> = (0..c * m.nr).map(|i| (i % 7) as f32 * 0.5 - 1.0).collect();
        let ldo = m.nr + 3;
        let mut out = vec![f32::NAN; m.kr * ldo];
        m.run(c, &a, &b, &mut out, ldo);
        for l in 0..m.kr {
            for j in 0..m.nr {
                let want: f32 = (0..c).map(|p| a[p * m.kr + l] * b[p * m.nr + j]).sum();
                assert_eq!(out[l * ldo + j], want, "{m:?} channel {l} tile {j}");
            }
        }
    }

    #[test]
    fn portable_kernel_is_a_small_gemm() {
        check(PORTABLE);
    }

    #[test]
    fn best_kernel_is_a_small_gemm() {
        check(best());
    }
}
