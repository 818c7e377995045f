//! The insertion curve's starting image: each channel blurred with docs/METHODS.md's 11x11
//! Gaussian, `w(i, j) = exp(-((i-5)^2 + (j-5)^2) / 50)` normalised to sum 1, zero padding
//! of 5. The kernel is a product of two 1-D kernels, and zero padding is the same on both
//! passes, so two 11-tap passes give exactly the 2-D convolution (up to rounding).

/// Half the kernel's side (the padding).
const RADIUS: usize = 5;

/// The normalised 1-D kernel: `exp(-(i-5)^2 / 50)` over its sum. Its outer product with
/// itself is the normalised 2-D kernel, since the 2-D sum is the square of the 1-D one.
fn kernel() -> [f64; 2 * RADIUS + 1] {
    let mut k = [0f64; 2 * RADIUS + 1];
    for (i, v) in k.iter_mut().enumerate() {
        let d = i as f64 - RADIUS as f64;
        *v = (-d * d / 50.0).exp();
    }
    let sum: f64 = k.iter().sum();
    k.map(|v| v / sum)
}

/// `x` (`channels` planes of `h * w`, row-major) blurred plane by plane.
pub fn blur(x: &[f32], channels: usize, (h, w): (usize, usize)) -> Vec<f32> {
    let k = kernel();
    let mut out = Vec::with_capacity(x.len());
    let mut rows = vec![0f64; h * w];
    for plane in x.chunks_exact(h * w).take(channels) {
        // Along each row, then along each column; outside the image counts as 0.
        for y in 0..h {
            for x0 in 0..w {
                rows[y * w + x0] = taps(&k, x0, w, |xx| plane[y * w + xx] as f64);
            }
        }
        for y in 0..h {
            for x0 in 0..w {
                out.push(taps(&k, y, h, |yy| rows[yy * w + x0]) as f32);
            }
        }
    }
    out
}

/// `sum_t k[t] * at(centre + t - 5)` over the taps inside `0..len`.
fn taps(k: &[f64], centre: usize, len: usize, at: impl Fn(usize) -> f64) -> f64 {
    let first = centre.saturating_sub(RADIUS);
    let last = (centre + RADIUS).min(len - 1);
    (first..=last).map(|p| k[p + RADIUS - centre] * at(p)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2-D definition, summed directly.
    fn direct(x: &[f32], (h, w): (usize, usize)) -> Vec<f64> {
        let mut weights = [[0f64; 11]; 11];
        let mut total = 0.0;
        for (i, row) in weights.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let (di, dj) = (i as f64 - 5.0, j as f64 - 5.0);
                *v = (-(di * di + dj * dj) / 50.0).exp();
                total += *v;
            }
        }
        let mut out = vec![0f64; h * w];
        for y in 0..h as isize {
            for x0 in 0..w as isize {
                let mut s = 0.0;
                for i in -5..=5isize {
                    for j in -5..=5isize {
                        let (yy, xx) = (y + i, x0 + j);
                        if yy >= 0 && yy < h as isize && xx >= 0 && xx < w as isize {
                            s += weights[(i + 5) as usize][(j + 5) as usize]
                                * x[(yy * w as isize + xx) as usize] as f64;
                        }
                    }
                }
                out[(y * w as isize + x0) as usize] = s / total;
            }
        }
        out
    }

    #[test]
    fn two_passes_equal_the_two_dimensional_kernel_with_zero_padding() {
        let (h, w) = (13, 9);
        let x: Vec<f32> = (0..h * w).map(|i| ((i * 37) % 23) as f32 - 11.0).collect();
        let ours = blur(&x, 1, (h, w));
        for (a, b) in ours.iter().zip(direct(&x, (h, w))) {
            assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn a_constant_plane_keeps_its_value_away_from_the_border_and_fades_at_it() {
        let (h, w) = (16, 16);
        let out = blur(&vec![2.0; 2 * h * w], 2, (h, w));
        assert_eq!(out.len(), 2 * h * w);
        // At least 5 pixels from every edge the whole kernel lies inside: 2 exactly.
        assert!((out[8 * w + 8] - 2.0).abs() < 1e-6);
        // A corner sees only the kernel's inner quarter (plus its middle row and column).
        let k = kernel();
        let inner: f64 = k[5..].iter().sum();
        assert!((out[0] as f64 - 2.0 * inner * inner).abs() < 1e-6);
    }
}
