//! Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
//! Gradient-based Localization", 2017): channel weights are the spatial means of the
//! gradient, `w_k = mean_ij dA_k`.

use super::cam::{class_activation_map, ChannelWeights, LayerMaps};
use super::catalogue::MethodSpec;
use super::{Attribution, Forward, Method};
use crate::error::Result;
use candle_core::Tensor;

pub const METHOD: MethodSpec = MethodSpec {
    name: "grad-cam",
    title: "Grad-CAM",
    about: "The layer's maps weighted by the spatial mean of their gradient, summed and ReLU'd (Selvaraju et al. 2017).",
    order: 50,
    layer: true,
    options: &[],
    build: |args| Ok(Box::new(GradCam { layer: args.layer()? })),
};

#[derive(Clone, Copy, Debug)]
pub struct GradCam {
    /// Index of the explained layer (see [`super::cam::layer_for_cam`]).
    pub layer: crate::model::NodeId,
}

impl ChannelWeights for GradCam {
    fn weights(&self, _: &Forward, _: usize, maps: &LayerMaps) -> Result<Vec<f64>> {
        Ok((0..maps.channels)
            .map(|k| maps.grad(k).iter().map(|g| *g as f64).sum::<f64>() / maps.plane() as f64)
            .collect())
    }
}

impl GradCam {
    /// The raw map, `[h, w]`.
    pub fn map(&self, fwd: &Forward, class: usize) -> Result<Tensor> {
        class_activation_map(self, fwd, self.layer, class)
    }
}

impl Method for GradCam {
    fn reads_from(&self) -> Option<crate::model::NodeId> {
        Some(self.layer)
    }

    fn attribute(&self, fwd: &Forward, class: usize) -> Result<Attribution> {
        Ok(Attribution::Layer(self.map(fwd, class)?))
    }
}
