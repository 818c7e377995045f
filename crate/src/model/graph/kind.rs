//! What a node computes, without its weights: the operation and its hyperparameters, the
//! shape it makes from its inputs' shapes, and the name PyTorch gives its module class.
//! Shapes leave the batch out: `[C, H, W]` for maps, `[F]` for flat features.

use serde::Serialize;

/// Height and width of a kernel, stride, padding or dilation.
pub type Pair = (usize, usize);

/// `nn.Conv2d`'s hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ConvCfg {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: Pair,
    pub stride: Pair,
    pub padding: Pair,
    pub dilation: Pair,
    pub groups: usize,
    pub bias: bool,
}

impl ConvCfg {
    /// A square `k x k` convolution with stride `s` and padding `p`, no groups, no bias
    /// (torchvision's convolutions before a batch norm).
    pub fn square(in_channels: usize, out_channels: usize, k: usize, s: usize, p: usize) -> Self {
        ConvCfg {
            in_channels,
            out_channels,
            kernel: (k, k),
            stride: (s, s),
            padding: (p, p),
            dilation: (1, 1),
            groups: 1,
            bias: false,
        }
    }

    pub fn groups(self, groups: usize) -> Self {
        ConvCfg { groups, ..self }
    }

    pub fn bias(self, bias: bool) -> Self {
        ConvCfg { bias, ..self }
    }

    /// `[out, in / groups, kh, kw]`.
    pub fn weight_shape(&self) -> Vec<usize> {
        vec![
            self.out_channels,
            self.in_channels / self.groups.max(1),
            self.kernel.0,
            self.kernel.1,
        ]
    }

    pub fn is_depthwise(&self) -> bool {
        self.groups > 1 && self.groups == self.in_channels && self.groups == self.out_channels
    }
}

/// `nn.MaxPool2d` / `nn.AvgPool2d` hyperparameters (PyTorch's output-size rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PoolCfg {
    pub kernel: Pair,
    pub stride: Pair,
    pub padding: Pair,
    pub ceil_mode: bool,
    /// Average pool only: padded zeros count in the divisor (PyTorch's default).
    pub count_include_pad: bool,
}

impl PoolCfg {
    pub fn square(k: usize, s: usize, p: usize) -> Self {
        PoolCfg {
            kernel: (k, k),
            stride: (s, s),
            padding: (p, p),
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    /// Output length along one axis, as PyTorch's `pooling_output_shape`: floor (or
    /// ceil) of `(len + 2p - k) / s + 1`, where a last window that would start in the
    /// right padding is dropped in ceil mode.
    pub fn out_len(len: usize, k: usize, s: usize, p: usize, ceil: bool) -> Option<usize> {
        let span = (len + 2 * p).checked_sub(k)?;
        let mut out = if ceil { span.div_ceil(s) } else { span / s } + 1;
        if ceil && (out - 1) * s >= len + p {
            out -= 1;
        }
        Some(out)
    }
}

/// Elementwise activations. The guided-backprop rule applies to `Relu` only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Activation {
    Relu,
    Relu6,
    Silu,
    Sigmoid,
    Hardswish,
    Hardsigmoid,
    /// The exact form, `x * Phi(x)` with the normal CDF through erf.
    Gelu,
}

impl Activation {
    /// PyTorch's module class name.
    pub fn class(&self) -> &'static str {
        match self {
            Activation::Relu => "ReLU",
            Activation::Relu6 => "ReLU6",
            Activation::Silu => "SiLU",
            Activation::Sigmoid => "Sigmoid",
            Activation::Hardswish => "Hardswish",
            Activation::Hardsigmoid => "Hardsigmoid",
            Activation::Gelu => "GELU",
        }
    }

    /// Keras' name for the activation (its `get_config()["activation"]`).
    pub fn keras(&self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::Silu => "swish",
            Activation::Sigmoid => "sigmoid",
            Activation::Hardswish => "hard_swish",
            Activation::Hardsigmoid => "hard_sigmoid",
            Activation::Gelu => "gelu",
        }
    }
}

/// The operation of a node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Kind {
    Conv2d(ConvCfg),
    /// Eval-mode batch norm with the module's own eps.
    BatchNorm2d {
        channels: usize,
        eps: f64,
    },
    /// Layer norm over the channels of each pixel (ConvNeXt's `LayerNorm2d`, and its
    /// channels-last `nn.LayerNorm` between permutes).
    LayerNorm2d {
        channels: usize,
        eps: f64,
    },
    /// ConvNeXt's learned per-channel scale, `gamma[c] * x`.
    LayerScale {
        channels: usize,
    },
    Act(Activation),
    /// Elementwise sum of two equal shapes (residual connections).
    Add,
    /// Product of a map and a per-channel `[C, 1, 1]` scale or an equal shape
    /// (squeeze-and-excitation).
    Mul,
    /// Concatenation along the channels (DenseNet).
    Concat,
    MaxPool2d(PoolCfg),
    AvgPool2d(PoolCfg),
    AdaptiveAvgPool2d {
        out: Pair,
    },
    Flatten,
    /// `nn.Linear`; a `[C, H, W]` input is flattened first (torchvision's `torch.flatten`
    /// before the classifier).
    Linear {
        in_features: usize,
        out_features: usize,
        bias: bool,
    },
    /// `nn.Linear` on the channels of every pixel (ConvNeXt's channels-last MLP): a 1x1
    /// convolution with a `[out, in]` weight.
    PixelLinear {
        in_features: usize,
        out_features: usize,
    },
    /// Identity at inference: dropout (`p`), stochastic depth.
    Dropout {
        class: &'static str,
        p: f32,
    },
    /// The output of a block (a module made of other nodes, e.g. `layer4.1`): the
    /// identity, named so that the block can be chosen as a layer.
    Block {
        class: String,
    },
}

impl Kind {
    /// PyTorch's class name of the module (what the summary's "type" column shows).
    pub fn class(&self) -> String {
        match self {
            Kind::Conv2d(_) => "Conv2d".into(),
            Kind::BatchNorm2d { .. } => "BatchNorm2d".into(),
            Kind::LayerNorm2d { .. } => "LayerNorm2d".into(),
            Kind::LayerScale { .. } => "LayerScale".into(),
            Kind::Act(a) => a.class().into(),
            Kind::Add => "add".into(),
            Kind::Mul => "mul".into(),
            Kind::Concat => "cat".into(),
            Kind::MaxPool2d(_) => "MaxPool2d".into(),
            Kind::AvgPool2d(_) => "AvgPool2d".into(),
            Kind::AdaptiveAvgPool2d { .. } => "AdaptiveAvgPool2d".into(),
            Kind::Flatten => "Flatten".into(),
            Kind::Linear { .. } | Kind::PixelLinear { .. } => "Linear".into(),
            Kind::Dropout { class, .. } => (*class).into(),
            Kind::Block { class } => class.clone(),
        }
    }

    /// Whether the node mixes the whole map into one value per channel or feature (global
    /// pooling, flatten, linear): where a classifier head begins.
    pub fn mixes_map(&self) -> bool {
        matches!(
            self,
            Kind::AdaptiveAvgPool2d { .. } | Kind::Flatten | Kind::Linear { .. }
        )
    }

    /// How many inputs the node takes.
    pub fn arity(&self) -> std::ops::RangeInclusive<usize> {
        match self {
            Kind::Add | Kind::Mul => 2..=2,
            Kind::Concat => 1..=usize::MAX,
            _ => 1..=1,
        }
    }

    /// The output shape from the inputs' shapes, or why the inputs do not fit.
    pub fn output_shape(&self, inputs: &[&[usize]]) -> Result<Vec<usize>, String> {
        if !self.arity().contains(&inputs.len()) {
            return Err(format!(
                "takes {:?} inputs, got {}",
                self.arity(),
                inputs.len()
            ));
        }
        let x = inputs[0];
        let map = |what: &str| -> Result<(usize, usize, usize), String> {
            match x {
                [c, h, w] => Ok((*c, *h, *w)),
                _ => Err(format!("{what} needs a [C, H, W] map, got {x:?}")),
            }
        };
        let channels = |want: usize| -> Result<(usize, usize, usize), String> {
            let (c, h, w) = map(&self.class())?;
            if c != want {
                return Err(format!("expects {want} channels, got {c} ({x:?})"));
            }
            Ok((c, h, w))
        };
        match self {
            Kind::Conv2d(cfg) => {
                let (_, h, w) = channels(cfg.in_channels)?;
                let len = |len: usize, k: usize, s: usize, p: usize, d: usize| {
                    let span = d * (k - 1) + 1;
                    (len + 2 * p).checked_sub(span).map(|v| v / s + 1)
                };
                match (
                    len(h, cfg.kernel.0, cfg.stride.0, cfg.padding.0, cfg.dilation.0),
                    len(w, cfg.kernel.1, cfg.stride.1, cfg.padding.1, cfg.dilation.1),
                ) {
                    (Some(oh), Some(ow)) => Ok(vec![cfg.out_channels, oh, ow]),
                    _ => Err(format!(
                        "a {}x{} kernel does not fit its {h}x{w} input",
                        cfg.kernel.0, cfg.kernel.1
                    )),
                }
            }
            Kind::BatchNorm2d { channels: c, .. }
            | Kind::LayerNorm2d { channels: c, .. }
            | Kind::LayerScale { channels: c } => {
                channels(*c)?;
                Ok(x.to_vec())
            }
            Kind::Act(_) | Kind::Dropout { .. } | Kind::Block { .. } => Ok(x.to_vec()),
            Kind::Add => {
                if inputs[1] != x {
                    return Err(format!("adds {x:?} and {:?}", inputs[1]));
                }
                Ok(x.to_vec())
            }
            Kind::Mul => {
                let s = inputs[1];
                let fits = s == x || (s.len() == 3 && x.len() == 3 && s == [x[0], 1, 1]);
                if !fits {
                    return Err(format!("multiplies {x:?} by {s:?}"));
                }
                Ok(x.to_vec())
            }
            Kind::Concat => {
                let (_, h, w) = map("cat")?;
                let mut c = 0;
                for s in inputs {
                    match s {
                        [ci, hi, wi] if *hi == h && *wi == w => c += ci,
                        _ => return Err(format!("concatenates {s:?} with {x:?}")),
                    }
                }
                Ok(vec![c, h, w])
            }
            Kind::MaxPool2d(p) | Kind::AvgPool2d(p) => {
                let (c, h, w) = map(&self.class())?;
                let oh = PoolCfg::out_len(h, p.kernel.0, p.stride.0, p.padding.0, p.ceil_mode);
                let ow = PoolCfg::out_len(w, p.kernel.1, p.stride.1, p.padding.1, p.ceil_mode);
                match (oh, ow) {
                    (Some(oh), Some(ow)) if oh > 0 && ow > 0 => Ok(vec![c, oh, ow]),
                    _ => Err(format!(
                        "a {}x{} window does not fit its {h}x{w} input",
                        p.kernel.0, p.kernel.1
                    )),
                }
            }
            Kind::AdaptiveAvgPool2d { out } => {
                let (c, h, w) = map("AdaptiveAvgPool2d")?;
                if h == 0 || w == 0 {
                    return Err(format!("pools an empty {h}x{w} map"));
                }
                Ok(vec![c, out.0, out.1])
            }
            Kind::Flatten => Ok(vec![x.iter().product()]),
            Kind::Linear {
                in_features,
                out_features,
                ..
            } => {
                let flat: usize = x.iter().product();
                if flat != *in_features {
                    return Err(format!(
                        "expects {in_features} features, got {flat} ({x:?})"
                    ));
                }
                Ok(vec![*out_features])
            }
            Kind::PixelLinear {
                in_features,
                out_features,
            } => {
                let (_, h, w) = channels(*in_features)?;
                Ok(vec![*out_features, h, w])
            }
        }
    }

    /// Parameters of the node's own tensors (buffers such as running statistics count
    /// as non-trainable in Keras and are left out here, as PyTorch's `parameters()`).
    pub fn param_count(&self) -> usize {
        match self {
            Kind::Conv2d(c) => {
                c.weight_shape().iter().product::<usize>() + if c.bias { c.out_channels } else { 0 }
            }
            Kind::BatchNorm2d { channels, .. } | Kind::LayerNorm2d { channels, .. } => 2 * channels,
            Kind::LayerScale { channels } => *channels,
            Kind::Linear {
                in_features,
                out_features,
                bias,
            } => in_features * out_features + if *bias { *out_features } else { 0 },
            Kind::PixelLinear {
                in_features,
                out_features,
            } => in_features * out_features + out_features,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_output_sizes_follow_pytorch() {
        // ResNet's stem: 7x7, stride 2, padding 3 on 224 -> 112.
        let stem = Kind::Conv2d(ConvCfg::square(3, 64, 7, 2, 3));
        assert_eq!(
            stem.output_shape(&[&[3, 224, 224]]).unwrap(),
            [64, 112, 112]
        );
        // ConvNeXt's patchify stem: 4x4, stride 4 on 224 -> 56; on 7 -> 1.
        let patch = Kind::Conv2d(ConvCfg::square(3, 96, 4, 4, 0));
        assert_eq!(patch.output_shape(&[&[3, 7, 7]]).unwrap(), [96, 1, 1]);
        assert!(patch.output_shape(&[&[3, 3, 3]]).is_err());
        // Dilation 2 widens a 3x3 kernel to 5x5.
        let mut dil = ConvCfg::square(8, 8, 3, 1, 0);
        dil.dilation = (2, 2);
        assert_eq!(
            Kind::Conv2d(dil).output_shape(&[&[8, 9, 9]]).unwrap(),
            [8, 5, 5]
        );
        assert!(Kind::Conv2d(dil)
            .output_shape(&[&[4, 9, 9]])
            .unwrap_err()
            .contains("expects 8 channels"));
    }

    #[test]
    fn pool_output_sizes_follow_pytorch_ceil_mode() {
        // nn.MaxPool2d(3, 2, 1) on 112 -> 56 (ResNet); ceil mode on 6 with k2 s2 p0 -> 3,
        // on 5 -> 3 (the last window starts inside the input).
        assert_eq!(PoolCfg::out_len(112, 3, 2, 1, false), Some(56));
        assert_eq!(PoolCfg::out_len(5, 2, 2, 0, false), Some(2));
        assert_eq!(PoolCfg::out_len(5, 2, 2, 0, true), Some(3));
        // torch: MaxPool2d(2, 2, padding=1, ceil_mode=True) on 5 -> 3: the fourth window
        // would start at 6, in the right padding, and is dropped.
        assert_eq!(PoolCfg::out_len(5, 2, 2, 1, true), Some(3));
        assert_eq!(PoolCfg::out_len(4, 3, 2, 1, true), Some(3));
        assert_eq!(PoolCfg::out_len(1, 3, 2, 0, false), None);
    }

    #[test]
    fn merges_check_their_inputs() {
        assert_eq!(
            Kind::Add.output_shape(&[&[4, 2, 2], &[4, 2, 2]]).unwrap(),
            [4, 2, 2]
        );
        assert!(Kind::Add.output_shape(&[&[4, 2, 2], &[4, 1, 1]]).is_err());
        assert_eq!(
            Kind::Mul.output_shape(&[&[4, 2, 2], &[4, 1, 1]]).unwrap(),
            [4, 2, 2]
        );
        assert_eq!(
            Kind::Concat
                .output_shape(&[&[4, 2, 2], &[3, 2, 2], &[1, 2, 2]])
                .unwrap(),
            [8, 2, 2]
        );
        assert!(Kind::Concat
            .output_shape(&[&[4, 2, 2], &[3, 1, 2]])
            .is_err());
    }
}
