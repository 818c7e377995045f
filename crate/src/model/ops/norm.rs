//! Normalisations on `[N, C, H, W]` data: eval-mode batch norm (a per-channel affine map,
//! which a preceding convolution can absorb), ConvNeXt's layer norm over the channels of
//! each pixel, and its per-channel layer scale.

use super::super::graph::Activation;
use super::output::overwritten;
use rayon::prelude::*;

/// A per-channel affine map `y = x * scale[c] + shift[c]`: eval-mode batch norm with
/// `scale = gamma / sqrt(var + eps)` and `shift = beta - mean * scale` (computed in f64),
/// and ConvNeXt's layer scale (`shift = 0`).
#[derive(Clone, Debug)]
pub struct ChannelAffine {
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
}

impl ChannelAffine {
    /// Batch norm's map from its four tensors.
    pub fn batch_norm(gamma: &[f32], beta: &[f32], mean: &[f32], var: &[f32], eps: f64) -> Self {
        let mut scale = Vec::with_capacity(gamma.len());
        let mut shift = Vec::with_capacity(gamma.len());
        for c in 0..gamma.len() {
            let s = gamma[c] as f64 / (var[c] as f64 + eps).sqrt();
            scale.push(s as f32);
            shift.push((beta[c] as f64 - mean[c] as f64 * s) as f32);
        }
        ChannelAffine { scale, shift }
    }

    pub fn scale_only(scale: &[f32]) -> Self {
        ChannelAffine {
            scale: scale.to_vec(),
            shift: vec![0.0; scale.len()],
        }
    }

    /// `y = x * scale[c] + shift[c]` over `[n, c, plane]` values.
    pub fn forward(&self, x: &[f32], plane: usize) -> Vec<f32> {
        self.map(x, plane, true, None)
    }

    /// `y = act(x * scale[c] + shift[c])`, each plane activated while it is in cache:
    /// DenseNet's batch norm and ReLU before every convolution, one pass over memory
    /// instead of two (and one copy fewer).
    pub fn forward_then(&self, x: &[f32], plane: usize, act: Activation) -> Vec<f32> {
        self.map(x, plane, true, Some(act))
    }

    /// `dx = g * scale[c]`.
    pub fn backward(&self, g: &[f32], plane: usize) -> Vec<f32> {
        self.map(g, plane, false, None)
    }

    fn map(&self, x: &[f32], plane: usize, shift: bool, act: Option<Activation>) -> Vec<f32> {
        let c = self.scale.len();
        if plane == 0 {
            return vec![0f32; x.len()];
        }
        let fill = |y: &mut [f32]| {
            y.par_chunks_mut(plane)
                .zip(x.par_chunks(plane))
                .enumerate()
                .for_each(|(i, (dst, src))| {
                    let (s, b) = (
                        self.scale[i % c],
                        if shift { self.shift[i % c] } else { 0.0 },
                    );
                    for (d, v) in dst.iter_mut().zip(src) {
                        *d = v * s + b;
                    }
                    if let Some(a) = act {
                        super::act::apply_in_place(a, dst);
                    }
                })
        };
        // SAFETY: the chunks of `y` pair with those of `x`, equal in length, and each is
        // written whole (no zeroing pass first).
        unsafe { overwritten(x.len(), fill) }
    }
}

/// Layer norm over the `c` channels of every pixel of `[n, c, plane]` values (biased
/// variance, as PyTorch), then `* weight[c] + bias[c]`.
#[derive(Clone, Debug)]
pub struct LayerNorm2d {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub eps: f64,
}

/// Per-pixel mean and `1 / sqrt(var + eps)` of one image's `[c, plane]` values.
fn moments(x: &[f32], c: usize, plane: usize, eps: f64) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0f64; plane];
    for ch in x.chunks_exact(plane) {
        for (m, v) in mean.iter_mut().zip(ch) {
            *m += *v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= c as f64);
    let mut var = vec![0f64; plane];
    for ch in x.chunks_exact(plane) {
        for ((s, v), m) in var.iter_mut().zip(ch).zip(&mean) {
            let d = *v as f64 - m;
            *s += d * d;
        }
    }
    let rstd = var
        .iter()
        .map(|s| 1.0 / (s / c as f64 + eps).sqrt())
        .collect();
    (mean, rstd)
}

impl LayerNorm2d {
    pub fn forward(&self, x: &[f32], plane: usize) -> Vec<f32> {
        let c = self.weight.len();
        let mut y = vec![0f32; x.len()];
        if plane == 0 {
            return y;
        }
        y.par_chunks_mut(c * plane)
            .zip(x.par_chunks(c * plane))
            .for_each(|(dst, img)| {
                let (mean, rstd) = moments(img, c, plane, self.eps);
                for (k, (d, s)) in dst
                    .chunks_exact_mut(plane)
                    .zip(img.chunks_exact(plane))
                    .enumerate()
                {
                    let (w, b) = (self.weight[k] as f64, self.bias[k] as f64);
                    for p in 0..plane {
                        d[p] = (((s[p] as f64 - mean[p]) * rstd[p]) * w + b) as f32;
                    }
                }
            });
        y
    }

    /// `dx = rstd * (gh - mean_c(gh) - xhat * mean_c(gh * xhat))` with `gh = g * weight`.
    pub fn backward(&self, x: &[f32], g: &[f32], plane: usize) -> Vec<f32> {
        let c = self.weight.len();
        let mut dx = vec![0f32; x.len()];
        if plane == 0 {
            return dx;
        }
        dx.par_chunks_mut(c * plane)
            .zip(x.par_chunks(c * plane).zip(g.par_chunks(c * plane)))
            .for_each(|(dst, (img, gimg))| {
                let (mean, rstd) = moments(img, c, plane, self.eps);
                let (mut mg, mut mgx) = (vec![0f64; plane], vec![0f64; plane]);
                for (k, (xs, gs)) in img
                    .chunks_exact(plane)
                    .zip(gimg.chunks_exact(plane))
                    .enumerate()
                {
                    let w = self.weight[k] as f64;
                    for p in 0..plane {
                        let gh = gs[p] as f64 * w;
                        mg[p] += gh;
                        mgx[p] += gh * (xs[p] as f64 - mean[p]) * rstd[p];
                    }
                }
                for (k, ((d, xs), gs)) in dst
                    .chunks_exact_mut(plane)
                    .zip(img.chunks_exact(plane))
                    .zip(gimg.chunks_exact(plane))
                    .enumerate()
                {
                    let w = self.weight[k] as f64;
                    for p in 0..plane {
                        let xhat = (xs[p] as f64 - mean[p]) * rstd[p];
                        let gh = gs[p] as f64 * w;
                        d[p] =
                            (rstd[p] * (gh - mg[p] / c as f64 - xhat * mgx[p] / c as f64)) as f32;
                    }
                }
            });
        dx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_norm_is_the_eval_formula() {
        let bn =
            ChannelAffine::batch_norm(&[2.0, 1.0], &[0.5, 0.0], &[1.0, -1.0], &[3.0, 0.0], 1.0);
        // (x - 1) / sqrt(4) * 2 + 0.5 and (x + 1) / 1.
        assert_eq!(bn.forward(&[3.0, 5.0, 1.0, 2.0], 2), [2.5, 4.5, 2.0, 3.0]);
        assert_eq!(bn.backward(&[1.0, 1.0, 1.0, 1.0], 2), [1.0, 1.0, 1.0, 1.0]);
        // With DenseNet's ReLU after it in the same pass: -1.5 and -1 clamp to 0.
        assert_eq!(
            bn.forward_then(&[-1.0, 5.0, -2.0, 2.0], 2, Activation::Relu),
            [0.0, 4.5, 0.0, 3.0]
        );
    }

    #[test]
    fn layer_norm_normalises_each_pixel_over_channels() {
        // One image, 2 channels, 1 pixel: [1, 3] -> mean 2, var 1 -> [-1, 1] / sqrt(1 + eps).
        let ln = LayerNorm2d {
            weight: vec![1.0, 2.0],
            bias: vec![0.0, 0.5],
            eps: 0.0,
        };
        assert_eq!(ln.forward(&[1.0, 3.0], 1), [-1.0, 2.5]);
    }

    #[test]
    fn layer_norm_gradient_matches_finite_differences() {
        let ln = LayerNorm2d {
            weight: vec![0.7, -1.2, 1.5],
            bias: vec![0.1, 0.2, 0.3],
            eps: 1e-6,
        };
        let x: Vec<f32> = (0..6)
            .map(|i| ((i * 7 % 5) as f32 - 2.0) * 0.8 + i as f32 * 0.1)
            .collect();
        let g = [0.3, -0.5, 0.2, 0.9, -0.4, 0.6];
        let dx = ln.backward(&x, &g, 2);
        let loss = |x: &[f32]| -> f64 {
            ln.forward(x, 2)
                .iter()
                .zip(&g)
                .map(|(y, g)| *y as f64 * *g as f64)
                .sum()
        };
        for i in 0..x.len() {
            let (mut a, mut b) = (x.clone(), x.clone());
            a[i] += 1e-3;
            b[i] -= 1e-3;
            let fd = (loss(&a) - loss(&b)) / 2e-3;
            assert!(
                (fd - dx[i] as f64).abs() < 2e-3,
                "element {i}: {fd} vs {}",
                dx[i]
            );
        }
    }
}
