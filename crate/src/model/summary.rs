//! The Keras-style `model.summary()` and per-layer `get_config()`, computed from the
//! architecture alone (no weights needed), plus weight statistics when weights exist.

use super::arch::{ArchSpec, CfgItem};
use super::layers::Layer;
use super::params;
use super::vgg::Vgg;
use crate::error::{Error, Result};
use serde::Serialize;

/// One row of the summary table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LayerSummary {
    /// torchvision module path.
    pub name: String,
    /// PyTorch class name (`Conv2d`, `ReLU`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// `[C, H, W]` for feature layers, `[F]` for the classifier (batch left out).
    pub output_shape: Vec<usize>,
    pub params: usize,
    /// The matching layer of Keras' VGG (`block1_conv1`, `fc1`, `predictions`), whose
    /// convolutions carry their ReLU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keras_name: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    pub arch: String,
    pub input_shape: Vec<usize>,
    pub layers: Vec<LayerSummary>,
    pub total_params: usize,
    pub trainable_params: usize,
}

/// Static description of each layer in order: (name, type, keras name, config).
struct Planned {
    name: String,
    kind: &'static str,
    keras_name: Option<String>,
    config: LayerConfig,
}

/// Keras `get_config()`-like description of one layer.
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
    /// `same` (3x3 conv, padding 1) or `valid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub padding: Option<&'static str>,
    /// torchvision keeps activations as separate layers, so this is `linear` for convs
    /// and linears, `relu` for ReLU layers.
    pub activation: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_bias: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_size: Option<[usize; 2]>,
    pub input_shape: Vec<usize>,
    pub output_shape: Vec<usize>,
    pub params: usize,
    pub trainable: bool,
}

fn plan(spec: &ArchSpec, (h, w): (usize, usize)) -> Result<Vec<Planned>> {
    let min = spec.min_input_size();
    if h < min || w < min {
        return Err(Error::Input(format!(
            "input {h}x{w} is too small: the model has {} max-pool stages and needs at least {min}x{min}",
            spec.pool_stages()
        )));
    }
    let mut out = Vec::new();
    let mut shape = vec![spec.in_channels, h, w];
    let (mut idx, mut block, mut conv_in_block) = (0, 1, 0);
    let base = |name: String,
                kind: &'static str,
                keras: Option<String>,
                input: &[usize],
                output: Vec<usize>,
                params: usize| Planned {
        name: name.clone(),
        kind,
        keras_name: keras.clone(),
        config: LayerConfig {
            name,
            kind: kind.into(),
            keras_name: keras,
            filters: None,
            units: None,
            kernel_size: None,
            pool_size: None,
            strides: None,
            padding: None,
            activation: "linear",
            use_bias: None,
            rate: None,
            output_size: None,
            input_shape: input.to_vec(),
            output_shape: output,
            params,
            trainable: params > 0,
        },
    };
    for item in spec.cfg() {
        match item {
            CfgItem::Conv(c) => {
                conv_in_block += 1;
                let output = vec![*c, shape[1], shape[2]];
                let mut p = base(
                    format!("features.{idx}"),
                    "Conv2d",
                    Some(format!("block{block}_conv{conv_in_block}")),
                    &shape,
                    output.clone(),
                    c * shape[0] * 9 + c,
                );
                p.config.filters = Some(*c);
                p.config.kernel_size = Some([3, 3]);
                p.config.strides = Some([1, 1]);
                p.config.padding = Some("same");
                p.config.use_bias = Some(true);
                out.push(p);
                let mut r = base(
                    format!("features.{}", idx + 1),
                    "ReLU",
                    None,
                    &output,
                    output.clone(),
                    0,
                );
                r.config.activation = "relu";
                out.push(r);
                shape = output;
                idx += 2;
            }
            CfgItem::Pool => {
                let output = vec![shape[0], shape[1] / 2, shape[2] / 2];
                let mut p = base(
                    format!("features.{idx}"),
                    "MaxPool2d",
                    Some(format!("block{block}_pool")),
                    &shape,
                    output.clone(),
                    0,
                );
                p.config.pool_size = Some([2, 2]);
                p.config.strides = Some([2, 2]);
                p.config.padding = Some("valid");
                out.push(p);
                shape = output;
                idx += 1;
                block += 1;
                conv_in_block = 0;
            }
        }
    }
    let pooled = vec![shape[0], spec.pool(), spec.pool()];
    let mut a = base(
        "avgpool".into(),
        "AdaptiveAvgPool2d",
        None,
        &shape,
        pooled.clone(),
        0,
    );
    a.config.output_size = Some([spec.pool(), spec.pool()]);
    out.push(a);
    shape = vec![pooled.iter().product()];
    for (i, (module, fin, fout)) in params::linears(spec).into_iter().enumerate() {
        let keras = ["fc1", "fc2", "predictions"][i];
        let mut l = base(
            module,
            "Linear",
            Some(keras.into()),
            &shape,
            vec![fout],
            fin * fout + fout,
        );
        l.config.units = Some(fout);
        l.config.use_bias = Some(true);
        out.push(l);
        shape = vec![fout];
        if i < 2 {
            let mut r = base(
                format!("classifier.{}", 3 * i + 1),
                "ReLU",
                None,
                &shape,
                shape.clone(),
                0,
            );
            r.config.activation = "relu";
            out.push(r);
            let mut d = base(
                format!("classifier.{}", 3 * i + 2),
                "Dropout",
                None,
                &shape,
                shape.clone(),
                0,
            );
            d.config.rate = Some(0.5);
            out.push(d);
        }
    }
    Ok(out)
}

/// The summary for an input of `size` (height, width); the spec's own size if `None`.
pub fn summarize(spec: &ArchSpec, size: Option<(usize, usize)>) -> Result<Summary> {
    let size = size.unwrap_or((spec.size, spec.size));
    let layers: Vec<LayerSummary> = plan(spec, size)?
        .into_iter()
        .map(|p| LayerSummary {
            name: p.name,
            kind: p.kind.into(),
            output_shape: p.config.output_shape,
            params: p.config.params,
            keras_name: p.keras_name,
        })
        .collect();
    let total = layers.iter().map(|l| l.params).sum();
    Ok(Summary {
        arch: spec.to_string(),
        input_shape: vec![spec.in_channels, size.0, size.1],
        layers,
        total_params: total,
        trainable_params: total,
    })
}

/// `get_config()` of one layer at the given input size.
pub fn layer_config(
    spec: &ArchSpec,
    name: &str,
    size: Option<(usize, usize)>,
) -> Result<LayerConfig> {
    let planned = plan(spec, size.unwrap_or((spec.size, spec.size)))?;
    let known = planned.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    planned
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| p.config)
        .ok_or_else(|| Error::UnknownLayer {
            name: name.into(),
            known: format!(
                "{} .. {}",
                known.first().cloned().unwrap_or_default(),
                known.last().cloned().unwrap_or_default()
            ),
        })
}

/// Statistics of one parameter tensor.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TensorStats {
    pub shape: Vec<usize>,
    pub count: usize,
    pub min: f32,
    pub max: f32,
    pub mean: f32,
    pub std: f32,
    /// Fraction of exact zeros (pruned or dead weights show up here).
    pub zero_fraction: f32,
}

fn stats(t: &candle_core::Tensor) -> Result<TensorStats> {
    let v = t.flatten_all()?.to_vec1::<f32>()?;
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|x| *x as f64).sum::<f64>() / n;
    let var = v.iter().map(|x| (*x as f64 - mean).powi(2)).sum::<f64>() / n;
    Ok(TensorStats {
        shape: t.dims().to_vec(),
        count: v.len(),
        min: v.iter().copied().fold(f32::INFINITY, f32::min),
        max: v.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        mean: mean as f32,
        std: var.sqrt() as f32,
        zero_fraction: (v.iter().filter(|x| **x == 0.0).count() as f64 / n) as f32,
    })
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WeightStats {
    pub weight: TensorStats,
    pub bias: TensorStats,
}

/// Weight and bias statistics of a layer with parameters, `None` for the others.
pub fn weight_stats(layer: &Layer) -> Result<Option<WeightStats>> {
    match layer.params() {
        Some((w, b)) => Ok(Some(WeightStats {
            weight: stats(w)?,
            bias: stats(b)?,
        })),
        None => Ok(None),
    }
}

/// Config of a layer of a loaded model, with its weight statistics.
pub fn inspect(
    model: &Vgg,
    name: &str,
    size: Option<(usize, usize)>,
) -> Result<(LayerConfig, Option<WeightStats>)> {
    let idx = model.layer_index(name)?;
    let config = layer_config(model.spec(), name, size)?;
    Ok((config, weight_stats(&model.layers()[idx])?))
}

/// `1,234,567`: Keras prints parameter counts with thousands separators.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The summary as a Keras-style text table.
pub fn render_table(s: &Summary) -> String {
    let shape = |v: &[usize]| {
        format!(
            "({})",
            v.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut out = format!(
        "Model: \"{}\"  input {}\n{:<34}{:<22}{:>14}  {}\n{}\n",
        s.arch,
        shape(&s.input_shape),
        "Layer (type)",
        "Output Shape",
        "Param #",
        "Keras",
        "=".repeat(84)
    );
    for l in &s.layers {
        let row = format!(
            "{:<34}{:<22}{:>14}  {}",
            format!("{} ({})", l.name, l.kind),
            shape(&l.output_shape),
            thousands(l.params),
            l.keras_name.as_deref().unwrap_or("")
        );
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "{}\nTotal params: {}\nTrainable params: {}\nNon-trainable params: 0\n",
        "=".repeat(84),
        thousands(s.total_params),
        thousands(s.trainable_params)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_layers_match_the_model_layers() {
        let spec = ArchSpec::parse("tiny").unwrap();
        let model = Vgg::synthetic(&spec, 3).unwrap();
        let s = summarize(&spec, None).unwrap();
        let names: Vec<&str> = model.layers().iter().map(|l| l.name.as_str()).collect();
        let summary_names: Vec<&str> = s.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, summary_names);
        assert_eq!(s.total_params, params::count(&spec));
        for (l, row) in model.layers().iter().zip(&s.layers) {
            assert_eq!(l.kind(), row.kind);
        }
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(138357544), "138,357,544");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }
}
