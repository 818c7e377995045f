//! Grad-CAM++ (Chattopadhay et al., "Grad-CAM++: Improved Visual Explanations for Deep
//! Convolutional Networks", 2018), as pytorch-grad-cam computes it:
//! `a = dA^2 / (2 dA^2 + sum_ij(A_k) dA^3 + 1e-6)` (0 where `dA == 0`),
//! `w_k = sum_ij relu(dA) * a`.

use super::cam::{class_activation_map, ChannelWeights, LayerMaps};
use super::catalogue::MethodSpec;
use super::{Attribution, Forward, Method};
use crate::error::Result;

pub const METHOD: MethodSpec = MethodSpec {
    name: "grad-cam++",
    title: "Grad-CAM++",
    about: "The layer's maps weighted by their positive gradients with higher-order coefficients (Chattopadhay et al. 2018).",
    order: 60,
    layer: true,
    options: &[],
    build: |args| Ok(Box::new(GradCamPlusPlus { layer: args.layer()? })),
};

#[derive(Clone, Copy, Debug)]
pub struct GradCamPlusPlus {
    pub layer: crate::model::NodeId,
}

impl ChannelWeights for GradCamPlusPlus {
    fn weights(&self, _: &Forward, _: usize, maps: &LayerMaps) -> Result<Vec<f64>> {
        Ok((0..maps.channels)
            .map(|k| {
                let sum_a: f64 = maps.activation(k).iter().map(|a| *a as f64).sum();
                maps.grad(k)
                    .iter()
                    .filter(|g| **g != 0.0)
                    .map(|g| {
                        let g = *g as f64;
                        let g2 = g * g;
                        let alpha = g2 / (2.0 * g2 + sum_a * g2 * g + 1e-6);
                        g.max(0.0) * alpha
                    })
                    .sum()
            })
            .collect())
    }
}

impl Method for GradCamPlusPlus {
    fn reads_from(&self) -> Option<crate::model::NodeId> {
        Some(self.layer)
    }

    fn attribute(&self, fwd: &Forward, class: usize) -> Result<Attribution> {
        Ok(Attribution::Layer(class_activation_map(
            self, fwd, self.layer, class,
        )?))
    }
}
