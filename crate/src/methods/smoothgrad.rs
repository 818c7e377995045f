//! SmoothGrad (Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017): the
//! mean saliency over noisy copies `x + N(0, (s * (max x - min x))^2)`, the noise drawn
//! from a seeded [`Rng`] so that the same seed gives the same map.

use super::{weighted_gradient_sum, Attribution, Forward, Method};
use crate::error::{Error, Result};
use crate::rng::Rng;
use candle_core::Tensor;

#[derive(Clone, Copy, Debug)]
pub struct SmoothGrad {
    /// Number of noisy copies.
    pub samples: usize,
    /// Noise standard deviation as a fraction of the input's value range.
    pub noise: f32,
    pub seed: u64,
}

impl Default for SmoothGrad {
    fn default() -> Self {
        SmoothGrad {
            samples: 25,
            noise: 0.15,
            seed: 0,
        }
    }
}

impl Method for SmoothGrad {
    fn attribute(&self, fwd: &Forward, class: usize) -> Result<Attribution> {
        if self.samples == 0 {
            return Err(Error::Input("SmoothGrad needs at least 1 sample".into()));
        }
        if !(self.noise >= 0.0 && self.noise.is_finite()) {
            return Err(Error::Input(format!(
                "SmoothGrad noise must be a finite fraction >= 0, got {}",
                self.noise
            )));
        }
        crate::limits::check_passes(
            self.samples,
            &format!("SmoothGrad with {} samples", self.samples),
            "use fewer samples (the paper's default is 50)",
        )?;
        let x = fwd.input();
        let values = x.flatten_all()?.to_vec1::<f32>()?;
        let (lo, hi) = values
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        let std = self.noise as f64 * (hi - lo) as f64;
        let mut rng = Rng::new(self.seed);
        let weights = vec![1.0 / self.samples as f64; self.samples];
        let mean = weighted_gradient_sum(fwd, class, &weights, |_| {
            let noise = Tensor::from_vec(rng.normals(values.len(), std), x.shape(), x.device())?;
            Ok((x + noise)?)
        })?;
        Ok(Attribution::Input(mean.squeeze(0)?))
    }
}
