//! Choosing a method by name, with its options: the one place where the CLI and the page
//! turn a user's choices into a [`Method`], with a clear error for a name or an option
//! that does not fit.

use super::cam::layer_for_cam;
use super::grad_cam::GradCam;
use super::grad_cam_pp::GradCamPlusPlus;
use super::guided_backprop::GuidedBackprop;
use super::guided_grad_cam::GuidedGradCam;
use super::integrated_gradients::IntegratedGradients;
use super::occlusion::{Occlusion, Score};
use super::saliency::Saliency;
use super::score_cam::ScoreCam;
use super::smoothgrad::SmoothGrad;
use super::Method;
use crate::error::{Error, Result};
use crate::model::Graph;

/// Every method, by the name the CLI and the page use.
pub const METHOD_NAMES: [&str; 9] = [
    "saliency",
    "guided-backprop",
    "integrated-gradients",
    "smoothgrad",
    "grad-cam",
    "grad-cam++",
    "score-cam",
    "guided-grad-cam",
    "occlusion",
];

/// Method options; `None` takes the method's default.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Layer of the class-activation methods (default: the last ReLU of `features`).
    pub layer: Option<String>,
    /// Integrated gradients: points on the path (default 16).
    pub steps: Option<usize>,
    /// SmoothGrad: noisy copies (default 25).
    pub samples: Option<usize>,
    /// SmoothGrad: noise std as a fraction of the input's range (default 0.15).
    pub noise: Option<f32>,
    /// SmoothGrad: random seed (default 0).
    pub seed: Option<u64>,
    /// Occlusion: window side in pixels (default: a 16th of the model's input size, at
    /// least 4 pixels).
    pub window: Option<usize>,
    /// Occlusion: stride (default: the window).
    pub stride: Option<usize>,
    /// Occlusion: fill value in normalised space (default 0, the mean colour).
    pub fill: Option<f32>,
    /// Occlusion: logit (default) or prob.
    pub score: Option<Score>,
}

impl Options {
    /// Names of the options that were given.
    fn given(&self) -> Vec<&'static str> {
        [
            ("layer", self.layer.is_some()),
            ("steps", self.steps.is_some()),
            ("samples", self.samples.is_some()),
            ("noise", self.noise.is_some()),
            ("seed", self.seed.is_some()),
            ("window", self.window.is_some()),
            ("stride", self.stride.is_some()),
            ("fill", self.fill.is_some()),
            ("score", self.score.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// The options each method takes (`takes(m).contains(&"layer")`: a CAM method).
pub fn takes(name: &str) -> &'static [&'static str] {
    match name {
        "integrated-gradients" => &["steps"],
        "smoothgrad" => &["samples", "noise", "seed"],
        "grad-cam" | "grad-cam++" | "score-cam" | "guided-grad-cam" => &["layer"],
        "occlusion" => &["window", "stride", "fill", "score"],
        _ => &[],
    }
}

/// The method called `name`, configured by `options` for `model`.
pub fn build(name: &str, model: &Graph, options: &Options) -> Result<Box<dyn Method>> {
    if !METHOD_NAMES.contains(&name) {
        return Err(Error::Input(format!(
            "unknown method `{name}`; known: {}",
            METHOD_NAMES.join(", ")
        )));
    }
    if let Some(extra) = options
        .given()
        .into_iter()
        .find(|o| !takes(name).contains(o))
    {
        let takes = takes(name);
        return Err(Error::Input(format!(
            "option --{extra} does not apply to {name} ({})",
            if takes.is_empty() {
                "it takes no options".to_string()
            } else {
                format!("it takes --{}", takes.join(", --"))
            }
        )));
    }
    let layer = || layer_for_cam(model, options.layer.as_deref());
    Ok(match name {
        "saliency" => Box::new(Saliency),
        "guided-backprop" => Box::new(GuidedBackprop),
        "integrated-gradients" => {
            let d = IntegratedGradients::default();
            Box::new(IntegratedGradients {
                steps: options.steps.unwrap_or(d.steps),
                ..d
            })
        }
        "smoothgrad" => {
            let d = SmoothGrad::default();
            Box::new(SmoothGrad {
                samples: options.samples.unwrap_or(d.samples),
                noise: options.noise.unwrap_or(d.noise),
                seed: options.seed.unwrap_or(d.seed),
            })
        }
        "grad-cam" => Box::new(GradCam { layer: layer()? }),
        "grad-cam++" => Box::new(GradCamPlusPlus { layer: layer()? }),
        "score-cam" => Box::new(ScoreCam { layer: layer()? }),
        "guided-grad-cam" => Box::new(GuidedGradCam { layer: layer()? }),
        _ => {
            let window = options
                .window
                .unwrap_or_else(|| default_window(model.spec().size));
            Box::new(Occlusion {
                window,
                stride: options.stride.unwrap_or(window),
                fill: options.fill.unwrap_or(0.0),
                score: options.score.unwrap_or_default(),
            })
        }
    })
}

/// Occlusion's default window: a 16th of the input (14 px at 224, a 16x16 grid), but at
/// least 4 pixels (or the whole input, if smaller): a 1-pixel window over a 28-pixel
/// Fashion-MNIST image covers too little to move any class.
pub fn default_window(size: usize) -> usize {
    (size / 16).max(4).min(size.max(1))
}

#[cfg(test)]
mod tests {
    use super::default_window;

    #[test]
    fn occlusion_window_is_a_sixteenth_of_the_input_but_at_least_4_pixels() {
        assert_eq!(default_window(224), 14);
        assert_eq!(default_window(384), 24);
        assert_eq!(default_window(32), 4);
        assert_eq!(default_window(28), 4);
        assert_eq!(default_window(3), 3);
    }
}
