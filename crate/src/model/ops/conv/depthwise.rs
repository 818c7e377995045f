//! Depthwise convolutions (one filter per channel: MobileNet's and EfficientNet's 3x3
//! and 5x5, ConvNeXt's 7x7), one channel plane at a time, planes split over threads.
//! Stride 1 and 2 without dilation (every torchvision depthwise layer) run a blocked
//! loop ([`super::depthwise_simd`]); other shapes sum shifted, scaled input rows.

use super::super::super::conv::gemm_micro::Clamp;
#[cfg(target_arch = "x86_64")]
use super::depthwise_lanes;
#[cfg(target_arch = "x86_64")]
use super::depthwise_pairs;
use super::depthwise_simd;
use super::Call;
use crate::model::graph::ConvCfg;
use crate::model::ops::output::overwritten;
use rayon::prelude::*;

/// The output columns `ox` whose input column `ox * s + kx * d - p` lies inside `0..w`.
fn valid_cols(
    kx: usize,
    (s, p, d): (usize, usize, usize),
    w: usize,
    ow: usize,
) -> std::ops::Range<usize> {
    let off = (kx * d) as isize - p as isize;
    let first = if off >= 0 {
        0
    } else {
        ((-off) as usize).div_ceil(s)
    };
    // ox * s + off <= w - 1  <=>  ox <= (w - 1 - off) / s
    let last = (w as isize - 1 - off).div_euclid(s as isize) + 1;
    let end = (last.max(0) as usize).min(ow);
    first.min(end)..end
}

/// One plane's taps that read inside the input, as `tap(oy, iy, weight, cols, start)`:
/// output row `oy` reads input row `iy` with the tap's `weight`, output columns `cols`
/// reading input columns `start + i * stride` (the forward pass and the input gradient
/// walk the same taps, in opposite directions).
fn each_tap(
    k: &[f32],
    cfg: &ConvCfg,
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    mut tap: impl FnMut(usize, usize, f32, std::ops::Range<usize>, usize),
) {
    let (kh, kw) = cfg.kernel;
    let (sh, sw) = cfg.stride;
    let (ph, pw) = cfg.padding;
    let (dh, dw) = cfg.dilation;
    for oy in 0..oh {
        for ky in 0..kh {
            let iy = (oy * sh + ky * dh) as isize - ph as isize;
            if iy < 0 || iy >= h as isize {
                continue;
            }
            for kx in 0..kw {
                let cols = valid_cols(kx, (sw, pw, dw), w, ow);
                if cols.is_empty() {
                    continue;
                }
                let start = cols.start * sw + kx * dw - pw;
                tap(oy, iy as usize, k[ky * kw + kx], cols, start);
            }
        }
    }
}

/// `clamp(bias + conv(x))`, one plane per channel.
pub(super) fn forward(wt: &[f32], bias: &[f32], call: &Call, x: &[f32], clamp: Clamp) -> Vec<f32> {
    let (cfg, n, (h, w), (oh, ow)) = call.parts();
    let c = cfg.in_channels;
    let (kh, kw) = cfg.kernel;
    let (sh, sw) = cfg.stride;
    let (ph, pw) = cfg.padding;
    if n * c * oh * ow == 0 {
        return Vec::new();
    }
    #[cfg(target_arch = "x86_64")]
    if depthwise_pairs::takes(cfg, (h, w)) {
        return depthwise_pairs::forward(wt, bias, call, x, clamp);
    }
    #[cfg(target_arch = "x86_64")]
    if depthwise_lanes::takes(cfg, (h, w)) {
        return depthwise_lanes::forward(wt, bias, call, x, clamp);
    }
    if let Some(run) = depthwise_simd::plane_kernel(cfg) {
        let shape = depthwise_simd::Shape {
            hw: (h, w),
            out_hw: (oh, ow),
            kernel: (kh, kw),
            padding: (ph, pw),
            stride: sh,
            clamp,
        };
        let scratch = depthwise_simd::scratch_len(&shape);
        let planes = |y: &mut [f32]| {
            y.par_chunks_mut(oh * ow)
                .zip(x.par_chunks(h * w))
                .enumerate()
                .for_each(|(plane, (dst, src))| {
                    let ch = plane % c;
                    depthwise_simd::with_padded(scratch, |s| {
                        run(
                            src,
                            dst,
                            &wt[ch * kh * kw..(ch + 1) * kh * kw],
                            bias[ch],
                            &shape,
                            s,
                        )
                    });
                });
        };
        // SAFETY: every plane function writes each value of its output plane (and reads
        // only the input and its scratch), checked against the definition in the tests.
        return unsafe { overwritten(n * c * oh * ow, planes) };
    }
    let mut y = vec![0f32; n * c * oh * ow];
    y.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(h * w))
        .enumerate()
        .for_each(|(plane, (dst, src))| {
            let ch = plane % c;
            dst.fill(bias[ch]);
            let k = &wt[ch * kh * kw..(ch + 1) * kh * kw];
            each_tap(k, cfg, (h, w), (oh, ow), |oy, iy, wv, cols, start| {
                let out = &mut dst[oy * ow..(oy + 1) * ow];
                let row = &src[iy * w..(iy + 1) * w];
                if sw == 1 {
                    let input = &row[start..start + cols.len()];
                    for (o, v) in out[cols].iter_mut().zip(input) {
                        *o += wv * v;
                    }
                } else {
                    for (i, o) in out[cols].iter_mut().enumerate() {
                        *o += wv * row[start + i * sw];
                    }
                }
            });
            match clamp {
                Clamp::None => {}
                Clamp::Relu => dst.iter_mut().for_each(|v| *v = v.max(0.0)),
                Clamp::Relu6 => dst.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0)),
            }
        });
    y
}

/// `dx[c, iy, ix] += w[c, ky, kx] * dy[c, oy, ox]` over every tap that read `(iy, ix)`.
pub(super) fn backward(wt: &[f32], call: &Call, g: &[f32]) -> Vec<f32> {
    let (cfg, n, (h, w), (oh, ow)) = call.parts();
    let c = cfg.in_channels;
    let (kh, kw) = cfg.kernel;
    let sw = cfg.stride.1;
    let mut dx = vec![0f32; n * c * h * w];
    if dx.is_empty() || oh * ow == 0 {
        return dx;
    }
    dx.par_chunks_mut(h * w)
        .zip(g.par_chunks(oh * ow))
        .enumerate()
        .for_each(|(plane, (dst, gp))| {
            let ch = plane % c;
            let k = &wt[ch * kh * kw..(ch + 1) * kh * kw];
            each_tap(k, cfg, (h, w), (oh, ow), |oy, iy, wv, cols, start| {
                let grow = &gp[oy * ow..(oy + 1) * ow];
                let row = &mut dst[iy * w..(iy + 1) * w];
                for (i, gv) in grow[cols].iter().enumerate() {
                    row[start + i * sw] += wv * gv;
                }
            });
        });
    dx
}
