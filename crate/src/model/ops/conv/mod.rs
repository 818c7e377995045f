//! `nn.Conv2d` with any kernel, stride, padding, dilation and groups, each shape on the
//! path that suits it: 3x3 stride-1 "same" convolutions on our Winograd kernels (VGG's
//! and ResNet's; on maps whose tiles would not fill a micro-kernel panel the packed
//! product instead), 1x1 convolutions as one packed matrix product, depthwise convolutions
//! (MobileNet, EfficientNet, ConvNeXt) by a direct loop per channel, the rest (stems,
//! strided and grouped 3x3) by the same product over the unfolded input, per group. The
//! input gradient follows the same split. A batch norm after the convolution can be
//! folded into a second kernel with scaled weights ([`ConvKernel::folded`]); a ReLU or
//! ReLU6 after it, and a residual added before that, run in the product's store.

mod depthwise;
#[cfg(target_arch = "x86_64")]
mod depthwise_lanes;
#[cfg(target_arch = "x86_64")]
mod depthwise_masked;
#[cfg(target_arch = "x86_64")]
mod depthwise_pairs;
mod depthwise_rows;
mod depthwise_simd;
mod expand_depthwise;
mod im2col;
mod pointwise;
#[cfg(target_arch = "x86_64")]
mod stem_then_pool;

pub use expand_depthwise::ExpandDepthwise;

use super::super::conv::direct::DirectConv;
use super::super::conv::filter_lanes::FilterLanesConv;
use super::super::conv::gemm_micro::{self, Clamp};
use super::super::conv::packed_gemm::PackedA;
use super::super::conv::{conv_impl, ConvImpl, Winograd3x3};
use super::super::graph::{Activation, ConvCfg};
use super::act;
use super::norm::ChannelAffine;
use crate::error::{Error, Result};
use std::sync::OnceLock;

/// One call of a convolution path: its configuration, the batch size and the input and
/// output sizes (checked by the caller against the values it passes).
#[derive(Clone, Copy)]
struct Call<'a> {
    cfg: &'a ConvCfg,
    n: usize,
    hw: (usize, usize),
    out_hw: (usize, usize),
}

impl<'a> Call<'a> {
    /// `(cfg, n, (h, w), (oh, ow))`.
    fn parts(&self) -> (&'a ConvCfg, usize, (usize, usize), (usize, usize)) {
        (self.cfg, self.n, self.hw, self.out_hw)
    }
}

/// A convolution's weights packed for its path, with its bias.
#[derive(Debug)]
pub struct ConvKernel {
    pub cfg: ConvCfg,
    path: Path,
    /// `[out]` (zeros when the convolution has none).
    bias: Vec<f32>,
}

#[derive(Debug)]
enum Path {
    Winograd(Winograd3x3),
    /// The convolutions the direct AVX-512 kernel runs faster: stems, stride 2, light
    /// 3x3s ([`takes_direct`]).
    Direct(DirectConv),
    /// The direct convolutions with rows of at most 14 outputs or a multiple of 14: 32
    /// filters in lanes ([`FilterLanesConv::suits`]).
    FilterLanes(FilterLanesConv),
    /// `[out, in]` weights with the bias, packed; strided 1x1 convolutions read every
    /// `s`-th pixel as they pack.
    Pointwise(PackedA),
    /// `[channels, kh * kw]`.
    Depthwise(Vec<f32>),
    /// Each group's `[out / groups, in / groups * kh * kw]` filters with their biases,
    /// packed.
    General(Vec<PackedA>),
}

fn is_winograd(cfg: &ConvCfg) -> bool {
    cfg.kernel == (3, 3)
        && cfg.stride == (1, 1)
        && cfg.padding == (1, 1)
        && cfg.dilation == (1, 1)
        && cfg.groups == 1
}

/// Whether a 3x3 convolution over maps of `hw` takes the packed product: where Winograd
/// F(2x2, 3x3)'s tiles of the map (`ceil(h / 2) x ceil(w / 2)`) fill less than one
/// micro-kernel panel of `nr` pixels. AVX-512's 32-pixel panels on ResNet's 7x7 maps (16
/// tiles) ran half empty; with AVX2's 16 or wasm's 8 the tiles fill whole panels and
/// Winograd keeps its 2.25x fewer multiply-adds (in Chromium, ResNet-18 went 0.68 ->
/// 0.70 of onnxruntime-web when wasm took the product too).
fn is_small_map(hw: Option<(usize, usize)>, nr: usize) -> bool {
    hw.is_some_and(|(h, w)| h.div_ceil(2) * w.div_ceil(2) < nr)
}

/// Whether a convolution runs on the direct kernel ([`DirectConv`], AVX-512 only): every
/// stride-2 one it computes but 1x1 (the unfolded product packs each tap of each channel:
/// ResNet-50's 7x7 stem took 2.8 ms, 2.0 direct, its layer2.0 3x3 2.8 ms, 2.25 direct;
/// MobileNetV2's stem 0.58 -> 0.52), and the light 3x3 stride-1 ones: at most 56x56 and
/// `in x out x pixels` at most 16M (9 times fewer than the multiply-adds). Those are
/// ResNet's (all 12.8M; 1.7-2.4 -> 1.6-1.8 ms each in ResNet-50) and DenseNet's (128 -> 32
/// channels; its forward pass 65-73 -> 57-59 ms), where Winograd's transforms, per pixel
/// and channel, cost more than its 2.25x fewer multiply-adds save. VGG16's 3x3s (51M and
/// more) stay on Winograd: on the direct kernel its forward pass went 230 -> 287 ms.
/// ResNet-18's 28x28 and 14x14 ones ran faster on Winograd (1.4-1.55 against 1.6-1.7
/// ms), ResNet-50's of the same shape slower (1.73 against 1.57): its 100 MB of weights
/// stream from memory each pass, and Winograd's are 16/9 as large.
/// 1x1 convolutions stay off it: on the direct kernel ResNet-50's went 0.7-1.7 -> 0.9-2.5
/// ms (its input read in place, 256 planes a stride apart per block of outputs, against
/// the product's packed panels); the filter lanes take them ([`takes_pointwise_lanes`]).
fn takes_direct(cfg: &ConvCfg, hw: Option<(usize, usize)>) -> bool {
    let light_3x3 = cfg.kernel == (3, 3)
        && cfg.padding == (1, 1)
        && cfg.in_channels >= 16
        && hw.is_some_and(|(h, w)| {
            h * w <= 56 * 56 && cfg.in_channels * cfg.out_channels * h * w <= 16 << 20
        });
    let strided = cfg.kernel.0 > 1 && cfg.stride == (2, 2);
    DirectConv::fits(cfg) && (strided || light_3x3) && DirectConv::available()
}

/// Whether a 1x1 convolution runs on the filter-lanes kernel (AVX-512 only): maps of
/// up to 56x56 outputs ([`POINTWISE_LANES_PIXELS`]), at stride 1 read in place as one
/// flat row, at stride 2 from its phase plane where the rows suit. ResNet-50's 1x1s at
/// stride 1 took 10.0 -> 8.65 ms in all, their residual-adding ones 9.2 -> 8.35, at
/// stride 2 3.7 -> 3.1-3.3 (one thread, runs alternating); MobileNetV2's expansions at
/// 112x112 stay on the product (0.26 against 0.29 ms on the lanes).
fn takes_pointwise_lanes(cfg: &ConvCfg, hw: Option<(usize, usize)>) -> bool {
    let out_hw = hw.and_then(|(h, w)| out_size(cfg, h, w));
    // Expansions from 64 channels or fewer at 56x56 (ResNet-50's layer1 downsample and
    // last 1x1s) stay on the product: a tile's 64 steps leave its transposed store (and
    // the residual's 32 planes read at once) less hidden. ResNet-50's forward pass took
    // 37.6-39.1 ms, 36.8-37.9 with those on the product (processes alternating, one
    // thread; layer1.0's last 1x1 0.68-0.71 -> 0.56 ms, the others within 0.02).
    let narrow_expansion = cfg.in_channels <= 64 && cfg.out_channels >= 4 * cfg.in_channels;
    if narrow_expansion && out_hw.is_some_and(|o| o.0 * o.1 >= 56 * 56) {
        return false;
    }
    is_pointwise(cfg)
        && DirectConv::available()
        && out_hw.is_some_and(|o| {
            o.0 * o.1 <= POINTWISE_LANES_PIXELS && FilterLanesConv::suits_pointwise(cfg, o)
        })
}

/// Output pixels up to which 1x1 convolutions take the filter lanes
/// ([`takes_pointwise_lanes`]).
const POINTWISE_LANES_PIXELS: usize = 56 * 56;

fn is_pointwise(cfg: &ConvCfg) -> bool {
    cfg.kernel == (1, 1) && cfg.padding == (0, 0) && cfg.groups == 1
}

/// Output height and width of `cfg` over an `h x w` input.
pub fn out_size(cfg: &ConvCfg, h: usize, w: usize) -> Option<(usize, usize)> {
    let len = |len: usize, k: usize, s: usize, p: usize, d: usize| {
        (len + 2 * p)
            .checked_sub(d * (k - 1) + 1)
            .map(|v| v / s + 1)
    };
    Some((
        len(h, cfg.kernel.0, cfg.stride.0, cfg.padding.0, cfg.dilation.0)?,
        len(w, cfg.kernel.1, cfg.stride.1, cfg.padding.1, cfg.dilation.1)?,
    ))
}

impl ConvKernel {
    /// Packs `weight` (`[out, in / groups, kh, kw]`, row-major) and an optional bias.
    pub fn new(cfg: ConvCfg, weight: &[f32], bias: Option<&[f32]>) -> Result<Self> {
        Self::for_maps(cfg, weight, bias, None)
    }

    /// [`Self::new`] for inputs of about `hw` pixels where known: a 3x3 convolution over
    /// a small map takes the packed product instead of Winograd (a folded batch norm's
    /// kernel is chosen at load for the model's input size; a convolution as loaded
    /// packs one on its first small map, [`Conv::forward_fused`]; [`is_small_map`] says
    /// which). On ResNet-50's 7x7 layer4 maps Winograd's 16 tiles fill half an AVX-512
    /// micro-kernel panel and its filters,
    /// 16/9 the size of the plain ones, stream from L3 for few pixels: 3.0 ms a
    /// convolution against 2.1 by the product, natively, one thread. Any path computes
    /// any size; this only picks the fastest for the expected one.
    pub fn for_maps(
        cfg: ConvCfg,
        weight: &[f32],
        bias: Option<&[f32]>,
        hw: Option<(usize, usize)>,
    ) -> Result<Self> {
        let expected: usize = cfg.weight_shape().iter().product();
        if weight.len() != expected || bias.is_some_and(|b| b.len() != cfg.out_channels) {
            return Err(Error::Input(format!(
                "a convolution {:?} got {} weights (expected {expected})",
                cfg.weight_shape(),
                weight.len()
            )));
        }
        let out_hw = hw.and_then(|(h, w)| out_size(&cfg, h, w));
        let path = if takes_pointwise_lanes(&cfg, hw) {
            Path::FilterLanes(FilterLanesConv::new(cfg, weight, bias))
        } else if takes_direct(&cfg, hw) {
            if out_hw.is_some_and(|o| FilterLanesConv::suits(&cfg, o)) {
                Path::FilterLanes(FilterLanesConv::new(cfg, weight, bias))
            } else {
                Path::Direct(DirectConv::new(cfg, weight, bias))
            }
        } else if is_winograd(&cfg) && !is_small_map(hw, gemm_micro::best().nr) {
            Path::Winograd(Winograd3x3::new(
                weight,
                cfg.out_channels,
                cfg.in_channels,
                bias,
            ))
        } else if is_pointwise(&cfg) {
            Path::Pointwise(PackedA::rows(
                weight,
                cfg.out_channels,
                cfg.in_channels,
                bias,
            ))
        } else if cfg.is_depthwise() {
            Path::Depthwise(weight.to_vec())
        } else {
            Path::General(im2col::pack(weight, &cfg, bias))
        };
        Ok(ConvKernel {
            cfg,
            path,
            bias: bias.map_or_else(|| vec![0.0; cfg.out_channels], <[f32]>::to_vec),
        })
    }

    /// The convolution followed by the per-channel affine map `bn` (an eval-mode batch
    /// norm), as one convolution: weights scaled by `bn.scale[o]`, bias `b * scale + shift`.
    pub fn folded(
        cfg: ConvCfg,
        weight: &[f32],
        bias: Option<&[f32]>,
        bn: &ChannelAffine,
        hw: Option<(usize, usize)>,
    ) -> Result<Self> {
        let (w, b) = fold_weights(&cfg, weight, bias, bn);
        let cfg = ConvCfg { bias: true, ..cfg };
        Self::for_maps(cfg, &w, Some(&b), hw)
    }

    /// Whether this kernel runs on the direct kernel (AVX-512, natively).
    pub fn is_direct(&self) -> bool {
        matches!(self.path, Path::Direct(_))
    }

    /// `maxpool(relu(conv(x)))` with ResNet's and DenseNet's stem pool (3x3, stride 2,
    /// padding 1), band by band, for `n` images of `hw`: `None` where the convolution is
    /// not on the direct kernel or does not fit `hw` (the caller runs the two apart).
    pub fn forward_relu_pooled(
        &self,
        x: &[f32],
        n: usize,
        (h, w): (usize, usize),
    ) -> Option<(Vec<f32>, (usize, usize))> {
        let out_hw = out_size(&self.cfg, h, w)?;
        if x.len() != n * self.cfg.in_channels * h * w {
            return None;
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = out_hw;
        match &self.path {
            #[cfg(target_arch = "x86_64")]
            Path::Direct(k) => {
                let bands = stem_then_pool::BAND_BYTES;
                Some(stem_then_pool::forward(
                    k,
                    x,
                    n,
                    (h, w),
                    out_hw,
                    Clamp::Relu,
                    bands,
                ))
            }
            _ => None,
        }
    }

    /// Convolves `x` (`[n, in, h, w]`) into `[n, out, oh, ow]`, adds `residual` (`[n, out, oh, ow]`) if given,
    /// then applies `act`: ResNet's `relu(bn3(conv3(x)) + identity)` in one pass over the
    /// output where the product's store can do it.
    pub fn forward_fused(
        &self,
        x: &[f32],
        n: usize,
        (h, w): (usize, usize),
        residual: Option<&[f32]>,
        act: Option<Activation>,
    ) -> Result<(Vec<f32>, (usize, usize))> {
        let cfg = &self.cfg;
        if x.len() != n * cfg.in_channels * h * w {
            return Err(Error::Input(format!(
                "a convolution over {} channels got {} values for {n} image(s) of {h}x{w}",
                cfg.in_channels,
                x.len()
            )));
        }
        let (oh, ow) = out_size(cfg, h, w).ok_or_else(|| {
            Error::Input(format!(
                "a {}x{} convolution does not fit a {h}x{w} input",
                cfg.kernel.0, cfg.kernel.1
            ))
        })?;
        if residual.is_some_and(|r| r.len() != n * cfg.out_channels * oh * ow) {
            return Err(Error::Input(format!(
                "a residual of {} values added to {n} image(s) of {} x {oh}x{ow}",
                residual.map_or(0, <[f32]>::len),
                cfg.out_channels
            )));
        }
        let call = Call {
            cfg,
            n,
            hw: (h, w),
            out_hw: (oh, ow),
        };
        let (clamp, after) = store_clamp(act);
        let (mut y, after) = match &self.path {
            Path::Winograd(k) if residual.is_none() && act == Some(Activation::Relu) => {
                (k.forward_relu(x, n, h, w), None)
            }
            Path::Winograd(k) => (k.forward(x, n, h, w), act),
            // A residual is added after the loop, so the clamp can run inside it only without one.
            Path::Depthwise(wt) if residual.is_none() => {
                (depthwise::forward(wt, &self.bias, &call, x, clamp), after)
            }
            Path::Depthwise(wt) => (
                depthwise::forward(wt, &self.bias, &call, x, Clamp::None),
                act,
            ),
            Path::Direct(k) => (k.forward(x, n, (h, w), (oh, ow), residual, clamp), after),
            Path::FilterLanes(k) => (k.forward(x, n, (h, w), (oh, ow), residual, clamp), after),
            Path::Pointwise(a) => (pointwise::forward(a, &call, x, residual, clamp), after),
            Path::General(a) => (im2col::forward(a, &call, x, residual, clamp), after),
        };
        let unfused_residual = matches!(self.path, Path::Winograd(_) | Path::Depthwise(_));
        if let (Some(r), true) = (residual, unfused_residual) {
            y.iter_mut().zip(r).for_each(|(v, r)| *v += r);
        }
        if let Some(a) = after {
            act::apply_in_place(a, &mut y);
        }
        Ok((y, (oh, ow)))
    }
}

/// `act` split into what the kernels' stores apply (ReLU and ReLU6) and what runs after
/// them (any other activation).
fn store_clamp(act: Option<Activation>) -> (Clamp, Option<Activation>) {
    match act {
        Some(Activation::Relu) => (Clamp::Relu, None),
        Some(Activation::Relu6) => (Clamp::Relu6, None),
        other => (Clamp::None, other),
    }
}

/// The weights and bias of a convolution followed by the per-channel affine map `bn`:
/// weights scaled by `bn.scale[o]`, bias `b * scale + shift`.
pub fn fold_weights(
    cfg: &ConvCfg,
    weight: &[f32],
    bias: Option<&[f32]>,
    bn: &ChannelAffine,
) -> (Vec<f32>, Vec<f32>) {
    let per_out = weight.len() / cfg.out_channels.max(1);
    let w = weight
        .chunks(per_out.max(1))
        .zip(&bn.scale)
        .flat_map(|(row, s)| row.iter().map(move |v| v * s))
        .collect();
    let b = (0..cfg.out_channels)
        .map(|o| bias.map_or(0.0, |b| b[o]) * bn.scale[o] + bn.shift[o])
        .collect();
    (w, b)
}

/// `y[n, o, :] += bias[o]` (candle's stock path, which has no bias).
fn add_bias(y: &mut [f32], bias: &[f32], plane: usize) {
    if plane == 0 {
        return;
    }
    for (i, p) in y.chunks_mut(plane).enumerate() {
        let b = bias[i % bias.len()];
        p.iter_mut().for_each(|v| *v += b);
    }
}

/// A convolution node: its weights as loaded (what the layer inspector and the filters
/// view show), packed on first use for a plain forward pass, and its input gradient.
#[derive(Debug)]
pub struct Conv {
    pub cfg: ConvCfg,
    /// `[out, in / groups, kh, kw]`.
    pub weight: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    /// Packed on first use: a convolution whose batch norm is folded into it runs only
    /// as the folded kernel, so this copy of its weights is never made.
    /// Boxed, as is the reverse kernel: packed kernels are large and most nodes of a
    /// graph are not convolutions.
    plain: OnceLock<Box<ConvKernel>>,
    /// A 3x3 stride-1 convolution's kernel for the maps where another path beats
    /// Winograd ([`ConvKernel::for_maps`]: the packed product on small maps, the direct
    /// kernel up to 56x56 with AVX-512, e.g. DenseNet's, whose batch norms come before
    /// the convolutions), packed on the first such map: the plain kernel stays Winograd,
    /// which incremental occlusion patches ([`Conv::winograd`]). Likewise a 1x1
    /// convolution's filter lanes on maps up to 56x56 ([`takes_pointwise_lanes`]).
    map_kernel: OnceLock<Box<ConvKernel>>,
    reverse: OnceLock<Box<Reverse>>,
}

/// What the input gradient of a convolution runs on.
#[derive(Debug)]
enum Reverse {
    /// 3x3, stride 1, "same": a convolution with the flipped, transposed kernel.
    Winograd(Winograd3x3),
    /// Depthwise: the weights as they are.
    Direct,
    /// Everything else: each group's `W^T` packed, its product with the output gradient
    /// scattered back to pixels.
    Gemm(Vec<PackedA>),
}

impl Conv {
    pub fn new(cfg: ConvCfg, weight: Vec<f32>, bias: Option<Vec<f32>>) -> Result<Self> {
        // The shapes are checked once, at load, rather than at the first forward pass.
        let expected: usize = cfg.weight_shape().iter().product();
        if weight.len() != expected || bias.as_ref().is_some_and(|b| b.len() != cfg.out_channels) {
            return Err(Error::Input(format!(
                "a convolution {:?} got {} weights (expected {expected}) and {} biases",
                cfg.weight_shape(),
                weight.len(),
                bias.as_ref().map_or(0, Vec::len)
            )));
        }
        Ok(Conv {
            cfg,
            weight,
            bias,
            plain: OnceLock::new(),
            map_kernel: OnceLock::new(),
            reverse: OnceLock::new(),
        })
    }

    /// The convolution as loaded, packed for its path on first use.
    fn kernel(&self) -> Result<&ConvKernel> {
        Ok(match self.plain.get() {
            Some(k) => k,
            None => {
                let k = Box::new(ConvKernel::new(
                    self.cfg,
                    &self.weight,
                    self.bias.as_deref(),
                )?);
                self.plain.get_or_init(|| k)
            }
        })
    }

    /// The convolution as loaded (bias included), with `act` after it.
    pub fn forward(
        &self,
        x: &[f32],
        n: usize,
        hw: (usize, usize),
        act: Option<Activation>,
    ) -> Result<(Vec<f32>, (usize, usize))> {
        self.forward_fused(x, n, hw, None, act)
    }

    /// [`ConvKernel::forward_fused`] on the convolution as loaded.
    pub fn forward_fused(
        &self,
        x: &[f32],
        n: usize,
        hw: (usize, usize),
        residual: Option<&[f32]>,
        act: Option<Activation>,
    ) -> Result<(Vec<f32>, (usize, usize))> {
        if conv_impl() == ConvImpl::Stock && is_winograd(&self.cfg) {
            let (mut y, (oh, ow)) = self.stock(x, n, hw, &self.weight, self.cfg.padding.0)?;
            add_bias(
                &mut y,
                self.bias
                    .as_deref()
                    .unwrap_or(&vec![0.0; self.cfg.out_channels]),
                oh * ow,
            );
            if let Some(r) = residual {
                if r.len() != y.len() {
                    return Err(Error::Input(format!(
                        "a residual of {} values added to {} outputs",
                        r.len(),
                        y.len()
                    )));
                }
                y.iter_mut().zip(r).for_each(|(v, r)| *v += r);
            }
            if let Some(a) = act {
                act::apply_in_place(a, &mut y);
            }
            return Ok((y, (oh, ow)));
        }
        let winograd_elsewhere = is_winograd(&self.cfg)
            && (is_small_map(Some(hw), gemm_micro::best().nr) || takes_direct(&self.cfg, Some(hw)));
        if winograd_elsewhere || takes_pointwise_lanes(&self.cfg, Some(hw)) {
            return self
                .kernel_for_map(hw)?
                .forward_fused(x, n, hw, residual, act);
        }
        self.kernel()?.forward_fused(x, n, hw, residual, act)
    }

    /// The kernel for maps the plain kernel does not serve best, packed on first use.
    fn kernel_for_map(&self, hw: (usize, usize)) -> Result<&ConvKernel> {
        Ok(match self.map_kernel.get() {
            Some(k) => k,
            None => {
                let k =
                    ConvKernel::for_maps(self.cfg, &self.weight, self.bias.as_deref(), Some(hw))?;
                self.map_kernel.get_or_init(|| Box::new(k))
            }
        })
    }

    /// candle's conv2d (stride 1, no bias): the path the benchmarks compare ours against
    /// for 3x3 convolutions (`conv::set_conv_impl(ConvImpl::Stock)`).
    fn stock(
        &self,
        x: &[f32],
        n: usize,
        (h, w): (usize, usize),
        weight: &[f32],
        padding: usize,
    ) -> Result<(Vec<f32>, (usize, usize))> {
        let shape = self.cfg.weight_shape();
        let (cin, cout) = (shape[1], shape[0]);
        let t = candle_core::Tensor::from_slice(x, (n, cin, h, w), &candle_core::Device::Cpu)?;
        let k =
            candle_core::Tensor::from_slice(weight, shape.as_slice(), &candle_core::Device::Cpu)?;
        let y = t.conv2d(&k, padding, 1, 1, 1)?;
        let (_, _, oh, ow) = y.dims4()?;
        let _ = cout;
        Ok((y.flatten_all()?.to_vec1()?, (oh, ow)))
    }

    /// The Winograd kernel of a 3x3 stride-1 convolution (incremental occlusion runs its
    /// "valid" mode on crops), if this convolution has one.
    pub fn winograd(&self) -> Option<&Winograd3x3> {
        match &self.kernel().ok()?.path {
            Path::Winograd(k) => Some(k),
            _ => None,
        }
    }

    /// The folded convolution + batch norm, for inputs of about `hw` where known.
    pub fn fold(&self, bn: &ChannelAffine, hw: Option<(usize, usize)>) -> Result<ConvKernel> {
        ConvKernel::folded(self.cfg, &self.weight, self.bias.as_deref(), bn, hw)
    }

    /// The gradient with respect to the input (`[n, in, h, w]`) from `g`, the gradient
    /// with respect to the output (`[n, out, oh, ow]`).
    pub fn backward(&self, g: &[f32], n: usize, (h, w): (usize, usize)) -> Result<Vec<f32>> {
        let cfg = &self.cfg;
        let (oh, ow) = out_size(cfg, h, w).ok_or_else(|| {
            Error::Input("convolution gradient of an input it does not fit".into())
        })?;
        if g.len() != n * cfg.out_channels * oh * ow {
            return Err(Error::Input(format!(
                "convolution gradient: {} values for {n} image(s) of {} x {oh}x{ow}",
                g.len(),
                cfg.out_channels
            )));
        }
        let call = Call {
            cfg,
            n,
            hw: (h, w),
            out_hw: (oh, ow),
        };
        let reverse = match self.reverse.get() {
            Some(r) => r,
            None => {
                let r = if is_winograd(cfg) {
                    Reverse::Winograd(Winograd3x3::new(
                        &flip_transpose(&self.weight, cfg),
                        cfg.in_channels,
                        cfg.out_channels,
                        None,
                    ))
                } else if cfg.is_depthwise() {
                    Reverse::Direct
                } else if is_pointwise(cfg) {
                    Reverse::Gemm(vec![PackedA::transposed(
                        &self.weight,
                        cfg.in_channels,
                        cfg.out_channels,
                    )])
                } else {
                    Reverse::Gemm(im2col::pack_transposed(&self.weight, cfg))
                };
                self.reverse.get_or_init(|| Box::new(r))
            }
        };
        if conv_impl() == ConvImpl::Stock && is_winograd(cfg) {
            // Stride 1, "same" padding: dx = conv(dy, flip(W)^T) with padding k - 1 - p.
            let flipped = flip_transpose(&self.weight, cfg);
            let t = candle_core::Tensor::from_slice(
                g,
                (n, cfg.out_channels, oh, ow),
                &candle_core::Device::Cpu,
            )?;
            let k = candle_core::Tensor::from_slice(
                &flipped,
                (cfg.in_channels, cfg.out_channels, 3, 3),
                &candle_core::Device::Cpu,
            )?;
            return Ok(t.conv2d(&k, 1, 1, 1, 1)?.flatten_all()?.to_vec1()?);
        }
        Ok(match &**reverse {
            // Stride 1, "same" padding: dx = conv(dy, flip(W)^T) with padding k - 1 - p.
            Reverse::Winograd(k) => k.forward(g, n, oh, ow),
            Reverse::Direct => depthwise::backward(&self.weight, &call, g),
            Reverse::Gemm(a) if is_pointwise(cfg) => pointwise::backward(&a[0], &call, g),
            Reverse::Gemm(a) => im2col::backward(a, &call, g),
        })
    }
}

/// `[out, in, 3, 3]` -> `[in, out, 3, 3]` with each kernel rotated by 180 degrees.
fn flip_transpose(w: &[f32], cfg: &ConvCfg) -> Vec<f32> {
    let (o, i, kk) = (
        cfg.out_channels,
        cfg.in_channels,
        cfg.kernel.0 * cfg.kernel.1,
    );
    let mut out = vec![0f32; w.len()];
    for a in 0..o {
        for b in 0..i {
            for t in 0..kk {
                out[(b * o + a) * kk + (kk - 1 - t)] = w[(a * i + b) * kk + t];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convolution by its definition, in f64: the reference for every path.
    fn naive(
        cfg: &ConvCfg,
        w: &[f32],
        b: &[f32],
        x: &[f32],
        n: usize,
        (h, wd): (usize, usize),
    ) -> Vec<f32> {
        let (oh, ow) = out_size(cfg, h, wd).unwrap();
        let (cin_g, cout_g) = (cfg.in_channels / cfg.groups, cfg.out_channels / cfg.groups);
        let (kh, kw) = cfg.kernel;
        let mut y = vec![0f32; n * cfg.out_channels * oh * ow];
        for img in 0..n {
            for o in 0..cfg.out_channels {
                let g = o / cout_g;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut s = b[o] as f64;
                        for ci in 0..cin_g {
                            let c = g * cin_g + ci;
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy * cfg.stride.0 + ky * cfg.dilation.0) as isize
                                        - cfg.padding.0 as isize;
                                    let ix = (ox * cfg.stride.1 + kx * cfg.dilation.1) as isize
                                        - cfg.padding.1 as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                        continue;
                                    }
                                    let xv = x[((img * cfg.in_channels + c) * h + iy as usize)
                                        * wd
                                        + ix as usize];
                                    s += w[((o * cin_g + ci) * kh + ky) * kw + kx] as f64
                                        * xv as f64;
                                }
                            }
                        }
                        y[((img * cfg.out_channels + o) * oh + oy) * ow + ox] = s as f32;
                    }
                }
            }
        }
        y
    }

    fn values(len: usize, seed: f32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract())
            .collect()
    }

    /// The largest absolute difference between two maps.
    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max)
    }

    fn cases() -> Vec<ConvCfg> {
        let mut dilated = ConvCfg::square(4, 6, 3, 1, 2);
        dilated.dilation = (2, 2);
        // Depthwise shapes the blocked loop does not take (dilation, a 2x2 kernel at
        // stride 3) go through the generic tap walk.
        let mut dilated_depthwise = ConvCfg::square(4, 4, 3, 1, 2).groups(4).bias(true);
        dilated_depthwise.dilation = (2, 2);
        vec![
            ConvCfg::square(3, 5, 3, 1, 1).bias(true), // Winograd
            ConvCfg::square(4, 6, 1, 1, 0),            // pointwise
            ConvCfg::square(4, 6, 1, 2, 0),            // strided pointwise (ResNet downsample)
            ConvCfg::square(6, 6, 3, 2, 1).groups(6),  // depthwise, stride 2
            ConvCfg::square(5, 5, 5, 1, 2).groups(5).bias(true), // depthwise 5x5
            ConvCfg::square(6, 6, 7, 1, 3).groups(6).bias(true), // ConvNeXt's 7x7 depthwise
            ConvCfg::square(3, 4, 7, 2, 3),            // ResNet's stem
            ConvCfg::square(3, 4, 4, 4, 0).bias(true), // ConvNeXt's patchify stem
            ConvCfg::square(8, 8, 3, 2, 1).groups(4),  // grouped, strided (ResNeXt)
            dilated,                                   // dilation 2
            dilated_depthwise,
            ConvCfg::square(3, 3, 2, 3, 1).groups(3), // depthwise 2x2, stride 3
        ]
    }

    #[test]
    fn every_path_matches_the_definition() {
        let (n, hw) = (2, (9, 7));
        for cfg in cases() {
            let w = values(cfg.weight_shape().iter().product(), 0.3);
            let b = if cfg.bias {
                values(cfg.out_channels, 1.1)
            } else {
                vec![0.0; cfg.out_channels]
            };
            let x = values(n * cfg.in_channels * hw.0 * hw.1, 2.7);
            let conv = Conv::new(cfg, w.clone(), cfg.bias.then(|| b.clone())).unwrap();
            let (y, _) = conv.forward(&x, n, hw, None).unwrap();
            let err = max_diff(&y, &naive(&cfg, &w, &b, &x, n, hw));
            assert!(err < 1e-4, "{cfg:?}: max error {err}");
        }
    }

    /// A 3x3 convolution packed for a small map (on this machine's micro-kernel) runs as
    /// the packed product, not Winograd, and gives the definition's values on that map
    /// and on a larger one.
    #[test]
    fn a_small_map_takes_the_product() {
        let cfg = ConvCfg::square(5, 9, 3, 1, 1).bias(true);
        let w = values(cfg.weight_shape().iter().product(), 0.3);
        let b = values(cfg.out_channels, 1.1);
        // 7x7: 16 tiles, less than AVX-512's 32-pixel panel, a whole AVX2 or wasm one.
        assert!(is_small_map(Some((7, 7)), 32));
        assert!(!is_small_map(Some((7, 7)), 16) && !is_small_map(Some((7, 7)), 8));
        assert!(!is_small_map(Some((14, 14)), 32) && !is_small_map(None, 32));
        let small = is_small_map(Some((7, 7)), gemm_micro::best().nr);
        let kernel = ConvKernel::for_maps(cfg, &w, Some(&b), Some((7, 7))).unwrap();
        assert_eq!(matches!(kernel.path, Path::General(_)), small);
        for hw in [(7, 7), (12, 10)] {
            let x = values(2 * cfg.in_channels * hw.0 * hw.1, 2.7);
            let (y, _) = kernel.forward_fused(&x, 2, hw, None, None).unwrap();
            let err = max_diff(&y, &naive(&cfg, &w, &b, &x, 2, hw));
            assert!(err < 1e-4, "{hw:?}: max error {err}");
        }
        // A convolution as loaded (no batch norm folded into it: ONNX exports) takes the
        // product on the first small map, and keeps Winograd for incremental occlusion.
        let conv = Conv::new(cfg, w.clone(), Some(b.clone())).unwrap();
        let x = values(cfg.in_channels * 49, 2.7);
        let (y, _) = conv.forward(&x, 1, (7, 7), None).unwrap();
        assert!(max_diff(&y, &naive(&cfg, &w, &b, &x, 1, (7, 7))) < 1e-4);
        assert_eq!(
            conv.map_kernel
                .get()
                .is_some_and(|k| matches!(k.path, Path::General(_))),
            small
        );
        assert!(conv.winograd().is_some());
    }

    /// Weights, biases and `n` images of `hw` for `cfg`.
    fn biased_inputs(
        cfg: &ConvCfg,
        n: usize,
        hw: (usize, usize),
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        (
            values(cfg.weight_shape().iter().product(), 0.3),
            values(cfg.out_channels, 1.1),
            values(n * cfg.in_channels * hw.0 * hw.1, 2.7),
        )
    }

    /// The epilogues fused kernels are checked under: none, `residual` then ReLU, ReLU6.
    fn epilogues(residual: &[f32]) -> [(Option<&[f32]>, Option<Activation>); 3] {
        [
            (None, None),
            (Some(residual), Some(Activation::Relu)),
            (None, Some(Activation::Relu6)),
        ]
    }

    /// `conv` (the definition's outputs) with `residual` added, then `act`: what a fused
    /// kernel should give.
    fn fused_reference(
        conv: &[f32],
        residual: Option<&[f32]>,
        act: Option<Activation>,
    ) -> Vec<f32> {
        conv.iter()
            .enumerate()
            .map(|(i, v)| {
                let v = v + residual.map_or(0.0, |r| r[i]);
                act.map_or(v, |a| act::apply(a, v))
            })
            .collect()
    }

    /// Convolutions on the direct kernel (where this CPU has AVX-512): 3x3 at stride 1
    /// and 2, odd sizes, filter counts that leave partial and padded blocks, channels in
    /// one chunk and in several (`direct::CHUNK_WEIGHTS`), a 1x1 map,
    /// the stems (7x7 and 3x3 at stride 2 over 3 channels), with and without a residual
    /// under each clamp.
    #[test]
    fn the_direct_kernel_matches_the_definition() {
        let cases = [
            (ConvCfg::square(16, 20, 3, 1, 1).bias(true), (9, 7)),
            (ConvCfg::square(17, 30, 3, 2, 1).bias(true), (11, 8)),
            (ConvCfg::square(16, 12, 3, 2, 1), (7, 7)),
            (ConvCfg::square(24, 6, 3, 1, 1), (1, 1)),
            (ConvCfg::square(32, 36, 3, 1, 1), (40, 37)),
            // 4-filter blocks over 61 channels: two chunks of channels, the last partial.
            (ConvCfg::square(61, 4, 3, 2, 1).bias(true), (9, 9)),
            (ConvCfg::square(3, 16, 7, 2, 3), (23, 20)), // ResNet's stem
            (ConvCfg::square(3, 8, 3, 2, 1).bias(true), (15, 16)), // MobileNet's
            // Rows of 32 positions or more: spans stored from the registers, in one or
            // two runs of lanes (stems on wider maps, 12 + 4 filters).
            (ConvCfg::square(3, 16, 7, 2, 3), (12, 72)),
            (ConvCfg::square(3, 8, 3, 2, 1).bias(true), (9, 70)),
            // Rows of at most 14 outputs (or a multiple) take 32 filters in lanes: a
            // partial second block, stride 2 over an odd map, tiles of 1-3 outputs.
            (ConvCfg::square(20, 40, 3, 1, 1).bias(true), (7, 5)),
            (ConvCfg::square(17, 33, 3, 2, 1), (13, 11)),
            (ConvCfg::square(16, 32, 3, 1, 1).bias(true), (2, 3)),
            // Rows of 14 and 28 outputs: the 14-wide assembly kernel, stride 1 and 2.
            (ConvCfg::square(16, 32, 3, 1, 1).bias(true), (5, 28)),
            (ConvCfg::square(18, 36, 3, 2, 1), (9, 28)),
            // A second block of 24 filters: its second 16 stored in part.
            (ConvCfg::square(16, 56, 3, 1, 1).bias(true), (6, 14)),
        ];
        for (cfg, hw) in cases {
            let n = 2;
            let (w, b, x) = biased_inputs(&cfg, n, hw);
            let kernel = ConvKernel::for_maps(cfg, &w, Some(&b), Some(hw)).unwrap();
            let lanes = out_size(&cfg, hw.0, hw.1).is_some_and(|o| FilterLanesConv::suits(&cfg, o));
            assert_eq!(
                matches!(kernel.path, Path::Direct(_)),
                DirectConv::available() && !lanes,
                "{cfg:?}"
            );
            assert_eq!(
                matches!(kernel.path, Path::FilterLanes(_)),
                DirectConv::available() && lanes,
                "{cfg:?}"
            );
            let want = naive(&cfg, &w, &b, &x, n, hw);
            let residual = values(want.len(), 4.4);
            for (res, a) in epilogues(&residual) {
                let (y, _) = kernel.forward_fused(&x, n, hw, res, a).unwrap();
                let err = max_diff(&y, &fused_reference(&want, res, a));
                assert!(err < 1e-4, "{cfg:?} {hw:?} {a:?}: max error {err}");
            }
        }
    }

    /// 1x1 convolutions on maps up to 56x56 take the filter lanes (where this CPU has
    /// AVX-512): at stride 1 over a flat row of 49 outputs (three tiles of 14 and one of
    /// 7), of 45 and of 60 (rows of 15), at stride 2 into rows of 14, from a copy of a small plane and in
    /// place from a larger one; 40 and 33 filters leave a partial second
    /// block (whose filters the first prefetches). Each with and without a residual under
    /// each clamp, packed for the map and as loaded; a 112x112 map keeps the product.
    #[test]
    fn pointwise_lanes_match_the_definition() {
        let cases = [
            (ConvCfg::square(16, 40, 1, 1, 0).bias(true), (7, 7)),
            (ConvCfg::square(20, 33, 1, 1, 0), (5, 9)),
            // Rows of 15 (neither at most 14 nor a multiple): the flat row still fits.
            (ConvCfg::square(16, 32, 1, 1, 0), (4, 15)),
            (ConvCfg::square(16, 32, 1, 2, 0).bias(true), (13, 28)),
            // 7x7 outputs of 14x13: a compact copy read as one row of 49 (14 x 3 + 7).
            (ConvCfg::square(16, 40, 1, 2, 0), (14, 13)),
            // A plane of 29x28 (812 values): read in place, every other value.
            (ConvCfg::square(16, 32, 1, 2, 0), (29, 28)),
        ];
        for (cfg, hw) in cases {
            let n = 2;
            let (w, b, x) = biased_inputs(&cfg, n, hw);
            let kernel = ConvKernel::for_maps(cfg, &w, Some(&b), Some(hw)).unwrap();
            assert_eq!(
                matches!(kernel.path, Path::FilterLanes(_)),
                DirectConv::available(),
                "{cfg:?}"
            );
            let conv = Conv::new(cfg, w.clone(), Some(b.clone())).unwrap();
            let want = naive(&cfg, &w, &b, &x, n, hw);
            let residual = values(want.len(), 4.4);
            for (res, a) in epilogues(&residual) {
                let want = fused_reference(&want, res, a);
                let (y, _) = kernel.forward_fused(&x, n, hw, res, a).unwrap();
                let err = max_diff(&y, &want);
                assert!(err < 1e-4, "{cfg:?} {hw:?} {a:?}: max error {err}");
                let (y, _) = conv.forward_fused(&x, n, hw, res, a).unwrap();
                let err = max_diff(&y, &want);
                assert!(
                    err < 1e-4,
                    "as loaded {cfg:?} {hw:?} {a:?}: max error {err}"
                );
            }
            assert_eq!(
                conv.map_kernel
                    .get()
                    .is_some_and(|k| matches!(k.path, Path::FilterLanes(_))),
                DirectConv::available()
            );
        }
        let big = ConvCfg::square(16, 96, 1, 1, 0);
        let w = values(big.weight_shape().iter().product(), 0.3);
        let kernel = ConvKernel::for_maps(big, &w, None, Some((112, 112))).unwrap();
        assert!(matches!(kernel.path, Path::Pointwise(_)));
    }

    /// A light 3x3 convolution as loaded (DenseNet's, its batch norm before it) runs on
    /// the direct kernel for a map up to 56x56 and keeps Winograd for incremental
    /// occlusion; a heavy one (VGG16's 512 channels at 28x28) stays on Winograd.
    #[test]
    fn a_light_convolution_as_loaded_takes_the_direct_kernel() {
        let cfg = ConvCfg::square(24, 12, 3, 1, 1).bias(true);
        let (w, b) = (
            values(cfg.weight_shape().iter().product(), 0.3),
            values(cfg.out_channels, 1.1),
        );
        let conv = Conv::new(cfg, w.clone(), Some(b.clone())).unwrap();
        let hw = (10, 9);
        let x = values(cfg.in_channels * hw.0 * hw.1, 2.7);
        let (y, _) = conv.forward(&x, 1, hw, Some(Activation::Relu)).unwrap();
        let want: Vec<f32> = naive(&cfg, &w, &b, &x, 1, hw)
            .iter()
            .map(|v| v.max(0.0))
            .collect();
        assert!(max_diff(&y, &want) < 1e-4);
        assert_eq!(
            conv.map_kernel
                .get()
                .is_some_and(|k| matches!(k.path, Path::Direct(_))),
            DirectConv::available()
        );
        assert!(conv.winograd().is_some());
        assert!(!takes_direct(
            &ConvCfg::square(512, 512, 3, 1, 1),
            Some((28, 28))
        ));
    }

    /// Depthwise convolutions with outputs of at most 7x7 (where this CPU has AVX-512,
    /// channels across the lanes, or two output rows per vector where
    /// `depthwise_pairs` takes them): whole and partial groups of 16 channels, 3x3, 5x5
    /// and 7x7, stride 1 and 2, rows of up to 12 pixels, each clamp.
    #[test]
    fn small_depthwise_planes_match_the_definition() {
        for (cfg, hw) in [
            (
                ConvCfg::square(37, 37, 3, 1, 1).groups(37).bias(true),
                (7, 7),
            ),
            (
                ConvCfg::square(20, 20, 5, 2, 2).groups(20).bias(true),
                (14, 13),
            ),
            (
                ConvCfg::square(16, 16, 3, 2, 1).groups(16).bias(true),
                (14, 14),
            ),
            (ConvCfg::square(5, 5, 5, 1, 2).groups(5).bias(true), (3, 6)),
            // Rows longer than the 8 pixels summed at once; a kernel of no square
            // specialisation.
            (
                ConvCfg::square(18, 18, 3, 1, 1).groups(18).bias(true),
                (4, 12),
            ),
            (
                ConvCfg::square(17, 17, 7, 1, 3).groups(17).bias(true),
                (7, 7),
            ),
        ] {
            // The kernels check AVX-512F the same way.
            #[cfg(target_arch = "x86_64")]
            assert_eq!(
                depthwise_lanes::takes(&cfg, hw) || depthwise_pairs::takes(&cfg, hw),
                DirectConv::available(),
                "{cfg:?}"
            );
            assert_matches_naive(cfg, 2, hw);
        }
    }

    /// Depthwise convolutions two output rows per vector where this CPU has AVX-512:
    /// stride 1 on rows of 1 to 8 pixels (planes of one row, odd and even numbers of rows,
    /// more than one block of 8 rows; 3x3, 5x5 and 7x7 kernels, wider than the plane
    /// too) and 3x3 stride 2 into rows of up to 7 (odd and even input sizes, more than
    /// one block); channels across more than one task of planes, each clamp.
    #[test]
    fn narrow_depthwise_planes_match_the_definition() {
        for (k, stride, hw) in [
            (3, 1, (7, 7)),
            (3, 1, (1, 5)),
            (3, 1, (11, 8)),
            (5, 1, (7, 7)),
            (5, 1, (4, 1)),
            (7, 1, (7, 7)),
            (7, 1, (17, 3)),
            (3, 2, (14, 14)),
            (3, 2, (13, 9)),
            (3, 2, (19, 2)),
            (3, 2, (1, 13)),
        ] {
            let cfg = ConvCfg::square(37, 37, k, stride, k / 2)
                .groups(37)
                .bias(true);
            #[cfg(target_arch = "x86_64")]
            assert_eq!(
                depthwise_pairs::takes(&cfg, hw),
                DirectConv::available(),
                "{cfg:?}"
            );
            assert_matches_naive(cfg, 3, hw);
        }
    }

    /// `n` images of `hw` through `cfg` (with a bias), without an activation and with
    /// each clamp, against the definition.
    fn assert_matches_naive(cfg: ConvCfg, n: usize, hw: (usize, usize)) {
        let w = values(cfg.weight_shape().iter().product(), 0.3);
        let b = values(cfg.out_channels, 1.1);
        let x = values(n * cfg.in_channels * hw.0 * hw.1, 2.7);
        let conv = Conv::new(cfg, w.clone(), Some(b.clone())).unwrap();
        let want = naive(&cfg, &w, &b, &x, n, hw);
        for a in [None, Some(Activation::Relu), Some(Activation::Relu6)] {
            let (y, _) = conv.forward(&x, n, hw, a).unwrap();
            let want: Vec<f32> = want
                .iter()
                .map(|v| a.map_or(*v, |a| act::apply(a, *v)))
                .collect();
            let err = max_diff(&y, &want);
            assert!(err < 1e-5, "{cfg:?} {hw:?} {a:?}: max error {err}");
        }
    }

    #[test]
    fn wide_depthwise_planes_match_the_definition() {
        // Rows wide enough for the blocked loop's full blocks, borders and leftovers.
        for hw in [(6, 45), (5, 38)] {
            for cfg in [
                ConvCfg::square(3, 3, 3, 1, 1).groups(3).bias(true),
                ConvCfg::square(3, 3, 3, 2, 1).groups(3).bias(true),
                ConvCfg::square(2, 2, 5, 2, 2).groups(2).bias(true),
                ConvCfg::square(2, 2, 7, 1, 3).groups(2).bias(true),
                ConvCfg::square(2, 2, 3, 2, 0).groups(2).bias(true),
            ] {
                assert_matches_naive(cfg, 2, hw);
            }
        }
    }

    #[test]
    fn every_input_gradient_is_the_adjoint() {
        // <conv(x) - bias, g> == <x, conv_backward(g)>: the input gradient of a linear map.
        let (n, hw) = (2, (9, 7));
        for cfg in cases() {
            let cfg = ConvCfg { bias: false, ..cfg };
            let w = values(cfg.weight_shape().iter().product(), 0.3);
            let x = values(n * cfg.in_channels * hw.0 * hw.1, 2.7);
            let conv = Conv::new(cfg, w, None).unwrap();
            let (y, (oh, ow)) = conv.forward(&x, n, hw, None).unwrap();
            let g = values(n * cfg.out_channels * oh * ow, 5.1);
            let dx = conv.backward(&g, n, hw).unwrap();
            let lhs: f64 = y.iter().zip(&g).map(|(a, b)| *a as f64 * *b as f64).sum();
            let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| *a as f64 * *b as f64).sum();
            assert!(
                (lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0),
                "{cfg:?}: {lhs} vs {rhs}"
            );
        }
    }

    #[test]
    fn a_fused_residual_and_activation_equal_applying_them_after() {
        let (n, hw) = (2, (9, 7));
        for cfg in cases() {
            let w = values(cfg.weight_shape().iter().product(), 0.3);
            let b = values(cfg.out_channels, 1.1);
            let x = values(n * cfg.in_channels * hw.0 * hw.1, 2.7);
            let conv = Conv::new(cfg, w, Some(b)).unwrap();
            let k = conv.kernel().unwrap();
            let (plain, _) = k.forward_fused(&x, n, hw, None, None).unwrap();
            let residual = values(plain.len(), 3.9);
            for a in [Activation::Relu, Activation::Relu6, Activation::Silu] {
                let (fused, _) = k
                    .forward_fused(&x, n, hw, Some(&residual), Some(a))
                    .unwrap();
                let want: Vec<f32> = plain
                    .iter()
                    .zip(&residual)
                    .map(|(p, r)| act::apply(a, p + r))
                    .collect();
                if a != Activation::Silu {
                    assert!(want.contains(&0.0), "{cfg:?}: the clamp is exercised");
                }
                for (got, want) in fused.iter().zip(&want) {
                    assert!(
                        (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                        "{cfg:?} {a:?}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn folding_a_batch_norm_equals_applying_it() {
        let cfg = ConvCfg::square(4, 3, 1, 1, 0);
        let w = values(12, 0.5);
        let bn = ChannelAffine::batch_norm(
            &[1.5, 0.5, -2.0],
            &[0.1, 0.2, 0.3],
            &[0.3, -0.2, 0.0],
            &[2.0, 0.5, 1.0],
            1e-5,
        );
        let x = values(4 * 5, 1.0);
        let conv = Conv::new(cfg, w, None).unwrap();
        let (plain, _) = conv.forward(&x, 1, (1, 5), None).unwrap();
        let then_bn = bn.forward(&plain, 5);
        let (folded, _) = conv
            .fold(&bn, None)
            .unwrap()
            .forward_fused(&x, 1, (1, 5), None, None)
            .unwrap();
        for (a, b) in folded.iter().zip(&then_bn) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
