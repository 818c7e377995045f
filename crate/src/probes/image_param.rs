//! How the numbers being optimised become a picture in [0, 1] (lucid's `param.image` +
//! `to_valid_rgb`, Olah et al. 2017): raw pixels, or the Fourier spectrum of
//! [`super::fourier`] followed, for colour models, by lucid's colour decorrelation;
//! then a sigmoid, so the picture is always a valid image whatever the optimiser does.

use super::fourier::Spectrum;
use super::regularizers;
use crate::error::Result;
use crate::rng::Rng;

/// Square root of ImageNet's colour covariance (lucid's `color_correlation_svd_sqrt`):
/// parameters move along decorrelated colour axes, so colours stay natural.
const COLOUR_SQRT: [[f32; 3]; 3] = [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]];

/// [`COLOUR_SQRT`] divided by its largest column norm, as lucid normalises it.
fn colour_matrix() -> [[f32; 3]; 3] {
    let norm = (0..3)
        .map(|j| {
            (0..3)
                .map(|i| COLOUR_SQRT[i][j].powi(2))
                .sum::<f32>()
                .sqrt()
        })
        .fold(0f32, f32::max);
    COLOUR_SQRT.map(|row| row.map(|v| v / norm))
}

/// Lucid's initial standard deviation of the parameters (a nearly flat grey start).
const INIT_SD: f64 = 0.01;

pub struct ImageParam {
    c: usize,
    h: usize,
    w: usize,
    /// `n * c` planes.
    planes: usize,
    spectrum: Option<Spectrum>,
}

impl ImageParam {
    /// `n` pictures of `c x h x w`; `fourier` chooses the decorrelated parameterisation.
    pub fn new(fourier: bool, n: usize, c: usize, h: usize, w: usize) -> Result<ImageParam> {
        let spectrum = if fourier {
            Some(Spectrum::new(h, w)?)
        } else {
            None
        };
        Ok(ImageParam {
            c,
            h,
            w,
            planes: n * c,
            spectrum,
        })
    }

    fn plane_len(&self) -> usize {
        match &self.spectrum {
            Some(s) => s.plane_len(),
            None => self.h * self.w,
        }
    }

    /// Initial parameters: normals of standard deviation 0.01, drawn from `rng`.
    pub fn init(&self, rng: &mut Rng) -> Vec<f32> {
        rng.normals(self.planes * self.plane_len(), INIT_SD)
    }

    fn decorrelates(&self) -> bool {
        self.spectrum.is_some() && self.c == 3
    }

    /// Mixes each pixel's three colour values of the pictures `[n, 3, h, w]` by `m`:
    /// colour `c` becomes `m[c] . (r, g, b)`.
    fn mix_colours(&self, pictures: &mut [f32], m: [[f32; 3]; 3]) {
        let plane = self.h * self.w;
        for img in pictures.chunks_exact_mut(3 * plane) {
            for i in 0..plane {
                let v = [img[i], img[plane + i], img[2 * plane + i]];
                for (c, row) in m.iter().enumerate() {
                    img[c * plane + i] = row[0] * v[0] + row[1] * v[1] + row[2] * v[2];
                }
            }
        }
    }

    /// Parameters -> pictures `[n, c, h, w]` in (0, 1).
    pub fn pictures(&self, params: &[f32]) -> Result<Vec<f32>> {
        let mut t = match &self.spectrum {
            Some(s) => s.to_pixels(params)?,
            None => params.to_vec(),
        };
        if self.decorrelates() {
            self.mix_colours(&mut t, colour_matrix());
        }
        t.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
        Ok(t)
    }

    /// Gradient with respect to the parameters, given the pictures [`Self::pictures`]
    /// made and the gradient with respect to them.
    pub fn backward(&self, pictures: &[f32], grad: &[f32]) -> Result<Vec<f32>> {
        let mut g: Vec<f32> = pictures
            .iter()
            .zip(grad)
            .map(|(s, g)| g * s * (1.0 - s))
            .collect();
        if self.decorrelates() {
            // The adjoint of the mix is the mix by the transposed matrix.
            let m = colour_matrix();
            self.mix_colours(&mut g, [0, 1, 2].map(|j| m.map(|row| row[j])));
        }
        match &self.spectrum {
            Some(s) => s.grad_to_params(&g),
            None => Ok(g),
        }
    }

    /// Gaussian blur of the parameters' picture by `sigma` pixels.
    pub fn blur(&self, params: &mut [f32], sigma: f32) {
        match &self.spectrum {
            Some(s) => s.blur(params, sigma),
            None => regularizers::blur(params, self.h, self.w, sigma),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backward_matches_finite_differences() {
        for fourier in [false, true] {
            let p = ImageParam::new(fourier, 1, 3, 4, 5).unwrap();
            let params: Vec<f32> = Rng::new(2).normals(p.planes * p.plane_len(), 0.5);
            let weights: Vec<f32> = Rng::new(3).normals(3 * 20, 1.0);
            let score = |x: &[f32]| -> f64 {
                let pic = p.pictures(x).unwrap();
                pic.iter().zip(&weights).map(|(a, b)| (a * b) as f64).sum()
            };
            let pic = p.pictures(&params).unwrap();
            let grad = p.backward(&pic, &weights).unwrap();
            for i in (0..params.len()).step_by(7) {
                let (mut up, mut down) = (params.clone(), params.clone());
                up[i] += 1e-2;
                down[i] -= 1e-2;
                let fd = (score(&up) - score(&down)) / 2e-2;
                assert!(
                    (fd - grad[i] as f64).abs() < 2e-3 * fd.abs().max(1.0),
                    "fourier {fourier}, param {i}: {fd} vs {}",
                    grad[i]
                );
            }
        }
    }
}
