//! Vanilla gradient saliency (Simonyan, Vedaldi and Zisserman, "Deep Inside Convolutional
//! Networks", 2014): `d logit[t] / d x`.

use super::catalogue::MethodSpec;
use super::{Attribution, Forward, Method};
use crate::error::Result;
use crate::model::ReluGrad;

pub const METHOD: MethodSpec = MethodSpec {
    name: "saliency",
    title: "Saliency",
    about:
        "The gradient of the class logit with respect to each input pixel (Simonyan et al. 2014).",
    order: 10,
    layer: false,
    options: &[],
    build: |_| Ok(Box::new(Saliency)),
};

#[derive(Clone, Copy, Debug, Default)]
pub struct Saliency;

impl Method for Saliency {
    fn attribute(&self, fwd: &Forward, class: usize) -> Result<Attribution> {
        let grad = fwd.input_gradient(class, ReluGrad::Plain)?;
        Ok(Attribution::Input(grad.squeeze(0)?))
    }
}
