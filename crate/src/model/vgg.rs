//! The VGG-family network as an explicit list of named layers, with forward passes over
//! any range of layers and the reverse pass for input and activation gradients.

use super::arch::{ArchSpec, CfgItem};
use super::layers::{Conv2d, Layer, Linear, Op, ReluGrad};
use super::{params, synthetic, weights};
use crate::error::{Error, Result};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug)]
pub struct Vgg {
    spec: ArchSpec,
    layers: Vec<Layer>,
}

/// The outputs of every layer of one forward pass, kept for the reverse pass.
#[derive(Debug)]
pub struct Trace {
    pub input: Tensor,
    /// `outputs[i]` is the output of layer `i`; the trace may stop before the last layer.
    pub outputs: Vec<Tensor>,
}

impl Trace {
    /// The input of layer `i`.
    pub fn input_of(&self, i: usize) -> &Tensor {
        if i == 0 {
            &self.input
        } else {
            &self.outputs[i - 1]
        }
    }
}

impl Vgg {
    /// Builds the network from torchvision-named f32 parameters (all must be present).
    fn from_params(spec: &ArchSpec, mut p: HashMap<String, Tensor>) -> Result<Vgg> {
        let mut take = |name: String| {
            p.remove(&name).ok_or_else(|| Error::MissingTensor {
                name,
                expected: vec![],
            })
        };
        let mut layers = Vec::new();
        let mut idx = 0;
        let named = |name: String, op: Op| Layer { name, op };
        for item in spec.cfg() {
            match item {
                CfgItem::Pool => {
                    layers.push(named(format!("features.{idx}"), Op::MaxPool2d));
                    idx += 1;
                }
                CfgItem::Conv(_) => {
                    let conv = Conv2d::new(
                        take(format!("features.{idx}.weight"))?,
                        take(format!("features.{idx}.bias"))?,
                    )?;
                    layers.push(named(format!("features.{idx}"), Op::Conv2d(conv)));
                    layers.push(named(format!("features.{}", idx + 1), Op::Relu));
                    idx += 2;
                }
            }
        }
        layers.push(named(
            "avgpool".into(),
            Op::AdaptiveAvgPool2d { size: spec.pool() },
        ));
        for (i, (module, _, _)) in params::linears(spec).into_iter().enumerate() {
            let weight = take(format!("{module}.weight"))?;
            let weight = weight.reshape((weight.dims()[0], ()))?; // timm stores fc1/fc2 as convs
            let bias = take(format!("{module}.bias"))?;
            layers.push(named(module, Op::Linear(Linear { weight, bias })));
            if i < 2 {
                layers.push(named(format!("classifier.{}", 3 * i + 1), Op::Relu));
                layers.push(named(format!("classifier.{}", 3 * i + 2), Op::Dropout));
            }
        }
        Ok(Vgg {
            spec: spec.clone(),
            layers,
        })
    }

    /// Loads safetensors bytes (torchvision or timm names; f32, f16 or bf16). The bytes
    /// are consumed and freed once the f32 tensors exist.
    pub fn from_safetensors_bytes(spec: &ArchSpec, bytes: Vec<u8>) -> Result<Vgg> {
        let p = weights::read(spec, &bytes)?;
        drop(bytes);
        Self::from_params(spec, p)
    }

    pub fn from_safetensors_file(spec: &ArchSpec, path: &Path) -> Result<Vgg> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_safetensors_bytes(spec, bytes).map_err(|e| match e {
            Error::WeightsFile(m) => Error::WeightsFile(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// The fixtures' deterministic weights for `seed` (see [`synthetic`]).
    pub fn synthetic(spec: &ArchSpec, seed: u64) -> Result<Vgg> {
        let mut p = HashMap::new();
        for (name, shape, values) in synthetic::weights(spec, seed) {
            p.insert(name, Tensor::from_vec(values, shape, &Device::Cpu)?);
        }
        Self::from_params(spec, p)
    }

    /// A copy in which the layers named in `new` get new `(weight, bias)` tensors of the
    /// same shapes (the sanity checks' cascading randomisation); every other layer shares
    /// its tensors with `self`.
    pub fn with_params(&self, new: &HashMap<String, (Tensor, Tensor)>) -> Result<Vgg> {
        let mut layers = self.layers.clone();
        for (name, (weight, bias)) in new {
            let layer = &mut layers[self.layer_index(name)?];
            let Some((w0, b0)) = layer.params() else {
                return Err(Error::Input(format!("layer `{name}` has no parameters")));
            };
            for (what, new, old) in [("weight", weight, w0), ("bias", bias, b0)] {
                if new.dims() != old.dims() {
                    return Err(Error::TensorShape {
                        name: format!("{name}.{what}"),
                        expected: old.dims().to_vec(),
                        found: new.dims().to_vec(),
                    });
                }
            }
            layer.op = match &layer.op {
                Op::Conv2d(_) => Op::Conv2d(Conv2d::new(weight.clone(), bias.clone())?),
                _ => Op::Linear(Linear {
                    weight: weight.clone(),
                    bias: bias.clone(),
                }),
            };
        }
        Ok(Vgg {
            spec: self.spec.clone(),
            layers,
        })
    }

    pub fn spec(&self) -> &ArchSpec {
        &self.spec
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Index of the layer with this torchvision name (`features.29`, `avgpool`,
    /// `classifier.6`); `input` is not a layer.
    pub fn layer_index(&self, name: &str) -> Result<usize> {
        self.layers
            .iter()
            .position(|l| l.name == name)
            .ok_or_else(|| Error::UnknownLayer {
                name: name.to_string(),
                known: layer_range_text(&self.layers),
            })
    }

    /// Checks that `x` is `[N, C, H, W]` with this model's channels and a size every
    /// pooling stage can take.
    pub fn check_input(&self, x: &Tensor) -> Result<()> {
        let dims = x.dims();
        let [n, c, h, w] = dims else {
            return Err(Error::Input(format!(
                "expected a [N, C, H, W] tensor, got shape {dims:?}"
            )));
        };
        if *n == 0 {
            return Err(Error::Input("the batch is empty (N = 0)".into()));
        }
        if *c != self.spec.in_channels {
            return Err(Error::Input(format!(
                "input has {c} channel(s), but the model takes {} (shape {dims:?})",
                self.spec.in_channels
            )));
        }
        let min = self.spec.min_input_size();
        if *h < min || *w < min {
            return Err(Error::Input(format!(
                "input {h}x{w} is too small: the model has {} max-pool stages and needs at least {min}x{min}",
                self.spec.pool_stages()
            )));
        }
        if x.dtype() != candle_core::DType::F32 {
            return Err(Error::Input(format!(
                "input must be float32, got {:?}",
                x.dtype()
            )));
        }
        // Every layer's output at this size, for every image: what a traced pass keeps.
        let per_image: u64 = super::summary::summarize(&self.spec, Some((*h, *w)))?
            .layers
            .iter()
            .map(|l| l.output_shape.iter().map(|d| *d as u64).product::<u64>())
            .fold(0u64, u64::saturating_add);
        crate::limits::check_trace(per_image.saturating_mul(4 * *n as u64), || {
            format!("a batch of {n} {c}x{h}x{w} input(s)")
        })
    }

    /// Runs layers `from..to` on `x` (the input of layer `from`).
    pub fn forward_range(&self, x: &Tensor, from: usize, to: usize) -> Result<Tensor> {
        if from > to || to > self.layers.len() {
            return Err(Error::Input(format!(
                "layer range {from}..{to} is outside 0..{}",
                self.layers.len()
            )));
        }
        if from == 0 {
            self.check_input(x)?;
        }
        let mut x = x.clone();
        let mut i = from;
        while i < to {
            // A conv and the ReLU after it run as one pass: no pre-activation is kept here.
            if let (Op::Conv2d(conv), Some(Op::Relu)) = (
                &self.layers[i].op,
                self.layers[i + 1..to].first().map(|l| &l.op),
            ) {
                x = conv.forward_relu(&x)?;
                i += 2;
                continue;
            }
            x = self.layers[i].forward(&x)?;
            i += 1;
        }
        Ok(x)
    }

    /// The first layer that mixes the whole map (average pool or linear): where the
    /// features end and the classifier head begins. Methods that run many copies of an
    /// input run the head apart, on many copies at once: its first linear layer reads
    /// all its weights (400 MB in VGG16) per call, whatever the batch.
    pub fn head_start(&self) -> usize {
        self.layers
            .iter()
            .position(|l| matches!(l.op, Op::AdaptiveAvgPool2d { .. } | Op::Linear(_)))
            .unwrap_or(self.layers.len())
    }

    /// Logits `[N, classes]` from the head's input (the output of the features).
    pub fn head(&self, features: &Tensor) -> Result<Tensor> {
        self.forward_range(features, self.head_start(), self.layers.len())
    }

    /// Logits `[N, classes]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_range(x, 0, self.layers.len())
    }

    /// Forward pass through layers `0..to`, keeping every output.
    pub fn trace(&self, x: &Tensor, to: usize) -> Result<Trace> {
        self.check_input(x)?;
        if to > self.layers.len() {
            return Err(Error::Input(format!(
                "layer {to} is outside 0..{}",
                self.layers.len()
            )));
        }
        let mut outputs = Vec::with_capacity(to);
        let mut cur = x.clone();
        for layer in &self.layers[..to] {
            cur = layer.forward(&cur)?;
            outputs.push(cur.clone());
        }
        Ok(Trace {
            input: x.clone(),
            outputs,
        })
    }

    /// Reverse pass: given `grad`, the gradient of a score with respect to the output
    /// of layer `top`, returns the gradient with respect to the input of layer `until`
    /// (the model input when `until == 0`; the output of layer `L` when `until == L + 1`).
    /// Only input and activation gradients are computed, never weight gradients.
    pub fn backward(
        &self,
        trace: &Trace,
        top: usize,
        grad: &Tensor,
        until: usize,
        relu: ReluGrad,
    ) -> Result<Tensor> {
        if top >= trace.outputs.len() || until > top + 1 {
            return Err(Error::Input(format!(
                "reverse pass from layer {top} to {until} is outside the traced layers 0..{}",
                trace.outputs.len()
            )));
        }
        let mut g = grad.clone();
        for i in (until..=top).rev() {
            g = self.layers[i].backward(trace.input_of(i), &trace.outputs[i], &g, relu)?;
        }
        Ok(g)
    }

    /// The gradient of the logit of `target` with respect to the input (batch 1) and the
    /// logits: vanilla saliency's raw material.
    pub fn input_gradient(
        &self,
        x: &Tensor,
        target: usize,
        relu: ReluGrad,
    ) -> Result<(Tensor, Tensor)> {
        let trace = self.trace(x, self.layers.len())?;
        let last = self.layers.len() - 1;
        let logits = trace.outputs[last].clone();
        let grad = one_hot(&logits, target)?;
        Ok((self.backward(&trace, last, &grad, 0, relu)?, logits))
    }
}

/// A gradient seed of the logits' shape: 1 at `target` in every batch row, 0 elsewhere.
pub fn one_hot(logits: &Tensor, target: usize) -> Result<Tensor> {
    let (n, classes) = logits.dims2()?;
    if target >= classes {
        return Err(Error::Input(format!(
            "target class {target} is out of range: the model has {classes} classes (0..{})",
            classes - 1
        )));
    }
    let mut v = vec![0f32; n * classes];
    for row in 0..n {
        v[row * classes + target] = 1.0;
    }
    Ok(Tensor::from_vec(v, (n, classes), &Device::Cpu)?)
}

/// "features.0..features.30, avgpool, classifier.0..classifier.6" for error messages.
fn layer_range_text(layers: &[Layer]) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for l in layers {
        let prefix = l.name.split('.').next().unwrap_or("").to_string();
        match groups.last_mut() {
            Some((p, names)) if *p == prefix => names.push(&l.name),
            _ => groups.push((prefix, vec![&l.name])),
        }
    }
    groups
        .iter()
        .map(|(_, names)| match names.as_slice() {
            [one] => one.to_string(),
            [first, .., last] => format!("{first}..{last}"),
            [] => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
