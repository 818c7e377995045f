//! SmoothGrad (Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017): the
//! mean saliency over noisy copies `x + N(0, (s * (max x - min x))^2)`, the noise drawn
//! from a seeded [`Rng`] so that the same seed gives the same map.

use super::catalogue::{DefaultValue, Kind, Max, MethodSpec, OptionSpec};
use super::{weighted_gradient_sum, Attribution, Forward, Method};
use crate::error::Result;
use crate::rng::Rng;
use candle_core::Tensor;

pub const METHOD: MethodSpec = MethodSpec {
    name: "smoothgrad",
    title: "SmoothGrad",
    about: "The mean input gradient over copies of the image with Gaussian noise added (Smilkov et al. 2017).",
    order: 30,
    layer: false,
    options: &[
        OptionSpec {
            name: "samples",
            kind: Kind::Int { min: 1, max: Max::Unbounded },
            default: DefaultValue::Int(25),
            unit: "",
            help: "noisy copies of the image",
            below_min: None,
        },
        OptionSpec {
            name: "noise",
            kind: Kind::Float { min: Some(0.0) },
            default: DefaultValue::Float(0.15),
            unit: "",
            help: "the noise's standard deviation, as a share of the input's value range",
            below_min: None,
        },
        OptionSpec {
            name: "seed",
            kind: Kind::Int { min: 0, max: Max::Unbounded },
            default: DefaultValue::Int(0),
            unit: "",
            help: "seed of the noise (the same seed gives the same map)",
            below_min: None,
        },
    ],
    build: |args| {
        Ok(Box::new(SmoothGrad {
            samples: args.count("samples")?,
            noise: args.float("noise")? as f32,
            seed: args.whole("seed")?,
        }))
    },
};

/// Options: see [`METHOD`].
#[derive(Clone, Copy, Debug)]
pub struct SmoothGrad {
    /// Number of noisy copies.
    pub samples: usize,
    /// Noise standard deviation as a fraction of the input's value range.
    pub noise: f32,
    pub seed: u64,
}

impl Method for SmoothGrad {
    fn attribute(&self, fwd: &Forward, class: usize) -> Result<Attribution> {
        METHOD.check("samples", self.samples, fwd.size())?;
        METHOD.check("noise", self.noise, fwd.size())?;
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
