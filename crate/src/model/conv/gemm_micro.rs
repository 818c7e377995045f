//! The GEMM micro-kernels of every convolution path (the Winograd points' products
//! and the packed GEMM), with the convolution's epilogue in the store: for a panel of `mr`
//! output channels (rows of `a`, packed `[k][mr]`, one value broadcast at a time) and
//! `nr` pixels (columns of `b`, packed `[k][nr]`, loaded as vectors) the `mr x nr` sums
//! stay in registers, then get the running sum (a later block of `k`), the bias, the
//! residual (ResNet's shortcut) and a ReLU / ReLU6 before the one store. This saves a
//! pass over the output per step, which is most of the time of a small-`k` 1x1
//! convolution (MobileNet's expansions have `k` = 16..32). One kernel is chosen per
//! process: the widest the CPU (natively) or the build (wasm) has.

/// The clamp after the sums, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clamp {
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

impl Clamp {
    /// The interval it clamps to (unbounded for none), for vector `max` then `min`.
    pub fn bounds(self) -> (f32, f32) {
        match self {
            Clamp::None => (f32::NEG_INFINITY, f32::INFINITY),
            Clamp::Relu => (0.0, f32::INFINITY),
            Clamp::Relu6 => (0.0, 6.0),
        }
    }

    /// The clamp of one value.
    #[inline(always)]
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Clamp::None => v,
            Clamp::Relu => v.max(0.0),
            Clamp::Relu6 => v.clamp(0.0, 6.0),
        }
    }
}

/// What the store does besides writing the sums, in this order: add the output's
/// current values, the bias, the residual, then clamp.
#[derive(Clone, Copy, Debug)]
pub struct Epilogue {
    /// `mr` biases (one per row of the panel), or null.
    pub bias: *const f32,
    /// Add the values already in the output (a later block of `k`).
    pub accumulate: bool,
    /// A map laid out as the output (same row stride), added before the clamp, or null.
    pub residual: *const f32,
    pub clamp: Clamp,
}

impl Epilogue {
    pub const PLAIN: Epilogue = Epilogue {
        bias: std::ptr::null(),
        accumulate: false,
        residual: std::ptr::null(),
        clamp: Clamp::None,
    };
}

/// What one call of a micro-kernel reads and writes: `k` steps of the packed panel `a`
/// (`[k][mr]`) and of `b` (`nr` values a step, steps `ldb` apart: `nr` when packed, a
/// plane when read in place), and the output `c` with row stride `ldc`.
#[derive(Clone, Copy, Debug)]
pub struct Operands {
    pub k: usize,
    pub a: *const f32,
    pub b: *const f32,
    /// Values from one step of `b` to the next (`>= nr`).
    pub ldb: usize,
    pub c: *mut f32,
    pub ldc: usize,
}

/// Signature shared by all GEMM micro-kernels (see [`GemmMicro::run`] for the contract).
pub type GemmFn = unsafe fn(ops: &Operands, ep: &Epilogue);

/// A GEMM micro-kernel and the panel shape it computes.
#[derive(Clone, Copy)]
pub struct GemmMicro {
    pub name: &'static str,
    /// Output rows (channels) per panel.
    pub mr: usize,
    /// Output columns (pixels) per panel.
    pub nr: usize,
    pub(super) f: GemmFn,
    /// The same product over the first `nr / 2` pixels of the panel only (`b` still
    /// packed `nr` wide): an edge panel of few pixels (ResNet's 7x7 maps: 49 = 32 + 17)
    /// computes half a panel instead of a whole one.
    pub(super) half: GemmFn,
}

impl std::fmt::Debug for GemmMicro {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}x{})", self.name, self.mr, self.nr)
    }
}

impl GemmMicro {
    /// A kernel of `mr x nr` panels: `f` the whole panel, `half` its first `nr / 2`
    /// columns.
    pub(super) const fn new(
        name: &'static str,
        (mr, nr): (usize, usize),
        f: GemmFn,
        half: GemmFn,
    ) -> Self {
        GemmMicro {
            name,
            mr,
            nr,
            f,
            half,
        }
    }

    /// `c[l * ldc + j] = clamp([c] + bias[l] + residual[l * ldc + j] + sum_{p < k} a[p * mr
    /// + l] * b[p * ldb + j])` for `l < mr`, `j < nr`.
    ///
    /// # Safety
    /// `a` holds `k * mr` values, `b` `(k - 1) * ldb + nr`; `c` (and `residual` when not
    /// null) cover
    /// `(mr - 1) * ldc + nr` values with `ldc >= nr`; `bias`, when not null, `mr`.
    #[inline]
    pub unsafe fn run(&self, ops: &Operands, ep: &Epilogue) {
        // SAFETY: forwarded to the caller; `best()` only returns kernels whose target
        // features this CPU has.
        unsafe { (self.f)(ops, ep) }
    }

    /// The kernel over the first `nr / 2` pixels of each panel: its [`Self::run`]
    /// reads `b` packed `nr` wide as before and writes `nr / 2` columns.
    pub(super) fn half(&self) -> GemmMicro {
        GemmMicro {
            f: self.half,
            ..*self
        }
    }
}

impl GemmMicro {
    /// `out[l * ldo + j] = sum_{p < k} a[p * mr + l] * b[p * nr + j]` for `l < mr`, `j < nr`
    /// (the Winograd points' products). Panics if a slice is too short (the driver sizes
    /// them exactly).
    #[inline]
    pub fn run_plain(&self, k: usize, a: &[f32], b: &[f32], out: &mut [f32], ldo: usize) {
        assert!(a.len() >= k * self.mr && b.len() >= k * self.nr);
        assert!(ldo >= self.nr && out.len() >= (self.mr - 1) * ldo + self.nr);
        // SAFETY: the bounds above cover every access.
        unsafe {
            let (a, b, c) = (a.as_ptr(), b.as_ptr(), out.as_mut_ptr());
            self.run(
                &Operands {
                    k,
                    a,
                    b,
                    ldb: self.nr,
                    c,
                    ldc: ldo,
                },
                &Epilogue::PLAIN,
            )
        }
    }
}

/// The fastest GEMM micro-kernel for this machine, decided once.
pub fn best() -> GemmMicro {
    static BEST: std::sync::OnceLock<GemmMicro> = std::sync::OnceLock::new();
    *BEST.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> GemmMicro {
    use super::gemm_micro_x86 as x86;
    if std::is_x86_feature_detected!("avx512f") {
        x86::AVX512
    } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        x86::AVX2
    } else {
        PORTABLE
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn detect() -> GemmMicro {
    super::gemm_micro_wasm::SIMD128
}

#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
fn detect() -> GemmMicro {
    PORTABLE
}

/// The epilogue on one row of sums, element by element (the portable kernel's, and the
/// reference the vector kernels follow).
///
/// # Safety
/// As [`GemmMicro::run`] for row `l`.
#[inline(always)]
pub(super) unsafe fn finish_row(row: &mut [f32], l: usize, c: *mut f32, ldc: usize, ep: &Epilogue) {
    let bias = if ep.bias.is_null() {
        0.0
    } else {
        unsafe { *ep.bias.add(l) }
    };
    for (j, v) in row.iter_mut().enumerate() {
        let at = l * ldc + j;
        let mut s = *v;
        if ep.accumulate {
            s += unsafe { *c.add(at) };
        }
        s += bias;
        if !ep.residual.is_null() {
            s += unsafe { *ep.residual.add(at) };
        }
        unsafe { *c.add(at) = ep.clamp.apply(s) };
    }
}

/// Plain Rust over fixed-size arrays, which the compiler vectorises for the target.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
pub const PORTABLE: GemmMicro = GemmMicro::new("portable", (4, 8), portable::<8>, portable::<4>);

#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
unsafe fn portable<const W: usize>(ops: &Operands, ep: &Epilogue) {
    let Operands {
        k,
        a,
        b,
        ldb,
        c,
        ldc,
    } = *ops;
    const MR: usize = 4;
    const NR: usize = 8;
    if k == 0 {
        let mut acc = [[0f32; W]; MR];
        for (l, row) in acc.iter_mut().enumerate() {
            unsafe { finish_row(row, l, c, ldc, ep) };
        }
        return;
    }
    // SAFETY: `GemmMicro::run`'s contract covers both panels.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, k * MR),
            std::slice::from_raw_parts(b, (k - 1) * ldb + NR),
        )
    };
    // The first W of each row of NR pixels, the rows `ldb` apart.
    let mut acc = [[0f32; W]; MR];
    for (ap, p) in a.chunks_exact(MR).zip(0..) {
        let bp = &b[p * ldb..][..NR];
        for (row, &al) in acc.iter_mut().zip(ap) {
            for (r, &bj) in row.iter_mut().zip(bp) {
                *r += al * bj;
            }
        }
    }
    for (l, row) in acc.iter_mut().enumerate() {
        unsafe { finish_row(row, l, c, ldc, ep) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every epilogue on a small panel, against the sums written out; the whole panel
    /// and its first half.
    fn check(m: GemmMicro) {
        check_columns(m, m.nr);
        check_columns(m, m.nr / 2);
    }

    fn check_columns(m: GemmMicro, width: usize) {
        let k = 7;
        let a: Vec<f32> = (0..k * m.mr)
            .map(|i| (i % 13) as f32 * 0.25 - 1.5)
            .collect();
        let b: Vec<f32> = (0..k * m.nr).map(|i| (i % 7) as f32 * 0.5 - 1.0).collect();
        let bias: Vec<f32> = (0..m.mr).map(|l| l as f32 - 2.0).collect();
        let ldc = m.nr + 3;
        let residual: Vec<f32> = (0..m.mr * ldc).map(|i| (i % 5) as f32 - 2.5).collect();
        let before: Vec<f32> = (0..m.mr * ldc)
            .map(|i| (i % 3) as f32 * 4.0 - 3.0)
            .collect();
        for (accumulate, with_bias, with_residual, clamp) in [
            (false, false, false, Clamp::None),
            (true, true, true, Clamp::Relu),
            (false, true, false, Clamp::Relu6),
            (true, false, true, Clamp::None),
        ] {
            let ep = Epilogue {
                bias: if with_bias {
                    bias.as_ptr()
                } else {
                    std::ptr::null()
                },
                accumulate,
                residual: if with_residual {
                    residual.as_ptr()
                } else {
                    std::ptr::null()
                },
                clamp,
            };
            let mut c = before.clone();
            // SAFETY: the panels and rows are sized as the contract asks.
            let ops = Operands {
                k,
                a: a.as_ptr(),
                b: b.as_ptr(),
                ldb: m.nr,
                c: c.as_mut_ptr(),
                ldc,
            };
            let kernel = if width == m.nr { m } else { m.half() };
            unsafe { kernel.run(&ops, &ep) };
            for l in 0..m.mr {
                for j in 0..ldc {
                    let at = l * ldc + j;
                    if j >= width {
                        assert_eq!(
                            c[at], before[at],
                            "{m:?} {width} wide: column {j} outside the panel was written"
                        );
                        continue;
                    }
                    let mut want: f32 = (0..k).map(|p| a[p * m.mr + l] * b[p * m.nr + j]).sum();
                    want += if accumulate { before[at] } else { 0.0 };
                    want += if with_bias { bias[l] } else { 0.0 };
                    want += if with_residual { residual[at] } else { 0.0 };
                    want = match clamp {
                        Clamp::None => want,
                        Clamp::Relu => want.max(0.0),
                        Clamp::Relu6 => want.clamp(0.0, 6.0),
                    };
                    assert!(
                        (c[at] - want).abs() <= 1e-5 * want.abs().max(1.0),
                        "{m:?} {ep:?} row {l} column {j}: {} vs {want}",
                        c[at]
                    );
                }
            }
        }
    }

    #[test]
    fn portable_kernel_applies_each_epilogue() {
        check(PORTABLE);
    }

    #[test]
    fn best_kernel_applies_each_epilogue() {
        check(best());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_kernel_applies_each_epilogue() {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            check(super::super::gemm_micro_x86::AVX2);
        }
    }
}
