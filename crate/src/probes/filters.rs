//! A convolution's kernels as pictures, one tile per output channel (Zeiler & Fergus
//! 2014, "Visualizing and Understanding Convolutional Networks", show first-layer
//! filters this way): the first layer in colour, deeper layers one input channel at a time.

use super::tiles::{Scaling, TileGrid};
use crate::error::{Error, Result};
use crate::model::ops::Op;
use crate::model::Graph;

#[derive(Clone, Copy, Debug, Default)]
pub struct FilterOptions {
    /// Which input channel to show. `None`: all three as RGB when the layer reads three
    /// channels (the first layer of a colour model), else channel 0.
    pub channel: Option<usize>,
    pub scaling: Scaling,
    /// The model reads BGR (Keras "caffe" weights): swap channels so the tiles are RGB.
    pub bgr: bool,
}

/// The first convolution: the default layer of the filters view.
pub fn first_conv(model: &Graph) -> Option<&str> {
    (0..model.len())
        .find(|i| matches!(model.op(*i), Op::Conv(c) if c.cfg.kernel != (1, 1)))
        .map(|i| model.name(i))
}

/// The kernels of conv layer `layer` as a tile grid, `out_channels` tiles of kh x kw
/// (one input channel each: a depthwise convolution's only one).
pub fn filters(model: &Graph, layer: &str, opts: &FilterOptions) -> Result<TileGrid> {
    let idx = model.node(layer)?;
    let Op::Conv(conv) = model.op(idx) else {
        return Err(Error::Input(format!(
            "`{layer}` is a {} layer and has no kernels; the convolutions are {}",
            model.spec().nodes[idx].kind.class(),
            conv_names(model)
        )));
    };
    let (outs, ins, kh, kw) = (
        conv.cfg.out_channels,
        conv.cfg.in_channels / conv.cfg.groups.max(1),
        conv.cfg.kernel.0,
        conv.cfg.kernel.1,
    );
    let w = &conv.weight;
    let at = |o: usize, i: usize| &w[(o * ins + i) * kh * kw..(o * ins + i + 1) * kh * kw];
    let (inputs, title): (Vec<usize>, String) = match opts.channel {
        None if ins == 3 => {
            let order = if opts.bgr {
                vec![2, 1, 0]
            } else {
                vec![0, 1, 2]
            };
            let title = format!(
                "{layer} filters, RGB = input channels {}",
                order
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            (order, title)
        }
        channel => {
            let k = channel.unwrap_or(0);
            if k >= ins {
                return Err(Error::Input(format!(
                    "input channel {k} is out of range: `{layer}` has {ins} input channel(s) (0..{})",
                    ins - 1
                )));
            }
            (vec![k], format!("{layer} filters, input channel {k}"))
        }
    };
    let mut raw = Vec::with_capacity(outs * inputs.len() * kh * kw);
    for o in 0..outs {
        for &i in &inputs {
            raw.extend_from_slice(at(o, i));
        }
    }
    TileGrid::from_raw(
        title,
        &raw,
        (0..outs).collect(),
        [inputs.len(), kh, kw],
        opts.scaling,
    )
}

/// "features.0, features.2, ..." for error messages (the first few of a large graph).
fn conv_names(model: &Graph) -> String {
    let names: Vec<&str> = (0..model.len())
        .filter(|i| matches!(model.op(*i), Op::Conv(_)))
        .map(|i| model.name(i))
        .collect();
    if names.len() > 8 {
        format!(
            "{} ... {} ({} in all)",
            names[..4].join(", "),
            names[names.len() - 1],
            names.len()
        )
    } else {
        names.join(", ")
    }
}
