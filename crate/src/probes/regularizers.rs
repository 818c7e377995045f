//! The image priors of activation maximization (the recipes of Mahendran & Vedaldi 2015,
//! Yosinski et al. 2015 and Olah et al. 2017, as keras-vis / tf-keras-vis / lucid apply
//! them): jitter, total variation, L2 and periodic Gaussian blur. All work on planes of
//! `h x w` values stored one after another, and wrap around the edges, so that a jitter
//! shift and its inverse lose nothing.

/// `planes` rolled by `(dy, dx)` pixels with wrap-around (numpy's `roll`): the value at
/// `(y, x)` moves to `(y + dy, x + dx)`.
pub fn roll(planes: &[f32], h: usize, w: usize, dy: isize, dx: isize) -> Vec<f32> {
    let (sy, sx) = (
        dy.rem_euclid(h as isize) as usize,
        dx.rem_euclid(w as isize) as usize,
    );
    let mut out = vec![0f32; planes.len()];
    for (src, dst) in planes.chunks_exact(h * w).zip(out.chunks_exact_mut(h * w)) {
        for y in 0..h {
            let ty = (y + sy) % h;
            for x in 0..w {
                dst[ty * w + (x + sx) % w] = src[y * w + x];
            }
        }
    }
    out
}

/// Total variation with exponent 2 (keras-vis' `TotalVariation`, beta 2) of one image of
/// `len` values: the mean over its values of the squared differences to the right and
/// below neighbours (no wrap). Adds `weight * d TV / d x` to `grad`; returns TV.
pub fn total_variation(x: &[f32], h: usize, w: usize, weight: f32, grad: &mut [f32]) -> f32 {
    let n = x.len() as f32;
    let mut tv = 0f64;
    for (plane, g) in x.chunks_exact(h * w).zip(grad.chunks_exact_mut(h * w)) {
        for y in 0..h {
            for xx in 0..w {
                let i = y * w + xx;
                for j in [(xx + 1 < w).then_some(i + 1), (y + 1 < h).then_some(i + w)]
                    .into_iter()
                    .flatten()
                {
                    let d = plane[j] - plane[i];
                    tv += (d * d) as f64;
                    g[j] += weight * 2.0 * d / n;
                    g[i] -= weight * 2.0 * d / n;
                }
            }
        }
    }
    (tv / n as f64) as f32
}

/// Mean square of one image's values (Simonyan et al. 2014's L2 prior on the
/// mean-subtracted input). Adds `weight * d L2 / d x` to `grad`; returns L2.
pub fn l2(x: &[f32], weight: f32, grad: &mut [f32]) -> f32 {
    let n = x.len() as f32;
    let mut sum = 0f64;
    for (v, g) in x.iter().zip(grad.iter_mut()) {
        sum += (v * v) as f64;
        *g += weight * 2.0 * v / n;
    }
    (sum / n as f64) as f32
}

/// One pass of the separable blur: `dst` is the `h x w` plane `src` convolved with the
/// odd-length `kernel` along x, or along y when `vertical`, wrapping at the edges.
fn blur_pass(src: &[f32], dst: &mut [f32], (h, w): (usize, usize), kernel: &[f32], vertical: bool) {
    let radius = (kernel.len() / 2) as isize;
    for y in 0..h {
        for x in 0..w {
            dst[y * w + x] = kernel
                .iter()
                .enumerate()
                .map(|(k, wt)| {
                    let shift = k as isize - radius;
                    let at = if vertical {
                        (y as isize + shift).rem_euclid(h as isize) as usize * w + x
                    } else {
                        y * w + (x as isize + shift).rem_euclid(w as isize) as usize
                    };
                    wt * src[at]
                })
                .sum();
        }
    }
}

/// Gaussian blur of standard deviation `sigma` pixels, separable, wrapping at the edges
/// (Yosinski et al. 2015 blur every few steps to keep high frequencies down).
pub fn blur(planes: &mut [f32], h: usize, w: usize, sigma: f32) {
    if sigma <= 0.0 {
        return;
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= total);
    let mut tmp = vec![0f32; h * w];
    for plane in planes.chunks_exact_mut(h * w) {
        blur_pass(plane, &mut tmp, (h, w), &kernel, false);
        blur_pass(&tmp, plane, (h, w), &kernel, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roll_wraps_and_undoes() {
        let v: Vec<f32> = (0..6).map(|i| i as f32).collect(); // 2x3
        let r = roll(&v, 2, 3, 1, -1);
        assert_eq!(r, [4., 5., 3., 1., 2., 0.]);
        assert_eq!(roll(&r, 2, 3, -1, 1), v);
    }

    #[test]
    fn penalty_gradients_match_finite_differences() {
        let x: Vec<f32> = (0..12).map(|i| ((i * 7 % 5) as f32 * 0.3).sin()).collect();
        let (h, w) = (2, 3); // two planes
        let mut g_tv = vec![0f32; 12];
        let mut g_l2 = vec![0f32; 12];
        total_variation(&x, h, w, 1.0, &mut g_tv);
        l2(&x, 1.0, &mut g_l2);
        let eps = 1e-3;
        for i in 0..12 {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += eps;
            down[i] -= eps;
            let mut sink = vec![0f32; 12];
            let fd_tv = (total_variation(&up, h, w, 1.0, &mut sink)
                - total_variation(&down, h, w, 1.0, &mut sink))
                / (2.0 * eps);
            let fd_l2 = (l2(&up, 1.0, &mut sink) - l2(&down, 1.0, &mut sink)) / (2.0 * eps);
            assert!(
                (fd_tv - g_tv[i]).abs() < 1e-3,
                "tv {i}: {fd_tv} vs {}",
                g_tv[i]
            );
            assert!(
                (fd_l2 - g_l2[i]).abs() < 1e-3,
                "l2 {i}: {fd_l2} vs {}",
                g_l2[i]
            );
        }
    }

    #[test]
    fn blur_keeps_the_mean_and_flattens() {
        let mut v: Vec<f32> = (0..64)
            .map(|i| if i % 2 == 0 { 1.0 } else { 0.0 })
            .collect();
        blur(&mut v, 8, 8, 1.0);
        let mean: f32 = v.iter().sum::<f32>() / 64.0;
        assert!((mean - 0.5).abs() < 1e-5);
        assert!(v.iter().all(|x| (x - 0.5).abs() < 0.05), "{v:?}");
    }
}
