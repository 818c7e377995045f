//! Lucid's Fourier image parameterisation (Olah et al. 2017, "Feature Visualization",
//! `lucid.optvis.param.spectrum`): the optimiser moves the coefficients of a half
//! spectrum scaled by 1/frequency, so every frequency learns at the same rate instead
//! of high frequencies (noise) winning, as they do with raw pixels.
//!
//! The image is the real part of the inverse DFT of the half spectrum, with the bins
//! that stand for a conjugate pair counted twice (what `irfft2d` computes for a
//! conjugate-symmetric input). It is linear, so the gradient is its adjoint; both are
//! four matrix products per plane.

use crate::error::Result;
use candle_core::{Device, Tensor};

pub struct Spectrum {
    h: usize,
    w: usize,
    /// Columns of the half spectrum, `w / 2 + 1`.
    kw: usize,
    /// `[h, h]`: `cos(2 pi ky y / h)` at `[y, ky]`, and its transpose.
    cy: Tensor,
    sy: Tensor,
    cy_t: Tensor,
    sy_t: Tensor,
    /// `[kw, w]`: `m_kx cos(2 pi kx x / w) / (h w)`, with `m` = 2 for paired bins, 1 for
    /// the DC and Nyquist columns; and the transposes `[w, kw]`.
    cx_t: Tensor,
    sx_t: Tensor,
    cx: Tensor,
    sx: Tensor,
    /// Per-bin `[h * kw]` scale: `sqrt(h w) / max(f, 1 / max(h, w)) / 4` (lucid's
    /// energy normalisation, 1/f decay and its final division by 4).
    scale: Vec<f32>,
    /// Per-bin frequency in cycles per pixel, for blurring in the frequency domain.
    freq: Vec<f32>,
}

/// numpy's `fftfreq(n)[k]`: k/n for the first half, (k - n)/n after.
fn fftfreq(k: usize, n: usize) -> f64 {
    if k < n.div_ceil(2) {
        k as f64 / n as f64
    } else {
        (k as f64 - n as f64) / n as f64
    }
}

impl Spectrum {
    pub fn new(h: usize, w: usize) -> Result<Spectrum> {
        let kw = w / 2 + 1;
        let tau = std::f64::consts::TAU;
        let dev = &Device::Cpu;
        let mat = |rows: usize, cols: usize, f: &dyn Fn(usize, usize) -> f64| {
            let v: Vec<f32> = (0..rows * cols)
                .map(|i| f(i / cols, i % cols) as f32)
                .collect();
            Tensor::from_vec(v, (rows, cols), dev)
        };
        let cy = mat(h, h, &|y, k| (tau * (k * y) as f64 / h as f64).cos())?;
        let sy = mat(h, h, &|y, k| (tau * (k * y) as f64 / h as f64).sin())?;
        let pair = |k: usize| {
            if k == 0 || (w.is_multiple_of(2) && k == w / 2) {
                1.0
            } else {
                2.0
            }
        };
        let norm = (h * w) as f64;
        let cx_t = mat(kw, w, &|k, x| {
            pair(k) * (tau * (k * x) as f64 / w as f64).cos() / norm
        })?;
        let sx_t = mat(kw, w, &|k, x| {
            pair(k) * (tau * (k * x) as f64 / w as f64).sin() / norm
        })?;
        let mut scale = Vec::with_capacity(h * kw);
        let mut freq = Vec::with_capacity(h * kw);
        let floor = 1.0 / h.max(w) as f64;
        for ky in 0..h {
            for kx in 0..kw {
                let f = fftfreq(ky, h).hypot(kx as f64 / w as f64);
                freq.push(f as f32);
                scale.push(((h * w) as f64).sqrt() / f.max(floor) / 4.0);
            }
        }
        let scale = scale.into_iter().map(|s| s as f32).collect();
        Ok(Spectrum {
            h,
            w,
            kw,
            cy_t: cy.t()?.contiguous()?,
            sy_t: sy.t()?.contiguous()?,
            cy,
            sy,
            cx: cx_t.t()?.contiguous()?,
            sx: sx_t.t()?.contiguous()?,
            cx_t,
            sx_t,
            scale,
            freq,
        })
    }

    /// Parameters per plane: real and imaginary half spectra, `2 x h x kw`.
    pub fn plane_len(&self) -> usize {
        2 * self.h * self.kw
    }

    /// Splits `[P, 2, h, kw]` parameters into scaled real and imaginary parts `[P, h, kw]`.
    fn scaled_parts(&self, params: &[f32]) -> Result<(Tensor, Tensor)> {
        let (hk, planes) = (self.h * self.kw, params.len() / self.plane_len());
        let mut re = Vec::with_capacity(planes * hk);
        let mut im = Vec::with_capacity(planes * hk);
        for p in params.chunks_exact(2 * hk) {
            re.extend(p[..hk].iter().zip(&self.scale).map(|(v, s)| v * s));
            im.extend(p[hk..].iter().zip(&self.scale).map(|(v, s)| v * s));
        }
        let shape = (planes, self.h, self.kw);
        Ok((
            Tensor::from_vec(re, shape, &Device::Cpu)?,
            Tensor::from_vec(im, shape, &Device::Cpu)?,
        ))
    }

    /// `[P, 2, h, kw]` parameters -> `[P, h, w]` pixels:
    /// `Cy (A Cx' - B Sx') - Sy (A Sx' + B Cx')`.
    pub fn to_pixels(&self, params: &[f32]) -> Result<Vec<f32>> {
        let (a, b) = self.scaled_parts(params)?;
        let u = (a.broadcast_matmul(&self.cx_t)? - b.broadcast_matmul(&self.sx_t)?)?;
        let v = (a.broadcast_matmul(&self.sx_t)? + b.broadcast_matmul(&self.cx_t)?)?;
        let img = (self.cy.broadcast_matmul(&u)? - self.sy.broadcast_matmul(&v)?)?;
        Ok(img.flatten_all()?.to_vec1()?)
    }

    /// The adjoint of [`Self::to_pixels`]: `[P, h, w]` pixel gradients -> parameter
    /// gradients `[P, 2, h, kw]`.
    pub fn grad_to_params(&self, grad: &[f32]) -> Result<Vec<f32>> {
        let planes = grad.len() / (self.h * self.w);
        let g = Tensor::from_slice(grad, (planes, self.h, self.w), &Device::Cpu)?;
        let gu = self.cy_t.broadcast_matmul(&g)?;
        let gv = self.sy_t.broadcast_matmul(&g)?.neg()?;
        let ga = (gu.broadcast_matmul(&self.cx)? + gv.broadcast_matmul(&self.sx)?)?;
        let gb = (gv.broadcast_matmul(&self.cx)? - gu.broadcast_matmul(&self.sx)?)?;
        let (ga, gb) = (
            ga.flatten_all()?.to_vec1::<f32>()?,
            gb.flatten_all()?.to_vec1::<f32>()?,
        );
        let hk = self.h * self.kw;
        let mut out = Vec::with_capacity(planes * 2 * hk);
        for (a, b) in ga.chunks_exact(hk).zip(gb.chunks_exact(hk)) {
            out.extend(a.iter().zip(&self.scale).map(|(v, s)| v * s));
            out.extend(b.iter().zip(&self.scale).map(|(v, s)| v * s));
        }
        Ok(out)
    }

    /// Gaussian blur of `sigma` pixels, applied as its transfer function
    /// `exp(-2 pi^2 sigma^2 f^2)` to every bin.
    pub fn blur(&self, params: &mut [f32], sigma: f32) {
        let k = 2.0 * std::f32::consts::PI.powi(2) * sigma * sigma;
        let hk = self.h * self.kw;
        for part in params.chunks_exact_mut(hk) {
            for (v, f) in part.iter_mut().zip(&self.freq) {
                *v *= (-k * f * f).exp();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn dc_bin_is_a_flat_image() {
        let s = Spectrum::new(4, 6).unwrap();
        let mut p = vec![0f32; s.plane_len()];
        p[0] = 1.0; // real DC
        let img = s.to_pixels(&p).unwrap();
        let expect = s.scale[0] / 24.0;
        assert!(img.iter().all(|v| (v - expect).abs() < 1e-6), "{img:?}");
    }

    #[test]
    fn a_pair_bin_is_a_cosine() {
        // Real coefficient 1 at (ky, kx) = (0, 1) of an 8-wide image: 2 cos(2 pi x / 8)
        // / (h w), times that bin's scale.
        let (h, w) = (4, 8);
        let s = Spectrum::new(h, w).unwrap();
        let mut p = vec![0f32; s.plane_len()];
        p[1] = 1.0;
        let img = s.to_pixels(&p).unwrap();
        for y in 0..h {
            for x in 0..w {
                let want = s.scale[1] * 2.0 * (std::f32::consts::TAU * x as f32 / 8.0).cos()
                    / (h * w) as f32;
                assert!((img[y * w + x] - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn gradient_is_the_adjoint() {
        // <to_pixels(p), g> == <p, grad_to_params(g)> for random p and g, odd and even sizes.
        for (h, w) in [(6, 8), (5, 7)] {
            let s = Spectrum::new(h, w).unwrap();
            let mut rng = Rng::new(5);
            let p = rng.normals(2 * s.plane_len(), 1.0);
            let g = rng.normals(2 * h * w, 1.0);
            let img = s.to_pixels(&p).unwrap();
            let gp = s.grad_to_params(&g).unwrap();
            let lhs: f64 = img.iter().zip(&g).map(|(a, b)| (a * b) as f64).sum();
            let rhs: f64 = p.iter().zip(&gp).map(|(a, b)| (a * b) as f64).sum();
            assert!(
                (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
                "{lhs} vs {rhs}"
            );
        }
    }
}
