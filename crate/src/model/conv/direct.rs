//! Direct convolutions (square kernels, stride 1 or 2) with AVX-512, natively: the stems
//! and stride-2 convolutions, which the unfolded product packs tap by tap, and the 3x3
//! convolutions of ResNet's middle layers, where Winograd's transforms cost more than its
//! 2.25x fewer multiply-adds save (`takes_direct` in `ops::conv` says which, measured).
//!
//! The input is copied once, zero-padded and, for stride 2, split into its four phases
//! ([`Unfolded`]); each phase plane is then read as one flat row of `rows x cols` values.
//! Output pixel `(oy, ox)` is position `q = oy * cols + ox` of that flat row, and tap
//! `(ky, kx)` reads position `q` plus a constant offset, so 16 consecutive outputs are one
//! unaligned vector load per tap, whatever the row boundaries: the positions past a row's
//! last output (`ox >= ow`) are computed and never stored. A block of `R` output channels
//! x 32 positions stays in 2R registers across all input channels and taps (each weight
//! broadcast once, each input vector loaded once for `R` filters); the store adds the
//! bias and residual and clamps, from the registers in masked vectors where the span's
//! positions fall in at most two output rows ([`Sink`]), else through a tile.

// The kernel exists natively on x86_64 only; elsewhere `DirectConv::available` is false
// and the rest is never run.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code, unused_mut))]

use super::gemm_micro::Clamp;
use super::packed_gemm::Out;
use super::unfolded::Unfolded;
use crate::model::graph::ConvCfg;
use crate::model::ops::output::{overwritten, with_scratch, Scratch};
use rayon::prelude::*;
use std::cell::RefCell;

/// Positions per block: two 16-lane vectors.
const SPAN: usize = 32;
/// Filters per block (the last block of a layer takes 4 or 8 where those are left):
/// 12 x 2 accumulators, two input vectors and a broadcast weight fill 27 of AVX-512's
/// 32 registers.
const ROWS: usize = 12;
/// Bytes of input per band of output positions ([`DirectConv::image`]): within L2.
const BAND_BYTES: usize = 512 * 1024;
/// Bytes of a block's filters per chunk of input channels ([`block_planes`]): within L1
/// beside the input lines a span reads (8 KB measured 2-3% faster than 16 or 32).
const CHUNK_WEIGHTS: usize = 8 * 1024;

thread_local! {
    /// Each thread's sums so far, per span, of the block it computes.
    static PARTIAL: Scratch = const { RefCell::new(Vec::new()) };
}

/// A convolution's weights packed per block of filters as `[in][tap][filter]`.
#[derive(Debug)]
pub struct DirectConv {
    cfg: ConvCfg,
    /// `(first filter, filters in the block, offset in weights)`; a block's filters
    /// beyond the layer's have zero weights and are never stored.
    blocks: Vec<(usize, usize, usize)>,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl DirectConv {
    /// Whether this CPU runs the kernel (AVX-512F, natively).
    pub fn available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::is_x86_feature_detected!("avx512f")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Whether `cfg` is a convolution this kernel computes: a square kernel, the same
    /// padding on every side (less than the kernel), stride 1 or 2, no dilation or
    /// groups. Which of those run on it is the caller's choice.
    pub fn fits(cfg: &ConvCfg) -> bool {
        let (k, p) = (cfg.kernel.0, cfg.padding.0);
        cfg.kernel == (k, k)
            && cfg.padding == (p, p)
            && p < k
            && (cfg.stride == (1, 1) || cfg.stride == (2, 2))
            && cfg.dilation == (1, 1)
            && cfg.groups == 1
    }

    /// Packs `weight` (`[out, in, k, k]`) and its bias (zeros if none).
    pub fn new(cfg: ConvCfg, weight: &[f32], bias: Option<&[f32]>) -> Self {
        let cout = cfg.out_channels;
        // Filters that split into blocks of 8 but not of 12 take 8 throughout: the 64
        // filters of ResNet's and DenseNet's stems as 5 x 12 + 4 ran their last block at
        // a third of the multiply-adds per load; as 8 x 8, ResNet-50's stem took 1.22-1.25
        // ms against 1.37-1.39, ResNet-18's 1.20 against 1.29 (runs alternating in one
        // process, one thread). MobileNetV2's 32 (12 + 12 + 8 against 4 x 8): the same.
        let top = if !cout.is_multiple_of(ROWS) && cout.is_multiple_of(8) {
            8
        } else {
            ROWS
        };
        let mut blocks = Vec::new();
        let mut first = 0;
        while first < cout {
            let left = cout - first;
            let rows = if left >= top {
                top
            } else {
                left.div_ceil(4) * 4
            };
            blocks.push((first, rows, 0));
            first += rows;
        }
        let mut weights = Vec::new();
        for block in &mut blocks {
            let (first, rows, _) = *block;
            block.2 = weights.len();
            pack_filters(weight, &cfg, first..first + rows, &mut weights);
        }
        DirectConv {
            cfg,
            blocks,
            weights,
            bias: bias.map_or_else(|| vec![0.0; cout], <[f32]>::to_vec),
        }
    }

    /// `clamp(conv(x) + bias [+ residual])` for `n` images of `h x w` into `oh x ow`
    /// (the caller checked the sizes). Only where [`Self::available`].
    pub fn forward(
        &self,
        x: &[f32],
        n: usize,
        (h, w): (usize, usize),
        (oh, ow): (usize, usize),
        residual: Option<&[f32]>,
        clamp: Clamp,
    ) -> Vec<f32> {
        let (cin, cout) = (self.cfg.in_channels, self.cfg.out_channels);
        let s = self.cfg.stride.0;
        // SAFETY: every image's blocks store every filter's every output pixel.
        unsafe {
            per_image(
                x,
                n,
                (cin * h * w, cout * oh * ow),
                residual,
                |xs, ys, res| self.image(xs, s, (h, w), (oh, ow), ys, res, clamp),
            )
        }
    }

    pub fn cfg(&self) -> &ConvCfg {
        &self.cfg
    }

    /// The zero-padded phase planes of one image of `hw` for an output of `out_hw`, with
    /// the tail the kernel reads past the last channel: the input of
    /// [`Self::rows_into`].
    pub fn unfold(&self, x: &[f32], hw: (usize, usize), out_hw: (usize, usize)) -> Unfolded {
        let taps = PhaseTaps::new(&self.cfg, hw);
        let far = taps.offsets.iter().copied().max().unwrap_or(0);
        // The last block's vectors read up to `spans * SPAN + far` past the last
        // channel's start; a band's last span may start up to a span past where the
        // image's would.
        let spans = (out_hw.0 * taps.cols).div_ceil(SPAN) + 1;
        let tail = (spans * SPAN + far).saturating_sub(taps.channel);
        Unfolded::with_tail(x, self.cfg.in_channels, &self.cfg, hw, out_hw, tail)
    }

    /// `clamp(conv(x) + bias)` at output rows `rows` of one image (`padded` its
    /// [`Self::unfold`]ed input of `hw`), into `out`: each filter's rows from the start of
    /// its plane, the planes `plane_rows` rows of `ow` apart (a band of a larger buffer;
    /// the last plane needs room for the rows only).
    /// Only where [`Self::available`].
    #[allow(clippy::too_many_arguments)]
    pub fn rows_into(
        &self,
        padded: &Unfolded,
        hw: (usize, usize),
        ow: usize,
        rows: std::ops::Range<usize>,
        out: &mut [f32],
        plane_rows: usize,
        clamp: Clamp,
    ) {
        let taps = PhaseTaps::new(&self.cfg, hw);
        let cols = taps.cols;
        let input = &padded.phases()[rows.start * cols..];
        assert!(
            rows.len() <= plane_rows
                && out.len() >= (self.cfg.out_channels - 1) * plane_rows * ow + rows.len() * ow
                && input.len() + rows.start * cols >= self.cfg.in_channels * taps.channel,
            "direct rows: buffer sizes"
        );
        if rows.is_empty() {
            return;
        }
        let positions = (rows.len() - 1) * cols + ow;
        let geometry = Geometry {
            taps,
            positions,
            out_hw: (plane_rows, ow),
        };
        let spans = positions.div_ceil(SPAN);
        // SAFETY (`band`): `out` holds every filter's `plane_rows` rows (checked), and the
        // unfolded planes' tail covers the last span's reads.
        self.band(
            &(0..spans),
            input,
            &geometry,
            Out(out.as_mut_ptr()),
            None,
            clamp,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn image(
        &self,
        x: &[f32],
        s: usize,
        hw: (usize, usize),
        (oh, ow): (usize, usize),
        y: &mut [f32],
        residual: Option<&[f32]>,
        clamp: Clamp,
    ) {
        let cin = self.cfg.in_channels;
        let taps = PhaseTaps::new(&self.cfg, hw);
        let (channel, cols) = (taps.channel, taps.cols);
        let positions = oh * cols;
        let spans = positions.div_ceil(SPAN);
        let padded = self.unfold(x, hw, (oh, ow));
        let input = padded.phases();
        let geometry = Geometry {
            taps,
            positions,
            out_hw: (oh, ow),
        };
        let out = Out(y.as_mut_ptr());
        // Bands of spans whose input (every channel's phases, plus the rows the taps
        // reach below) stays in L2 while every block of filters passes over it: a
        // stride-2 layer's whole input (ResNet-50's layer2.0: 1.7 MB) streamed from L3
        // once per block otherwise.
        // Where the filters outweigh the input (layer3.0, layer4.0: 2.4 and 9.4 MB), they
        // are what would stream again per band: one band, each block's filters read once.
        let per_span = cin * s * s * SPAN * 4;
        let reach = cin * s * s * self.cfg.kernel.0 * cols * 4;
        let band = if 4 * cin * channel <= BAND_BYTES.max(4 * self.weights.len()) {
            spans
        } else {
            (BAND_BYTES.saturating_sub(reach) / per_span).max(1)
        };
        for first_span in (0..spans).step_by(band) {
            let spans = first_span..(first_span + band).min(spans);
            self.band(&spans, input, &geometry, out, residual, clamp);
        }
    }

    /// Every block of filters over the output positions of `spans`.
    fn band(
        &self,
        spans: &std::ops::Range<usize>,
        input: &[f32],
        geometry: &Geometry,
        out: Out,
        residual: Option<&[f32]>,
        clamp: Clamp,
    ) {
        let cin = self.cfg.in_channels;
        let run = |&(first, rows, at): &(usize, usize, usize)| {
            let block = Block {
                first,
                rows: rows.min(self.cfg.out_channels - first),
                packed: rows,
                weights: &self.weights[at..][..cin * geometry.taps.offsets.len() * rows],
                bias: &self.bias[first..],
            };
            // SAFETY: each block writes only its own filters' planes of `y`, which
            // `out` covers; the input holds every position the kernel reads.
            unsafe {
                block_planes(
                    &block,
                    spans.clone(),
                    input,
                    cin,
                    geometry,
                    out,
                    residual,
                    clamp,
                )
            };
        };
        if rayon::current_num_threads() > 1 && self.blocks.len() > 1 {
            self.blocks.par_iter().for_each(run);
        } else {
            self.blocks.iter().for_each(run);
        }
    }
}

/// Where each tap reads [`Unfolded`]'s phase planes: output `(oy, ox)` is position
/// `oy * cols + ox` of a plane and tap `ky * k + kx` reads `offsets[tap]` past it, in
/// phase `(ky mod s, kx mod s)` at `(ky / s, kx / s)`; a channel holds `s * s` planes.
pub(super) struct PhaseTaps {
    /// Values per input channel (its phase planes).
    pub channel: usize,
    /// A phase plane's columns.
    pub cols: usize,
    pub offsets: Vec<usize>,
    /// Values between consecutive outputs' inputs along a row: 1 on phase planes; a
    /// strided 1x1 convolution read in place ([`super::filter_lanes`]) steps its stride.
    pub step: usize,
}

impl PhaseTaps {
    pub fn new(cfg: &ConvCfg, hw: (usize, usize)) -> Self {
        let (k, s) = (cfg.kernel.0, cfg.stride.0);
        let (rows, cols) = Unfolded::phase_hw(cfg, hw);
        let plane = rows * cols;
        let offsets = (0..k * k)
            .map(|tap| {
                let (ky, kx) = (tap / k, tap % k);
                ((ky % s) * s + kx % s) * plane + (ky / s) * cols + kx / s
            })
            .collect();
        PhaseTaps {
            channel: s * s * plane,
            cols,
            offsets,
            step: 1,
        }
    }
}

/// Appends filters `filters` of `weight` (`[out, in, k, k]`, as `cfg`) as `[in][tap]
/// [filter]`, zeros for those past the layer's: the layout both direct kernels read.
pub(super) fn pack_filters(
    weight: &[f32],
    cfg: &ConvCfg,
    filters: std::ops::Range<usize>,
    out: &mut Vec<f32>,
) {
    let (cin, cout) = (cfg.in_channels, cfg.out_channels);
    let taps = cfg.kernel.0 * cfg.kernel.1;
    for ci in 0..cin {
        for tap in 0..taps {
            out.extend(filters.clone().map(|co| {
                if co < cout {
                    weight[(co * cin + ci) * taps + tap]
                } else {
                    0.0
                }
            }));
        }
    }
}

/// `image(x, y, residual)` for each of `n` images (`sizes`: values per input and per
/// output image) into a new output.
///
/// # Safety
/// `image` writes every value of its output image.
pub(super) unsafe fn per_image(
    x: &[f32],
    n: usize,
    (input, output): (usize, usize),
    residual: Option<&[f32]>,
    mut image: impl FnMut(&[f32], &mut [f32], Option<&[f32]>),
) -> Vec<f32> {
    // SAFETY: the caller's `image` fills each output image.
    unsafe {
        overwritten(n * output, |y| {
            for img in 0..n {
                let res = residual.map(|r| &r[img * output..][..output]);
                image(
                    &x[img * input..][..input],
                    &mut y[img * output..][..output],
                    res,
                );
            }
        })
    }
}

/// Where the taps read and the outputs go for one image.
struct Geometry {
    /// The phase planes' layout; their columns are the width of the flattened rows.
    taps: PhaseTaps,
    /// Output positions `oh * cols` (the last row's padding positions left out).
    positions: usize,
    out_hw: (usize, usize),
}

/// One block of filters: the first, how many the layer has, how many the weights hold
/// (4, 8 or 12; those past the layer's are zeros), their packed weights and biases from
/// the first on.
struct Block<'a> {
    first: usize,
    rows: usize,
    packed: usize,
    weights: &'a [f32],
    bias: &'a [f32],
}

/// Every output position of one block of filters. Where the block's filters outgrow
/// [`CHUNK_WEIGHTS`], the input channels go in chunks, each over every span, so a chunk's
/// filters stay in L1 while the spans pass under them (the whole block's, 55-220 KB at
/// 128-512 channels, came from L2 for every span): ResNet-50's 3x3s 19.0 -> 18.4 ms,
/// DenseNet-121's 15.9 -> 15.1.
///
/// # Safety
/// `out` covers the layer's `[out, oh, ow]` output, no other thread writes this block's
/// planes, and `input` holds `geometry.taps.channel` values per input channel plus the tail
/// the last span reads; the kernel needs AVX-512F.
#[allow(clippy::too_many_arguments)]
unsafe fn block_planes(
    block: &Block,
    spans: std::ops::Range<usize>,
    input: &[f32],
    cin: usize,
    geometry: &Geometry,
    out: Out,
    residual: Option<&[f32]>,
    clamp: Clamp,
) {
    let taps = geometry.taps.offsets.len();
    let chunk = CHUNK_WEIGHTS / (4 * taps * block.packed).max(1);
    if cin <= chunk {
        let mut tile = [0f32; ROWS * SPAN];
        for span in spans {
            let q0 = span * SPAN;
            let sink = Sink::for_span(q0, block, geometry, out, residual, clamp);
            unsafe {
                span_sums(
                    block,
                    &input[q0..],
                    geometry,
                    (0, cin),
                    &mut tile,
                    false,
                    sink.as_ref(),
                )
            };
            if sink.is_none() {
                store_span(&tile, q0, block, geometry, out, residual, clamp);
            }
        }
        return;
    }
    // Channels in chunks whose filters stay in L1 while every span passes under them,
    // the sums so far kept per span.
    let first = spans.start;
    with_scratch(&PARTIAL, spans.len() * ROWS * SPAN, |partial| {
        for c0 in (0..cin).step_by(chunk) {
            let cc = chunk.min(cin - c0);
            for span in spans.clone() {
                let q0 = span * SPAN;
                let Ok(tile) = <&mut [f32; ROWS * SPAN]>::try_from(
                    &mut partial[(span - first) * ROWS * SPAN..][..ROWS * SPAN],
                ) else {
                    unreachable!("tiles of ROWS x SPAN values");
                };
                let at = &input[c0 * geometry.taps.channel + q0..];
                let last = c0 + cc >= cin;
                let sink = last
                    .then(|| Sink::for_span(q0, block, geometry, out, residual, clamp))
                    .flatten();
                unsafe { span_sums(block, at, geometry, (c0, cc), tile, c0 > 0, sink.as_ref()) };
                if last && sink.is_none() {
                    store_span(tile, q0, block, geometry, out, residual, clamp);
                }
            }
        }
    });
}

/// A span's sums over channels `c0..c0 + cc` (`input` from channel `c0`'s plane at the
/// span's first position), added to the tile's with `add`.
///
/// # Safety
/// As [`block_planes`].
unsafe fn span_sums(
    block: &Block,
    input: &[f32],
    geometry: &Geometry,
    (c0, cc): (usize, usize),
    tile: &mut [f32; ROWS * SPAN],
    add: bool,
    sink: Option<&Sink>,
) {
    #[cfg(target_arch = "x86_64")]
    unsafe {
        let taps = geometry.taps.offsets.len();
        let w = block.weights[c0 * taps * block.packed..].as_ptr();
        let kernel = match block.packed {
            12 => avx512::span::<12>,
            8 => avx512::span::<8>,
            _ => avx512::span::<4>,
        };
        kernel(
            input.as_ptr(),
            geometry.taps.channel,
            &geometry.taps.offsets,
            w,
            cc,
            tile.as_mut_ptr(),
            add,
            sink,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (block, input, geometry, c0, cc, tile, add, sink);
}

/// Where a span's sums go when they are stored straight from the registers (masked
/// AVX-512 stores) instead of through the tile and [`store_span`]'s loop per filter row,
/// which ran 4 lanes wide and took about as long as the sums in the stems (0.26 ms of
/// MobileNetV2's 0.78): MobileNetV2's stem 0.08-0.14 ms faster, ResNet-50's 0.2-0.27,
/// DenseNet-121's ~0.45 (one thread, A/B in one process). Holds the block's first
/// filter's plane, up to two runs of lanes that are rows of output (a mask of the
/// span's 32 lanes, and where lane 0 would be in the plane), the biases, residual and
/// clamp.
struct Sink {
    out: *mut f32,
    residual: *const f32,
    bias: *const f32,
    rows: usize,
    plane: usize,
    runs: [(u32, isize); 2],
    count: usize,
    clamp: Clamp,
}

impl Sink {
    /// The sink of the span at `q0`, or `None` where its lanes fall in more than two rows
    /// (rows of fewer than `SPAN` positions): those go through the tile.
    fn for_span(
        q0: usize,
        block: &Block,
        geometry: &Geometry,
        out: Out,
        residual: Option<&[f32]>,
        clamp: Clamp,
    ) -> Option<Sink> {
        let (oh, ow) = geometry.out_hw;
        let mut runs = [(0u32, 0isize); 2];
        let mut count = 0;
        for (lane, oy, ox, len) in span_runs(q0, geometry) {
            if count == runs.len() {
                return None;
            }
            let mask = ((1u64 << (lane + len)) - (1u64 << lane)) as u32;
            runs[count] = (mask, (oy * ow + ox) as isize - lane as isize);
            count += 1;
        }
        let plane = oh * ow;
        let at = block.first * plane;
        Some(Sink {
            // The block's first plane, inside the output (the caller's contract).
            out: out.0.wrapping_add(at),
            residual: residual.map_or(std::ptr::null(), |r| r[at..].as_ptr()),
            bias: block.bias.as_ptr(),
            rows: block.rows,
            plane,
            runs,
            count,
            clamp,
        })
    }
}

/// Stores a span's sums of the block's real filters at their output pixels, with bias,
/// residual and clamp; positions past a row's last output are dropped.
fn store_span(
    tile: &[f32; ROWS * SPAN],
    q0: usize,
    block: &Block,
    geometry: &Geometry,
    out: Out,
    residual: Option<&[f32]>,
    clamp: Clamp,
) {
    let (oh, ow) = geometry.out_hw;
    for (lane, oy, ox, len) in span_runs(q0, geometry) {
        for r in 0..block.rows {
            let co = block.first + r;
            let at = (co * oh + oy) * ow + ox;
            let sums = &tile[r * SPAN + lane..][..len];
            let b = block.bias[r];
            // SAFETY: `at..at + len` is this block's filter `co`, row `oy`, inside the
            // output (the caller's contract).
            let dst = unsafe { std::slice::from_raw_parts_mut(out.0.add(at), len) };
            store_clamped(dst, sums, b, residual.map(|res| &res[at..at + len]), clamp);
        }
    }
}

/// The output pixels among the span's positions `q0..q0 + SPAN`, one run per output row
/// they reach: `(first lane, oy, ox, len)`; positions past a row's last output (the
/// flattened rows' padding) and past the last row are left out.
fn span_runs(q0: usize, geometry: &Geometry) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    let ow = geometry.out_hw.1;
    let cols = geometry.taps.cols;
    let end = (q0 + SPAN).min(geometry.positions);
    (q0 / cols..)
        .map(move |oy| (oy, (oy * cols).max(q0)))
        .take_while(move |&(_, q)| q < end)
        .filter_map(move |(oy, q)| {
            let ox = q - oy * cols;
            let run_end = (oy * cols + ow).min(end);
            (ox < ow).then(|| (q - q0, oy, ox, run_end - q))
        })
}

/// `dst = clamp(sums + bias [+ residual])`: one row of a filter's outputs, as both
/// direct kernels store them.
#[inline(always)]
fn store_clamped(dst: &mut [f32], sums: &[f32], bias: f32, residual: Option<&[f32]>, clamp: Clamp) {
    match clamp {
        Clamp::None => store_run(dst, sums, bias, residual, |v| v),
        Clamp::Relu => store_run(dst, sums, bias, residual, |v| v.max(0.0)),
        Clamp::Relu6 => store_run(dst, sums, bias, residual, |v| v.clamp(0.0, 6.0)),
    }
}

/// `dst = f(sums + bias [+ residual])`, one loop per clamp so each vectorises.
#[inline(always)]
fn store_run(
    dst: &mut [f32],
    sums: &[f32],
    bias: f32,
    residual: Option<&[f32]>,
    f: impl Fn(f32) -> f32,
) {
    match residual {
        Some(res) => {
            for ((d, v), r) in dst.iter_mut().zip(sums).zip(res) {
                *d = f(v + bias + r);
            }
        }
        None => {
            for (d, v) in dst.iter_mut().zip(sums) {
                *d = f(v + bias);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) mod avx512 {
    use super::{Sink, SPAN};
    use std::arch::x86_64::*;

    /// `tile[r][q] = sum over channels c and taps t of input[c * channel + offsets[t] + q]
    /// * weights[(c * taps + t) * R + r]` for `q < SPAN`, `taps = offsets.len()`.
    ///
    /// # Safety
    /// AVX-512F; `input` readable for `(cin - 1) * channel + max(offsets) + SPAN`
    /// values, `weights` for `cin * taps * R`, `tile` writable for `R * SPAN`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn span<const R: usize>(
        input: *const f32,
        channel: usize,
        offsets: &[usize],
        weights: *const f32,
        cin: usize,
        tile: *mut f32,
        add: bool,
        sink: Option<&Sink>,
    ) {
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        if add {
            for (r, a) in acc.iter_mut().enumerate() {
                unsafe {
                    a[0] = _mm512_loadu_ps(tile.add(r * SPAN));
                    a[1] = _mm512_loadu_ps(tile.add(r * SPAN + 16));
                }
            }
        }
        for c in 0..cin {
            let base = unsafe { input.add(c * channel) };
            let wc = unsafe { weights.add(c * offsets.len() * R) };
            for (t, &off) in offsets.iter().enumerate() {
                let (x0, x1) = unsafe {
                    (
                        _mm512_loadu_ps(base.add(off)),
                        _mm512_loadu_ps(base.add(off + 16)),
                    )
                };
                for (r, a) in acc.iter_mut().enumerate() {
                    let wv = _mm512_set1_ps(unsafe { *wc.add(t * R + r) });
                    a[0] = _mm512_fmadd_ps(x0, wv, a[0]);
                    a[1] = _mm512_fmadd_ps(x1, wv, a[1]);
                }
            }
        }
        if let Some(sink) = sink {
            unsafe { store(&acc, sink) };
            return;
        }
        for (r, a) in acc.iter().enumerate() {
            unsafe {
                _mm512_storeu_ps(tile.add(r * SPAN), a[0]);
                _mm512_storeu_ps(tile.add(r * SPAN + 16), a[1]);
            }
        }
    }

    /// `clamp(acc + bias [+ residual])` of the sink's rows at its runs' lanes.
    ///
    /// # Safety
    /// AVX-512F; the sink's runs are inside its filters' planes (and residual's).
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn store<const R: usize>(acc: &[[__m512; 2]; R], sink: &Sink) {
        let (lo, hi) = sink.clamp.bounds();
        let (lo, hi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi));
        for (r, a) in acc.iter().enumerate().take(sink.rows) {
            let b = _mm512_set1_ps(unsafe { *sink.bias.add(r) });
            for &(mask, offset) in &sink.runs[..sink.count] {
                let at = (r * sink.plane) as isize + offset;
                for (half, m) in [(0, mask as u16), (1, (mask >> 16) as u16)] {
                    if m == 0 {
                        continue;
                    }
                    let at = at + 16 * half as isize;
                    let to = (sink.out, sink.residual);
                    unsafe { store_lanes(a[half], b, to, at, m, (lo, hi)) };
                }
            }
        }
    }

    /// `out[at + l] = min(max(v[l] + bias [+ residual[at + l]], lo), hi)` for the lanes
    /// `l` of `mask` (a null `residual` adds none): the register stores' epilogue, here
    /// and in the filter-lanes kernel.
    ///
    /// # Safety
    /// AVX-512F; the masked lanes at `at` inside `out` (and `residual`), written by no
    /// other thread. Lanes outside the mask are never touched, so `out + at` may point
    /// before the plane.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(in crate::model::conv) unsafe fn store_lanes(
        v: __m512,
        bias: __m512,
        (out, residual): (*mut f32, *const f32),
        at: isize,
        mask: u16,
        (lo, hi): (__m512, __m512),
    ) {
        let mut v = _mm512_add_ps(v, bias);
        if !residual.is_null() {
            let res = residual.wrapping_offset(at);
            v = _mm512_add_ps(v, unsafe { _mm512_maskz_loadu_ps(mask, res) });
        }
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        unsafe { _mm512_mask_storeu_ps(out.wrapping_offset(at), mask, v) };
    }
}
