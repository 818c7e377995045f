//! The operations of the layer graph with their weights bound: each computes its output
//! from its inputs' values and, for the reverse pass, the gradient with respect to every
//! input (never with respect to its weights: explanations need only input and activation
//! gradients). Values are `[N, ...]` f32 arrays with their shapes; `model::graph` keeps
//! them in tensors.

pub mod act;
pub mod conv;
mod fastmath;
pub mod gemm;
pub mod merge;
pub mod norm;
pub mod output;
pub mod pooling;
#[cfg(target_arch = "x86_64")]
mod stem_pool;
pub(crate) mod wide;

use super::graph::{Activation, ConvCfg, Kind, PoolCfg};
use crate::error::{Error, Result};
use conv::Conv;
use norm::{ChannelAffine, LayerNorm2d};

/// How the reverse pass treats ReLUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReluGrad {
    /// `g * [x > 0]`: the true gradient (ReLU'(0) = 0, as PyTorch).
    #[default]
    Plain,
    /// `relu(g) * [x > 0]`: guided backpropagation (Springenberg et al. 2015), at ReLUs
    /// only.
    Guided,
}

/// A value flowing through the graph: `[N, ...]` in row-major order.
#[derive(Clone, Debug)]
pub struct Value<'a> {
    pub data: &'a [f32],
    /// With the batch first.
    pub shape: &'a [usize],
}

impl Value<'_> {
    fn n(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Height and width of a `[N, C, H, W]` value (1 x 1 for flat ones).
    fn hw(&self) -> (usize, usize) {
        match self.shape {
            [_, _, h, w] => (*h, *w),
            _ => (1, 1),
        }
    }

    fn channels(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(1)
    }

    /// Values per channel of one image.
    pub(crate) fn plane(&self) -> usize {
        let (h, w) = self.hw();
        h * w
    }
}

/// A bound operation.
#[derive(Debug)]
pub enum Op {
    Conv(Conv),
    /// Eval-mode batch norm: its tensors as loaded (for the inspector) and its map.
    BatchNorm {
        tensors: [Vec<f32>; 4],
        affine: ChannelAffine,
    },
    LayerNorm(LayerNorm2d),
    LayerScale(ChannelAffine),
    Act(Activation),
    Add,
    Mul,
    Concat,
    MaxPool(PoolCfg),
    AvgPool(PoolCfg),
    Adaptive((usize, usize)),
    Flatten,
    /// `[out, in]` weight and bias.
    Linear {
        weight: Vec<f32>,
        bias: Vec<f32>,
        in_features: usize,
    },
    /// Dropout, stochastic depth, a block's output.
    Identity,
}

/// The tensors a node's kind needs, in the order [`crate::model::graph::NodeSpec::params`] names them.
pub type Params = Vec<Vec<f32>>;

fn take<const N: usize>(kind: &Kind, params: Params) -> Result<[Vec<f32>; N]> {
    <[Vec<f32>; N]>::try_from(params).map_err(|p| {
        Error::Input(format!(
            "{} needs {N} tensors, got {}",
            kind.class(),
            p.len()
        ))
    })
}

impl Op {
    /// The operation of `kind` with its tensors (already checked against the shapes).
    pub fn bind(kind: &Kind, params: Params) -> Result<Op> {
        Ok(match kind {
            Kind::Conv2d(cfg) => {
                let mut params = params.into_iter();
                let weight = params.next().unwrap_or_default();
                Op::Conv(Conv::new(*cfg, weight, params.next())?)
            }
            Kind::PixelLinear {
                in_features,
                out_features,
            } => {
                let [weight, bias] = take(kind, params)?;
                let cfg = ConvCfg::square(*in_features, *out_features, 1, 1, 0).bias(true);
                Op::Conv(Conv::new(cfg, weight, Some(bias))?)
            }
            Kind::BatchNorm2d { eps, .. } => {
                let tensors = take::<4>(kind, params)?;
                let affine = ChannelAffine::batch_norm(
                    &tensors[0],
                    &tensors[1],
                    &tensors[2],
                    &tensors[3],
                    *eps,
                );
                Op::BatchNorm { tensors, affine }
            }
            Kind::LayerNorm2d { eps, .. } => {
                let [weight, bias] = take(kind, params)?;
                Op::LayerNorm(LayerNorm2d {
                    weight,
                    bias,
                    eps: *eps,
                })
            }
            Kind::LayerScale { .. } => {
                let [scale] = take(kind, params)?;
                Op::LayerScale(ChannelAffine::scale_only(&scale))
            }
            Kind::Act(a) => Op::Act(*a),
            Kind::Add => Op::Add,
            Kind::Mul => Op::Mul,
            Kind::Concat => Op::Concat,
            Kind::MaxPool2d(p) => Op::MaxPool(*p),
            Kind::AvgPool2d(p) => Op::AvgPool(*p),
            Kind::AdaptiveAvgPool2d { out } => Op::Adaptive(*out),
            Kind::Flatten => Op::Flatten,
            Kind::Linear {
                in_features,
                out_features,
                bias,
            } => {
                let mut params = params.into_iter();
                let weight = params.next().unwrap_or_default();
                let b = if *bias {
                    params.next().unwrap_or_default()
                } else {
                    vec![0.0; *out_features]
                };
                Op::Linear {
                    weight,
                    bias: b,
                    in_features: *in_features,
                }
            }
            Kind::Dropout { .. } | Kind::Block { .. } => Op::Identity,
        })
    }

    /// The node's tensors as loaded, by leaf name (`weight`, `bias`, `running_mean`, ...).
    pub fn tensors(&self) -> Vec<(&'static str, &[f32])> {
        match self {
            Op::Conv(c) => {
                let mut t = vec![("weight", c.weight.as_slice())];
                if let Some(b) = &c.bias {
                    t.push(("bias", b.as_slice()));
                }
                t
            }
            Op::BatchNorm { tensors, .. } => ["weight", "bias", "running_mean", "running_var"]
                .into_iter()
                .zip(tensors.iter().map(Vec::as_slice))
                .collect(),
            Op::LayerNorm(ln) => vec![("weight", &ln.weight), ("bias", &ln.bias)],
            Op::LayerScale(s) => vec![("layer_scale", &s.scale)],
            Op::Linear { weight, bias, .. } => vec![("weight", weight), ("bias", bias)],
            _ => Vec::new(),
        }
    }

    /// The output of the node and its shape (batch first).
    pub fn forward(&self, xs: &[Value]) -> Result<(Vec<f32>, Vec<usize>)> {
        let x = &xs[0];
        let same = |v: Vec<f32>| Ok((v, x.shape.to_vec()));
        match self {
            Op::Conv(c) => {
                let (y, (oh, ow)) = c.forward(x.data, x.n(), x.hw(), None)?;
                Ok((y, vec![x.n(), c.cfg.out_channels, oh, ow]))
            }
            Op::BatchNorm { affine, .. } | Op::LayerScale(affine) => {
                same(affine.forward(x.data, x.plane()))
            }
            Op::LayerNorm(ln) => same(ln.forward(x.data, x.plane())),
            Op::Act(a) => {
                let mut y = x.data.to_vec();
                act::apply_in_place(*a, &mut y);
                same(y)
            }
            Op::Add => same(merge::add(x.data, xs[1].data)),
            Op::Mul => same(merge::mul(x.data, xs[1].data)),
            Op::Concat => {
                let parts: Vec<(&[f32], usize)> =
                    xs.iter().map(|v| (v.data, v.channels())).collect();
                let c: usize = parts.iter().map(|p| p.1).sum();
                let (h, w) = x.hw();
                Ok((merge::concat(&parts, x.n(), h * w), vec![x.n(), c, h, w]))
            }
            Op::MaxPool(p) | Op::AvgPool(p) => {
                let (h, w) = x.hw();
                let (oh, ow) = pooling::out_size(p, h, w);
                let y = if matches!(self, Op::MaxPool(_)) {
                    pooling::max_forward(x.data, p, (h, w))
                } else {
                    pooling::avg_forward(x.data, p, (h, w))
                };
                Ok((y, vec![x.n(), x.channels(), oh, ow]))
            }
            Op::Adaptive(out) => {
                let y = pooling::adaptive_forward(x.data, x.hw(), *out);
                Ok((y, vec![x.n(), x.channels(), out.0, out.1]))
            }
            Op::Flatten => Ok((x.data.to_vec(), vec![x.n(), x.data.len() / x.n().max(1)])),
            Op::Linear {
                weight,
                bias,
                in_features,
            } => {
                let n = x.n();
                let out = bias.len();
                if x.data.len() != n * in_features {
                    return Err(Error::Input(format!(
                        "a linear layer of {in_features} inputs got {} values per image",
                        x.data.len() / n.max(1)
                    )));
                }
                let mut y: Vec<f32> = (0..n).flat_map(|_| bias.iter().copied()).collect();
                gemm::matmul(
                    &mut y,
                    x.data,
                    gemm::Lhs::Plain,
                    weight,
                    gemm::Rhs::Transposed,
                    (n, *in_features, out),
                    true,
                    false,
                );
                Ok((y, vec![n, out]))
            }
            Op::Identity => same(x.data.to_vec()),
        }
    }

    /// The gradient with respect to each input, given the inputs, the output `y` and the
    /// gradient `g` with respect to the output. `None` where an input gets none.
    pub fn backward(
        &self,
        xs: &[Value],
        y: &[f32],
        g: &[f32],
        rule: ReluGrad,
    ) -> Result<Vec<Vec<f32>>> {
        let x = &xs[0];
        Ok(match self {
            Op::Conv(c) => vec![c.backward(g, x.n(), x.hw())?],
            Op::BatchNorm { affine, .. } | Op::LayerScale(affine) => {
                vec![affine.backward(g, x.plane())]
            }
            Op::LayerNorm(ln) => vec![ln.backward(x.data, g, x.plane())],
            Op::Act(a) => vec![act::backward(*a, x.data, y, g, rule)],
            Op::Add => vec![g.to_vec(), g.to_vec()],
            Op::Mul => {
                let (dx, ds) = merge::mul_backward(x.data, xs[1].data, g);
                vec![dx, ds]
            }
            Op::Concat => {
                let channels: Vec<usize> = xs.iter().map(|v| v.channels()).collect();
                merge::concat_backward(g, &channels, x.n(), x.plane())
            }
            Op::MaxPool(p) => vec![pooling::max_backward(x.data, g, p, x.hw())],
            Op::AvgPool(p) => vec![pooling::avg_backward(g, p, x.hw(), x.n() * x.channels())],
            Op::Adaptive(out) => vec![pooling::adaptive_backward(
                g,
                x.hw(),
                *out,
                x.n() * x.channels(),
            )],
            Op::Flatten | Op::Identity => vec![g.to_vec()],
            Op::Linear {
                weight,
                in_features,
                bias,
                ..
            } => {
                let n = x.n();
                let mut dx = vec![0f32; n * in_features];
                gemm::matmul(
                    &mut dx,
                    g,
                    gemm::Lhs::Plain,
                    weight,
                    gemm::Rhs::Rows(*in_features),
                    (n, bias.len(), *in_features),
                    false,
                    false,
                );
                vec![dx]
            }
        })
    }

    /// Which inputs' values the reverse pass reads (the rest need only their shapes).
    pub fn backward_reads_inputs(&self) -> bool {
        match self {
            Op::Act(a) => act::needs_input(*a),
            Op::LayerNorm(_) | Op::Mul | Op::MaxPool(_) => true,
            _ => false,
        }
    }
}
