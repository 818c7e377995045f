//! Any other convolution (stems, strided or grouped 3x3, dilated): one packed matrix
//! product per group over the unfolded input, `Y_g = W_g col_g`, where the product packs
//! `col_g` straight from the image (no im2col matrix). The input gradient is the
//! transposed product `W_g^T dY_g` scattered back to pixels (col2im). Groups run in
//! parallel when there are several (ResNeXt), otherwise the product itself is parallel.

use super::super::super::conv::gemm_micro::Clamp;
use super::super::super::conv::packed_gemm::{gemm, Dense, PackedA};
use super::super::super::conv::unfolded::Unfolded;
use super::Call;
use crate::model::graph::ConvCfg;
use crate::model::ops::output::overwritten;
use rayon::prelude::*;

/// Groups, output channels per group, and taps per output channel (the rows and columns
/// of each group's filter matrix).
fn group_shape(cfg: &ConvCfg) -> (usize, usize, usize) {
    let g = cfg.groups.max(1);
    (
        g,
        cfg.out_channels / g,
        cfg.in_channels / g * cfg.kernel.0 * cfg.kernel.1,
    )
}

/// Each group's filters (`[out / groups, in / groups * kh * kw]` rows of `weight`) with
/// their biases, packed.
pub fn pack(weight: &[f32], cfg: &ConvCfg, bias: Option<&[f32]>) -> Vec<PackedA> {
    let (g, cout_g, k) = group_shape(cfg);
    (0..g)
        .map(|grp| {
            PackedA::rows(
                &weight[grp * cout_g * k..(grp + 1) * cout_g * k],
                cout_g,
                k,
                bias.map(|b| &b[grp * cout_g..]),
            )
        })
        .collect()
}

/// Each group's `W_g^T` packed, for the input gradient.
pub fn pack_transposed(weight: &[f32], cfg: &ConvCfg) -> Vec<PackedA> {
    let (g, cout_g, k) = group_shape(cfg);
    (0..g)
        .map(|grp| {
            PackedA::transposed(&weight[grp * cout_g * k..(grp + 1) * cout_g * k], k, cout_g)
        })
        .collect()
}

/// Adds the unfolded gradient `dcol` back onto channels `c0..c0 + cin` of `dx`.
fn fold(
    dcol: &[f32],
    dx: &mut [f32],
    cfg: &ConvCfg,
    cin: usize,
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
) {
    let (kh, kw) = cfg.kernel;
    for ci in 0..cin {
        let plane = &mut dx[ci * h * w..(ci + 1) * h * w];
        for ky in 0..kh {
            for kx in 0..kw {
                let src = &dcol[((ci * kh + ky) * kw + kx) * oh * ow..][..oh * ow];
                for oy in 0..oh {
                    let iy =
                        (oy * cfg.stride.0 + ky * cfg.dilation.0) as isize - cfg.padding.0 as isize;
                    if iy < 0 || iy >= h as isize {
                        continue;
                    }
                    let row = &mut plane[iy as usize * w..(iy as usize + 1) * w];
                    for ox in 0..ow {
                        let ix = (ox * cfg.stride.1 + kx * cfg.dilation.1) as isize
                            - cfg.padding.1 as isize;
                        if ix >= 0 && ix < w as isize {
                            row[ix as usize] += src[oy * ow + ox];
                        }
                    }
                }
            }
        }
    }
}

/// `clamp(conv(x) + bias [+ residual])`, `a` the packed filters of each group.
pub(super) fn forward(
    a: &[PackedA],
    call: &Call,
    x: &[f32],
    residual: Option<&[f32]>,
    clamp: Clamp,
) -> Vec<f32> {
    let (cfg, n, (h, w), (oh, ow)) = call.parts();
    let g = cfg.groups;
    let (cin_g, cout_g) = (cfg.in_channels / g, cfg.out_channels / g);
    let plane = oh * ow;
    // SAFETY: each group's product writes all its rows of `plane` values.
    unsafe {
        overwritten(n * cfg.out_channels * plane, |y| {
            for img in 0..n {
                let xs = &x[img * cfg.in_channels * h * w..(img + 1) * cfg.in_channels * h * w];
                let ys =
                    &mut y[img * cfg.out_channels * plane..(img + 1) * cfg.out_channels * plane];
                let res = residual.map(|r| {
                    &r[img * cfg.out_channels * plane..(img + 1) * cfg.out_channels * plane]
                });
                let one = |(grp, yg): (usize, &mut [f32])| {
                    let b = Unfolded::new(&xs[grp * cin_g * h * w..], cin_g, cfg, (h, w), (oh, ow));
                    let rg = res.map(|r| &r[grp * cout_g * plane..(grp + 1) * cout_g * plane]);
                    gemm(&a[grp], &b, plane, yg, plane, rg, clamp);
                };
                if g > 1 {
                    ys.par_chunks_mut(cout_g * plane).enumerate().for_each(one);
                } else {
                    ys.chunks_mut(cout_g * plane).enumerate().for_each(one);
                }
            }
        })
    }
}

/// The input gradient from `gr`, `wt` each group's packed `W_g^T`.
pub(super) fn backward(wt: &[PackedA], call: &Call, gr: &[f32]) -> Vec<f32> {
    let (cfg, n, (h, w), (oh, ow)) = call.parts();
    let g = cfg.groups;
    let (cin_g, cout_g) = (cfg.in_channels / g, cfg.out_channels / g);
    let k = cin_g * cfg.kernel.0 * cfg.kernel.1;
    let plane = oh * ow;
    let mut dx = vec![0f32; n * cfg.in_channels * h * w];
    for img in 0..n {
        let gs = &gr[img * cfg.out_channels * plane..(img + 1) * cfg.out_channels * plane];
        let dxs = &mut dx[img * cfg.in_channels * h * w..(img + 1) * cfg.in_channels * h * w];
        let one = |(grp, dxg): (usize, &mut [f32])| {
            let gg = &gs[grp * cout_g * plane..(grp + 1) * cout_g * plane];
            let mut dcol = vec![0f32; k * plane];
            // W_g^T ([k, cout_g]) times dY_g ([cout_g, plane]) is [k, plane].
            gemm(
                &wt[grp],
                &Dense {
                    data: gg,
                    ld: plane,
                },
                plane,
                &mut dcol,
                plane,
                None,
                Clamp::None,
            );
            fold(&dcol, dxg, cfg, cin_g, (h, w), (oh, ow));
        };
        if g > 1 {
            dxs.par_chunks_mut(cin_g * h * w).enumerate().for_each(one);
        } else {
            dxs.chunks_mut(cin_g * h * w).enumerate().for_each(one);
        }
    }
    dx
}
