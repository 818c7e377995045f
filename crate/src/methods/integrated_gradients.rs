//! Integrated gradients (Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep
//! Networks", 2017): `(x - b) * sum_k d_k grad(b + a_k (x - b))`, with captum's
//! `riemann_trapezoid` rule: `a_k = linspace(0, 1, n)`, `d_k = 1/n` with the first and
//! last halved (so the `d_k` sum to `(n - 1)/n`, exactly as captum computes it).

use super::catalogue::{DefaultValue, Kind, Max, MethodSpec, OptionSpec};
use super::{weighted_gradient_sum, Attribution, Forward, Method};
use crate::error::Result;

pub const METHOD: MethodSpec = MethodSpec {
    name: "integrated-gradients",
    title: "Integrated Gradients",
    about: "Input gradients summed along the straight path from a zero baseline (the dataset's mean colour for ImageNet-normalised models) to the image, times the image minus the baseline (Sundararajan et al. 2017; captum's trapezoid rule).",
    order: 40,
    layer: false,
    options: &[OptionSpec {
        name: "steps",
        kind: Kind::Int { min: 2, max: Max::Unbounded },
        // The reference fixtures' (captum's own default is 50).
        default: DefaultValue::Int(16),
        unit: "",
        help: "points on the path (captum's n_steps)",
        below_min: Some("integrated-gradients needs at least {min} steps (the trapezoid rule's two ends), got {value}"),
    }],
    build: |args| {
        Ok(Box::new(IntegratedGradients {
            steps: args.count("steps")?,
            baseline: 0.0,
        }))
    },
};

/// Options: see [`METHOD`].
#[derive(Clone, Copy, Debug)]
pub struct IntegratedGradients {
    /// Number of points on the path (`n_steps`).
    pub steps: usize,
    /// The baseline's value everywhere, in normalised input space (0 = the dataset's
    /// mean colour for ImageNet-normalised models).
    pub baseline: f32,
}

/// captum's trapezoid rule: `(alphas, step sizes)`.
pub fn trapezoid(n: usize) -> (Vec<f64>, Vec<f64>) {
    let alphas = (0..n).map(|k| k as f64 / (n - 1) as f64).collect();
    let mut deltas = vec![1.0 / n as f64; n];
    deltas[0] /= 2.0;
    deltas[n - 1] /= 2.0;
    (alphas, deltas)
}

impl Method for IntegratedGradients {
    fn attribute(&self, fwd: &Forward, class: usize) -> Result<Attribution> {
        METHOD.check("steps", self.steps, fwd.size())?;
        crate::limits::check_passes(
            self.steps,
            &format!("integrated gradients with {} steps", self.steps),
            "use fewer steps (captum's default is 50)",
        )?;
        let x = fwd.input();
        let base = x.ones_like()?.affine(self.baseline as f64, 0.0)?;
        let path = (x - &base)?;
        let (alphas, deltas) = trapezoid(self.steps);
        let total = weighted_gradient_sum(fwd, class, &deltas, |k| {
            Ok((&base + path.affine(alphas[k], 0.0)?)?)
        })?;
        Ok(Attribution::Input((total * path)?.squeeze(0)?))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn trapezoid_is_captums() {
        let (a, d) = super::trapezoid(5);
        assert_eq!(a, [0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(d, [0.1, 0.2, 0.2, 0.2, 0.1]);
    }
}
