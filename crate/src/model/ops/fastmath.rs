//! `exp` and `erf` in f32 without branches or calls, so that loops over whole maps
//! vectorise (AVX-512 natively where the CPU has it, through `ops::wide`, else SSE2;
//! simd128 in wasm). SiLU and exact GELU spent most of
//! EfficientNet's and ConvNeXt's forward passes in the scalar library `exp` and an f64
//! `erf` (README, "Performance"). exp stays within 2.5e-7 of the exact value
//! relatively and erf within 5e-7 absolutely (tests below, against f64): far below the
//! float32 spread the parity tests allow.

const LOG2_E: f32 = std::f32::consts::LOG2_E;
// ln 2 split in two (Cody and Waite) so `x - n ln 2` loses no bits for |n| <= 128.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
// 1.5 * 2^23: adding and subtracting it rounds an f32 below 2^22 to the nearest integer
// with plain arithmetic (no `round` call, which SSE2 lacks).
const ROUND: f32 = 12_582_912.0;

/// e^x. Below -87 the answer is ~2^-126 rather than a subnormal or 0, above 88 about
/// e^88 rather than infinity: every caller divides by or adds 1 to it.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // e^r on |r| <= ln2 / 2 by its Taylor series to r^7 (truncation below 4e-9).
    let p = 1.0 / 5040.0;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // 2^n, built in the exponent bits (n is in [-126, 127] after the clamp).
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

/// erf(x): the rational minimax approximation Eigen and XLA use for f32 (odd polynomial
/// of degree 13 over one of degree 8 in x, on x clamped to [-4, 4], where erf is 1 to
/// f32 precision beyond).
#[inline(always)]
// Eigen's coefficients as printed there; f32 rounds them.
#[allow(clippy::excessive_precision)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = -2.72614225801306e-10_f32;
    let p = p * x2 + 2.77068142495902e-08;
    let p = p * x2 - 2.10102402082508e-06;
    let p = p * x2 - 5.69250639462346e-05;
    let p = p * x2 - 7.34990630326855e-04;
    let p = p * x2 - 2.95459980854025e-03;
    let p = p * x2 - 1.60960333262415e-02;
    let p = p * x;
    let q = -1.45660718464996e-05_f32;
    let q = q * x2 - 2.13374055278905e-04;
    let q = q * x2 - 1.68282697438203e-03;
    let q = q * x2 - 7.37332916720468e-03;
    let q = q * x2 - 1.42647390514189e-02;
    p / q
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::cpu::erf::erf_f64;

    /// Values from -range to range in `n` steps, with the edges and zero.
    fn grid(range: f32, n: usize) -> Vec<f32> {
        (0..=n)
            .map(|i| -range + 2.0 * range * i as f32 / n as f32)
            .chain([0.0, -0.0, range, -range])
            .collect()
    }

    #[test]
    fn exp_is_within_two_ulps_of_the_exact_value() {
        let mut worst = 0f64;
        for x in grid(87.0, 200_000) {
            let exact = (x as f64).exp();
            let rel = ((exp(x) as f64 - exact) / exact).abs();
            worst = worst.max(rel);
        }
        // An f32 ulp is 6e-8 to 1.2e-7 of the value.
        assert!(worst < 2.5e-7, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-200.0) < 1e-37 && exp(-200.0) > 0.0);
        assert!(exp(200.0).is_finite() && exp(200.0) > 1e38);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn erf_is_within_eight_ulps_of_the_f64_one() {
        let mut worst = 0f64;
        for x in grid(6.0, 200_000) {
            let exact = erf_f64(x as f64);
            worst = worst.max((erf(x) as f64 - exact).abs());
        }
        // Absolute: erf is at most 1, where an f32 ulp is 6e-8; measured 4.2e-7 (7 ulps).
        assert!(worst < 5e-7, "worst absolute error {worst:e}");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(-1.0), -erf(1.0));
    }
}
