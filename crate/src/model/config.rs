//! Keras `get_config()`-like description of one node: its hyperparameters in Keras'
//! words where Keras has them, its shapes at an input size, and what it reads.

use super::arch::ArchSpec;
use super::families;
use super::graph::{GraphSpec, Kind};
use super::summary::source_name;
use crate::error::Result;
use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LayerConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keras_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_size: Option<[usize; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<[usize; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strides: Option<[usize; 2]>,
    /// `same` (the output keeps the input's size at stride 1), `valid` (no padding), or
    /// the padding in pixels `[top/bottom, left/right]` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub padding: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dilation_rate: Option<[usize; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<usize>,
    /// torchvision keeps activations as separate nodes, so this is `linear` for
    /// convolutions and linear layers, the activation's name for activation nodes.
    pub activation: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_bias: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_size: Option<[usize; 2]>,
    pub input_shape: Vec<usize>,
    pub output_shape: Vec<usize>,
    pub params: usize,
    pub trainable: bool,
    /// The nodes this node reads.
    pub connected_to: Vec<String>,
}

/// `same`, `valid` or the pixels, for a window `k` (dilated by `d`) padded by `p`.
fn padding(k: (usize, usize), p: (usize, usize), d: (usize, usize)) -> serde_json::Value {
    if p == (0, 0) {
        "valid".into()
    } else if k.0 % 2 == 1 && k.1 % 2 == 1 && p == (d.0 * (k.0 - 1) / 2, d.1 * (k.1 - 1) / 2) {
        "same".into()
    } else {
        serde_json::json!([p.0, p.1])
    }
}

/// The config of node `name` of `graph` at an input of `size`.
pub fn node_config(
    spec: &ArchSpec,
    graph: &GraphSpec,
    name: &str,
    size: Option<(usize, usize)>,
) -> Result<LayerConfig> {
    let i = graph.node(name)?;
    let shapes = graph.shapes(size.unwrap_or((spec.size, spec.size)))?;
    let n = &graph.nodes[i];
    let input_shape = match n.inputs.first() {
        Some(super::graph::Src::Node(j)) => shapes[*j].clone(),
        _ => vec![
            spec.in_channels,
            size.map_or(spec.size, |s| s.0),
            size.map_or(spec.size, |s| s.1),
        ],
    };
    let mut c = LayerConfig {
        name: n.name.clone(),
        kind: n.kind.class(),
        keras_name: graph.keras_names.get(&i).cloned(),
        filters: None,
        units: None,
        kernel_size: None,
        pool_size: None,
        strides: None,
        padding: None,
        dilation_rate: None,
        groups: None,
        activation: "linear",
        use_bias: None,
        rate: None,
        epsilon: None,
        output_size: None,
        input_shape,
        output_shape: shapes[i].clone(),
        params: n.kind.param_count(),
        trainable: n.kind.param_count() > 0,
        connected_to: n.inputs.iter().map(|s| source_name(graph, *s)).collect(),
    };
    match &n.kind {
        Kind::Conv2d(cfg) => {
            c.filters = Some(cfg.out_channels);
            c.kernel_size = Some([cfg.kernel.0, cfg.kernel.1]);
            c.strides = Some([cfg.stride.0, cfg.stride.1]);
            c.padding = Some(padding(cfg.kernel, cfg.padding, cfg.dilation));
            c.dilation_rate = Some([cfg.dilation.0, cfg.dilation.1]);
            c.groups = Some(cfg.groups);
            c.use_bias = Some(cfg.bias);
        }
        Kind::PixelLinear { out_features, .. } => {
            c.units = Some(*out_features);
            c.use_bias = Some(true);
        }
        Kind::Linear {
            out_features, bias, ..
        } => {
            c.units = Some(*out_features);
            c.use_bias = Some(*bias);
        }
        Kind::MaxPool2d(p) | Kind::AvgPool2d(p) => {
            c.pool_size = Some([p.kernel.0, p.kernel.1]);
            c.strides = Some([p.stride.0, p.stride.1]);
            c.padding = Some(padding(p.kernel, p.padding, (1, 1)));
        }
        Kind::AdaptiveAvgPool2d { out } => c.output_size = Some([out.0, out.1]),
        Kind::BatchNorm2d { eps, .. } | Kind::LayerNorm2d { eps, .. } => c.epsilon = Some(*eps),
        Kind::Act(a) => c.activation = a.keras(),
        Kind::Dropout { p, .. } => c.rate = Some(*p),
        _ => {}
    }
    Ok(c)
}

/// The config of a layer of an architecture (no weights needed).
pub fn layer_config(
    spec: &ArchSpec,
    name: &str,
    size: Option<(usize, usize)>,
) -> Result<LayerConfig> {
    node_config(spec, &families::graph(spec)?, name, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_speak_keras() {
        let vgg = ArchSpec::parse("vgg16").unwrap();
        let conv = layer_config(&vgg, "block1_conv2", None).unwrap();
        assert_eq!(
            (conv.name.as_str(), conv.filters, conv.padding.clone()),
            ("features.2", Some(64), Some("same".into()))
        );
        let pool = layer_config(&vgg, "features.4", None).unwrap();
        assert_eq!(pool.padding, Some("valid".into()));
        let resnet = ArchSpec::parse("resnet50").unwrap();
        let c = layer_config(&resnet, "layer2.0.conv2", None).unwrap();
        assert_eq!(
            (c.strides, c.input_shape.clone(), c.output_shape.clone()),
            (Some([2, 2]), vec![128, 56, 56], vec![128, 28, 28])
        );
        let stem = layer_config(&resnet, "conv1", None).unwrap();
        assert_eq!(stem.padding, Some("same".into()));
        let dw = layer_config(
            &ArchSpec::parse("mobilenet_v2").unwrap(),
            "features.2.conv.1.0",
            None,
        )
        .unwrap();
        assert_eq!((dw.groups, dw.strides), (Some(96), Some([2, 2])));
        let relu6 = layer_config(
            &ArchSpec::parse("mobilenet_v2").unwrap(),
            "features.2.conv.1.2",
            None,
        )
        .unwrap();
        assert_eq!(relu6.activation, "relu6");
    }
}
