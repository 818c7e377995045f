//! The class-activation-map frame shared by Grad-CAM, Grad-CAM++ and Score-CAM
//! (pytorch-grad-cam's `BaseCAM`): a method supplies one weight per channel of a layer's
//! output `A`, and the map is `relu(sum_k w_k A_k)` at the layer's resolution.

use super::Forward;
use crate::error::{Error, Result};
use crate::model::{Graph, NodeId};
use candle_core::{Device, Tensor};

/// A layer's output for one image, and optionally the gradient of the score with
/// respect to it, as flat `[C, h, w]` arrays.
pub struct LayerMaps {
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    pub activations: Vec<f32>,
    pub gradient: Option<Vec<f32>>,
}

impl LayerMaps {
    pub fn plane(&self) -> usize {
        self.h * self.w
    }

    /// `A_k`.
    pub fn activation(&self, k: usize) -> &[f32] {
        &self.activations[k * self.plane()..(k + 1) * self.plane()]
    }

    /// `dA_k` (empty when the gradient was not computed).
    pub fn grad(&self, k: usize) -> &[f32] {
        self.gradient
            .as_deref()
            .map_or(&[], |g| &g[k * self.plane()..(k + 1) * self.plane()])
    }
}

/// A class-activation method: how it weighs the channels.
pub trait ChannelWeights {
    /// Whether the weights need `dA` (one reverse pass from the logits to the layer).
    fn uses_gradient(&self) -> bool {
        true
    }

    /// One weight per channel.
    fn weights(&self, fwd: &Forward, class: usize, maps: &LayerMaps) -> Result<Vec<f64>>;
}

/// The layer's output (and gradient) for the traced image.
pub fn layer_maps(fwd: &Forward, layer: NodeId, class: usize, gradient: bool) -> Result<LayerMaps> {
    let value = fwd.value(layer)?;
    let [_, channels, h, w] = value.shape[..] else {
        return Err(Error::Input(format!(
            "{} has no spatial map (output {:?})",
            fwd.model().name(layer),
            value.shape
        )));
    };
    let activations = value.data.to_vec();
    let gradient = if gradient {
        Some(fwd.layer_gradient(class, layer)?.flatten_all()?.to_vec1()?)
    } else {
        None
    };
    Ok(LayerMaps {
        channels,
        h,
        w,
        activations,
        gradient,
    })
}

/// `relu(sum_k w_k A_k)`, `[h, w]`, not normalised.
pub fn class_activation_map(
    method: &dyn ChannelWeights,
    fwd: &Forward,
    layer: NodeId,
    class: usize,
) -> Result<Tensor> {
    let maps = layer_maps(fwd, layer, class, method.uses_gradient())?;
    let weights = method.weights(fwd, class, &maps)?;
    Ok(weighted_sum(&maps, &weights)?)
}

/// `relu(sum_k w_k A_k)` as an `[h, w]` tensor.
pub fn weighted_sum(maps: &LayerMaps, weights: &[f64]) -> candle_core::Result<Tensor> {
    let mut cam = vec![0f64; maps.plane()];
    for (k, w) in weights.iter().enumerate() {
        for (dst, a) in cam.iter_mut().zip(maps.activation(k)) {
            *dst += w * *a as f64;
        }
    }
    let cam: Vec<f32> = cam.into_iter().map(|v| v.max(0.0) as f32).collect();
    Tensor::from_vec(cam, (maps.h, maps.w), &Device::Cpu)
}

/// [`default_layer`] in words, for the catalogue.
pub const DEFAULT_LAYER: &str = "pytorch-grad-cam's usual target: VGG's last ReLU of `features` (features.29 for VGG16), ResNet's last block of `layer4`, MobileNet's, EfficientNet's and ConvNeXt's last block of `features`, DenseNet's `features.norm5`";

/// The default layer of the class-activation methods: pytorch-grad-cam's usual target
/// for the family (VGG: the last ReLU of `features`, `features.29` for VGG16; ResNet:
/// the last block of `layer4`; MobileNet, EfficientNet, ConvNeXt: the last block of
/// `features`; DenseNet: `features.norm5`).
pub fn default_layer(model: &Graph) -> NodeId {
    model.spec().cam_layer
}

/// The node named `name` (or the default), checked to have a spatial `[C, h, w]` output:
/// everything before the classifier head.
pub fn layer_for_cam(model: &Graph, name: Option<&str>) -> Result<NodeId> {
    let Some(name) = name else {
        return Ok(default_layer(model));
    };
    let idx = model.node(name)?;
    let size = model.arch().size;
    let shapes = model.spec().shapes((size, size))?;
    if idx >= model.head_start() || shapes[idx].len() != 3 {
        return Err(Error::Input(format!(
            "layer `{name}` has no spatial map; class activation maps need a [C, h, w] output, a node before `{}`",
            model.name(model.head_start())
        )));
    }
    Ok(idx)
}
