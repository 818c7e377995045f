//! Guided Grad-CAM (Selvaraju et al. 2017, section 3.1): guided backpropagation times the
//! Grad-CAM map upsampled to the input. As captum's `GuidedGradCam` with
//! `interpolate_mode="bilinear"`: the raw (ReLU'd, unnormalised) Grad-CAM, resized with
//! half-pixel centres, so the product keeps the gradient's units.

use super::catalogue::MethodSpec;
use super::grad_cam::GradCam;
use super::steps::resize_bilinear;
use super::{Attribution, Forward, Method};
use crate::error::Result;
use crate::model::ReluGrad;
use candle_core::{Device, Tensor};

pub const METHOD: MethodSpec = MethodSpec {
    name: "guided-grad-cam",
    title: "Guided Grad-CAM",
    about: "Guided backprop times the Grad-CAM map upsampled to the input (Selvaraju et al. 2017).",
    order: 80,
    layer: true,
    options: &[],
    build: |args| {
        Ok(Box::new(GuidedGradCam {
            layer: args.layer()?,
        }))
    },
};

#[derive(Clone, Copy, Debug)]
pub struct GuidedGradCam {
    pub layer: crate::model::NodeId,
}

impl Method for GuidedGradCam {
    fn attribute(&self, fwd: &Forward, class: usize) -> Result<Attribution> {
        let cam = GradCam { layer: self.layer }.map(fwd, class)?;
        let (h, w) = cam.dims2()?;
        let size = fwd.size();
        let up = resize_bilinear(&cam.flatten_all()?.to_vec1()?, (h, w), size);
        let up = Tensor::from_vec(up, (1, 1, size.0, size.1), &Device::Cpu)?;
        let guided = fwd.input_gradient(class, ReluGrad::Guided)?;
        Ok(Attribution::Input(guided.broadcast_mul(&up)?.squeeze(0)?))
    }
}
