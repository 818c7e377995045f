//! One layer's output for an image as a grid of channels, the way Zeiler & Fergus 2014
//! ("Visualizing and Understanding Convolutional Networks") and the Keras tutorials
//! look at what each layer sees.

use super::tiles::{Scaling, TileGrid};
use crate::error::{Error, Result};
use crate::model::Graph;
use candle_core::Tensor;
use serde::Serialize;

/// Which channels come first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Largest mean activation first (ties by channel index).
    #[default]
    Mean,
    /// Channel 0, 1, 2, ...
    Index,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct FeatureMapOptions {
    pub order: Order,
    pub scaling: Scaling,
    /// Show at most this many channels (the first ones in `order`).
    pub max: Option<usize>,
}

/// The output `[C, h, w]` of `layer` for a one-image batch `x`.
pub fn activation(model: &Graph, x: &Tensor, layer: &str) -> Result<Tensor> {
    let idx = model.node(layer)?;
    let v = model.one_image(x, |n| {
        format!("feature maps are drawn for one image; the input holds {n}")
    })?;
    Ok(model.forward_to(&v, idx)?.to_tensor()?.get(0)?)
}

/// A `[C, h, w]` activation of `layer` as a grid of its channels.
pub fn feature_maps(
    activation: &Tensor,
    layer: &str,
    opts: &FeatureMapOptions,
) -> Result<TileGrid> {
    let (c, h, w) = match activation.dims() {
        [c, h, w] => (*c, *h, *w),
        dims => {
            return Err(Error::Input(format!(
            "`{layer}` outputs {} values, not feature maps; choose a layer before the classifier",
            dims.iter().product::<usize>()
        )))
        }
    };
    if opts.max == Some(0) {
        return Err(Error::Input(
            "--max 0 would show no channel; give at least 1".into(),
        ));
    }
    let a = activation.flatten_all()?.to_vec1::<f32>()?;
    let plane = h * w;
    let means: Vec<f64> = a
        .chunks_exact(plane)
        .map(|p| p.iter().map(|v| *v as f64).sum::<f64>() / plane as f64)
        .collect();
    let mut order: Vec<usize> = (0..c).collect();
    if opts.order == Order::Mean {
        // Largest first; NaN last; stable, so ties keep channel order.
        order.sort_by(|&i, &j| match (means[i].is_nan(), means[j].is_nan()) {
            (false, false) => means[j].total_cmp(&means[i]),
            (a, b) => a.cmp(&b),
        });
    }
    order.truncate(opts.max.unwrap_or(c));
    let mut raw = Vec::with_capacity(order.len() * plane);
    for &k in &order {
        raw.extend_from_slice(&a[k * plane..(k + 1) * plane]);
    }
    let sorted = match opts.order {
        Order::Mean => "largest mean first",
        Order::Index => "channel order",
    };
    TileGrid::from_raw(
        format!("{layer} feature maps ({c} channels of {h}x{w}, {sorted})"),
        &raw,
        order,
        [1, h, w],
        opts.scaling,
    )
}
