//! Guided backpropagation (Springenberg et al., "Striving for Simplicity: The All
//! Convolutional Net", 2015): every ReLU passes back `relu(g) * [x > 0]`, classifier
//! ReLUs included, as captum's `GuidedBackprop`.

use super::catalogue::MethodSpec;
use super::{Attribution, Forward, Method};
use crate::error::Result;
use crate::model::ReluGrad;

pub const METHOD: MethodSpec = MethodSpec {
    name: "guided-backprop",
    title: "Guided backprop",
    about: "The input gradient with only positive gradients passed back through each ReLU (Springenberg et al. 2015).",
    order: 20,
    layer: false,
    options: &[],
    build: |_| Ok(Box::new(GuidedBackprop)),
};

#[derive(Clone, Copy, Debug, Default)]
pub struct GuidedBackprop;

impl Method for GuidedBackprop {
    fn attribute(&self, fwd: &Forward, class: usize) -> Result<Attribution> {
        let grad = fwd.input_gradient(class, ReluGrad::Guided)?;
        Ok(Attribution::Input(grad.squeeze(0)?))
    }
}
