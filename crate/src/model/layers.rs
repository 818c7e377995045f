//! The layers of a VGG-family network, each with its forward pass and the gradient of
//! its input (never of its weights: explanations need only input/activation gradients).

use super::conv::{self, ConvImpl, Winograd3x3};
use super::{cpu, pool};
use crate::error::{Error, Result};
use candle_core::{DType, Tensor};
use rayon::prelude::*;
use std::sync::OnceLock;

/// A named layer; names are torchvision module paths (`features.0`, `avgpool`,
/// `classifier.6`).
#[derive(Clone, Debug)]
pub struct Layer {
    pub name: String,
    pub op: Op,
}

#[derive(Clone, Debug)]
pub enum Op {
    Conv2d(Conv2d),
    Relu,
    /// 2x2 max pool with stride 2.
    MaxPool2d,
    /// `AdaptiveAvgPool2d((size, size))`.
    AdaptiveAvgPool2d {
        size: usize,
    },
    /// Identity at inference.
    Dropout,
    /// Flattens a `[N, C, H, W]` input first, as torchvision's VGG.forward does.
    Linear(Linear),
}

/// How the reverse pass treats ReLUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReluGrad {
    /// `g * [x > 0]`: the true gradient (ReLU'(0) = 0, as PyTorch).
    #[default]
    Plain,
    /// `relu(g) * [x > 0]`: guided backpropagation (Springenberg et al. 2015).
    Guided,
}

/// 3x3 convolution, padding 1, stride 1.
#[derive(Clone, Debug)]
pub struct Conv2d {
    /// `[out, in, 3, 3]`
    pub weight: Tensor,
    /// `[out]`
    pub bias: Tensor,
    /// The input gradient of this conv is a conv with the spatially flipped, transposed
    /// kernel `[in, out, 3, 3]`; built on first use, then kept.
    flipped: OnceLock<Tensor>,
    /// Our kernels' packed weights (shared, so that copies of a model for the sanity
    /// checks reuse them, and `Op` stays small).
    packed: std::sync::Arc<Packed>,
}

#[derive(Debug)]
struct Packed {
    /// The weights and bias, packed once, at load.
    forward: Winograd3x3,
    /// The flipped kernel packed likewise, on the first reverse pass.
    reverse: OnceLock<Winograd3x3>,
}

#[derive(Clone, Debug)]
pub struct Linear {
    /// `[out, in]`
    pub weight: Tensor,
    /// `[out]`
    pub bias: Tensor,
}

pub const KERNEL: usize = 3;
pub const PADDING: usize = 1;

impl Conv2d {
    pub fn new(weight: Tensor, bias: Tensor) -> Result<Self> {
        Ok(Conv2d {
            packed: std::sync::Arc::new(Packed {
                forward: conv::pack(&weight, Some(&bias))?,
                reverse: OnceLock::new(),
            }),
            weight,
            bias,
            flipped: OnceLock::new(),
        })
    }

    pub fn out_channels(&self) -> usize {
        self.weight.dims()[0]
    }

    pub fn in_channels(&self) -> usize {
        self.weight.dims()[1]
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if conv::conv_impl() == ConvImpl::Fast {
            return conv::forward(&self.packed.forward, x);
        }
        self.stock(x, PADDING)
    }

    /// The convolution and the ReLU after it in one pass (the plain forward pass keeps no
    /// pre-activation, so there is nothing to store in between).
    pub fn forward_relu(&self, x: &Tensor) -> Result<Tensor> {
        if conv::conv_impl() == ConvImpl::Fast {
            return conv::forward_relu(&self.packed.forward, x);
        }
        Ok(self.stock(x, PADDING)?.relu()?)
    }

    /// candle's conv2d plus the bias: the path the benchmarks compare ours against.
    fn stock(&self, x: &Tensor, padding: usize) -> Result<Tensor> {
        let y = x.conv2d(&self.weight, padding, 1, 1, 1)?;
        Ok(y.broadcast_add(&self.bias.reshape((1, self.out_channels(), 1, 1))?)?)
    }

    /// The convolution without padding ("valid") on plain values, `[n, in, h, w]` to
    /// `[n, out, h - 2, w - 2]`, of which image `b` needs only the top-left `extents[b]`
    /// (our kernels compute just that; candle's computes everything). Incremental
    /// inference convolves crops that carry their own halo, kept as vectors.
    pub fn forward_valid_within(
        &self,
        x: Vec<f32>,
        n: usize,
        (h, w): (usize, usize),
        extents: &[(usize, usize)],
    ) -> Result<Vec<f32>> {
        let c = self.in_channels();
        if x.len() != n * c * h * w || extents.len() != n || h.min(w) < KERNEL {
            return Err(Error::Input(format!(
                "a valid 3x3 convolution over {c} channels got {} values and {} extents for {n} image(s) of {h}x{w}",
                x.len(),
                extents.len()
            )));
        }
        if conv::conv_impl() == ConvImpl::Fast {
            return Ok(self
                .packed
                .forward
                .forward_valid_within(&x, n, (h, w), extents));
        }
        let x = Tensor::from_vec(x, (n, c, h, w), &candle_core::Device::Cpu)?;
        Ok(self.stock(&x, 0)?.flatten_all()?.to_vec1::<f32>()?)
    }

    fn flipped_kernel(&self) -> Result<&Tensor> {
        if let Some(k) = self.flipped.get() {
            return Ok(k);
        }
        let flipped = self.weight.flip(&[2, 3])?.transpose(0, 1)?.contiguous()?;
        Ok(self.flipped.get_or_init(|| flipped))
    }

    fn backward(&self, grad: &Tensor) -> Result<Tensor> {
        // Stride 1, "same" padding: dx = conv(dy, flip(W)^T) with padding k - 1 - p.
        if conv::conv_impl() == ConvImpl::Fast {
            let packed = match self.packed.reverse.get() {
                Some(p) => p,
                None => {
                    let flipped = self.weight.flip(&[2, 3])?.transpose(0, 1)?;
                    let p = conv::pack(&flipped, None)?;
                    self.packed.reverse.get_or_init(|| p)
                }
            };
            return conv::forward(packed, grad);
        }
        Ok(grad.conv2d(self.flipped_kernel()?, KERNEL - 1 - PADDING, 1, 1, 1)?)
    }
}

impl Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = if x.rank() > 2 {
            x.flatten_from(1)?
        } else {
            x.clone()
        };
        Ok(x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)?)
    }

    fn backward(&self, input: &Tensor, grad: &Tensor) -> Result<Tensor> {
        Ok(grad.matmul(&self.weight)?.reshape(input.shape())?)
    }
}

/// `max(x, 0)`, split over threads (candle's runs on one).
fn relu(x: &Tensor) -> Result<Tensor> {
    const CHUNK: usize = 1 << 15;
    let mut y = vec![0f32; x.elem_count()];
    cpu::with_f32(x, |v| {
        let pairs = y.par_chunks_mut(CHUNK).zip(v.par_chunks(CHUNK));
        pairs.for_each(|(dst, src)| {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = s.max(0.0);
            }
        });
    })?;
    Ok(Tensor::from_vec(y, x.shape(), x.device())?)
}

impl Layer {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.op {
            Op::Conv2d(c) => c.forward(x),
            Op::Relu => relu(x),
            Op::MaxPool2d => pool::max_pool2x2(x),
            Op::AdaptiveAvgPool2d { size } => pool::adaptive_avg_pool2d(x, *size),
            Op::Dropout => Ok(x.clone()),
            Op::Linear(l) => l.forward(x),
        }
    }

    /// Gradient with respect to this layer's input, given its `input`, its `output` and
    /// the gradient with respect to that output.
    pub fn backward(
        &self,
        input: &Tensor,
        output: &Tensor,
        grad: &Tensor,
        relu: ReluGrad,
    ) -> Result<Tensor> {
        match &self.op {
            Op::Conv2d(c) => c.backward(grad),
            Op::Relu => {
                // output > 0 exactly where input > 0, so ReLU'(0) = 0 as in PyTorch.
                let open = output.gt(0f32)?.to_dtype(DType::F32)?;
                let g = match relu {
                    ReluGrad::Plain => grad.clone(),
                    ReluGrad::Guided => grad.relu()?,
                };
                Ok((g * open)?)
            }
            Op::MaxPool2d => pool::max_pool2x2_backward(input, grad),
            Op::AdaptiveAvgPool2d { size } => {
                pool::adaptive_avg_pool2d_backward(input, grad, *size)
            }
            Op::Dropout => Ok(grad.clone()),
            Op::Linear(l) => l.backward(input, grad),
        }
    }

    /// The layer's type as PyTorch names it.
    pub fn kind(&self) -> &'static str {
        match &self.op {
            Op::Conv2d(_) => "Conv2d",
            Op::Relu => "ReLU",
            Op::MaxPool2d => "MaxPool2d",
            Op::AdaptiveAvgPool2d { .. } => "AdaptiveAvgPool2d",
            Op::Dropout => "Dropout",
            Op::Linear(_) => "Linear",
        }
    }

    /// The layer's parameters, `(weight, bias)`, if it has any.
    pub fn params(&self) -> Option<(&Tensor, &Tensor)> {
        match &self.op {
            Op::Conv2d(c) => Some((&c.weight, &c.bias)),
            Op::Linear(l) => Some((&l.weight, &l.bias)),
            _ => None,
        }
    }
}
