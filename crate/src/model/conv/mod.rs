//! Our own convolution kernels: 3x3 stride-1 convolutions by Winograd (every VGG conv and
//! its input gradient), the packed GEMM with the epilogue in the store that runs every
//! other dense convolution, and the switch between them and candle's stock `conv2d`
//! for 3x3 convolutions, kept callable so benchmarks compare the two in one run.

pub mod direct;
pub mod filter_lanes;
pub mod gemm_micro;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod gemm_micro_wasm;
#[cfg(target_arch = "x86_64")]
mod gemm_micro_x86;
pub mod packed_gemm;
mod transform;
#[cfg(target_arch = "x86_64")]
pub(crate) mod transpose16;
pub mod unfolded;
mod winograd;

pub use winograd::Winograd3x3;

use crate::error::{Error, Result};
use candle_core::{DType, Tensor};
use std::sync::atomic::{AtomicU8, Ordering};

/// Which code computes the 3x3 convolutions (forward and reverse).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConvImpl {
    /// candle's `conv2d` (im2col + gemm).
    Stock,
    /// Winograd F(2x2, 3x3) with weights packed at load ([`Winograd3x3`]).
    #[default]
    Fast,
}

static CURRENT: AtomicU8 = AtomicU8::new(ConvImpl::Fast as u8);

/// Chooses the convolution code for the whole process (the benchmarks' A/B switch).
pub fn set_conv_impl(choice: ConvImpl) {
    CURRENT.store(choice as u8, Ordering::Relaxed);
}

pub fn conv_impl() -> ConvImpl {
    if CURRENT.load(Ordering::Relaxed) == ConvImpl::Stock as u8 {
        ConvImpl::Stock
    } else {
        ConvImpl::Fast
    }
}

/// Name of the micro-kernel this process uses (`avx512`, `wasm-simd128`, ...).
pub fn kernel_name() -> &'static str {
    gemm_micro::best().name
}

/// Packs a `[out, in, 3, 3]` weight tensor and optional `[out]` bias.
pub fn pack(weight: &Tensor, bias: Option<&Tensor>) -> Result<Winograd3x3> {
    let (out_channels, in_channels, _, _) = weight.dims4()?;
    let w = weight
        .flatten_all()?
        .to_dtype(DType::F32)?
        .to_vec1::<f32>()?;
    let b = bias
        .map(|b| b.to_dtype(DType::F32)?.to_vec1::<f32>())
        .transpose()?;
    Ok(Winograd3x3::new(
        &w,
        out_channels,
        in_channels,
        b.as_deref(),
    ))
}

/// `conv` applied to an `[n, in, h, w]` tensor ("same" padding), read in place when it
/// is a contiguous f32 CPU tensor.
pub fn forward(conv: &Winograd3x3, x: &Tensor) -> Result<Tensor> {
    apply(conv, x, false)
}

/// [`forward`] with the ReLU that follows every VGG conv fused into it.
pub fn forward_relu(conv: &Winograd3x3, x: &Tensor) -> Result<Tensor> {
    apply(conv, x, true)
}

fn apply(conv: &Winograd3x3, x: &Tensor, relu: bool) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    if c != conv.in_channels() || h.min(w) == 0 {
        return Err(Error::Input(format!(
            "a 3x3 convolution over {} channels got a tensor of shape {:?}",
            conv.in_channels(),
            x.dims()
        )));
    }
    let run = |data: &[f32]| {
        if relu {
            conv.forward_relu(data, n, h, w)
        } else {
            conv.forward(data, n, h, w)
        }
    };
    let y = super::cpu::with_f32(x, run)?;
    Ok(Tensor::from_vec(
        y,
        (n, conv.out_channels(), h, w),
        x.device(),
    )?)
}
