//! Any other convolution (stems, strided or grouped 3x3, dilated): im2col, then one
//! matrix product per group, `Y_g = W_g col_g`. The input gradient is the transposed
//! product `W_g^T dY_g` scattered back to pixels (col2im). Groups run in parallel when
//! there are several (ResNeXt), otherwise the product itself is parallel.

use super::super::gemm::{matmul, Lhs, Rhs};
use super::add_bias;
use crate::model::graph::ConvCfg;
use rayon::prelude::*;

/// Rows `(ci, ky, kx)` of the unfolded input of channels `c0..c0 + cin` of one image:
/// `col[(ci * kh + ky) * kw + kx][oy * ow + ox] = x[c0 + ci][oy*s + ky*d - p][ox*s + kx*d - p]`
/// (0 outside the input).
fn unfold(x: &[f32], cfg: &ConvCfg, c0: usize, cin: usize, (h, w): (usize, usize), (oh, ow): (usize, usize)) -> Vec<f32> {
    let (kh, kw) = cfg.kernel;
    let mut col = vec![0f32; cin * kh * kw * oh * ow];
    for ci in 0..cin {
        let plane = &x[(c0 + ci) * h * w..(c0 + ci + 1) * h * w];
        for ky in 0..kh {
            for kx in 0..kw {
                let dst = &mut col[((ci * kh + ky) * kw + kx) * oh * ow..][..oh * ow];
                for oy in 0..oh {
                    let iy = (oy * cfg.stride.0 + ky * cfg.dilation.0) as isize - cfg.padding.0 as isize;
                    if iy < 0 || iy >= h as isize {
                        continue;
                    }
                    let row = &plane[iy as usize * w..(iy as usize + 1) * w];
                    for ox in 0..ow {
                        let ix = (ox * cfg.stride.1 + kx * cfg.dilation.1) as isize - cfg.padding.1 as isize;
                        if ix >= 0 && ix < w as isize {
                            dst[oy * ow + ox] = row[ix as usize];
                        }
                    }
                }
            }
        }
    }
    col
}

/// Adds the unfolded gradient `dcol` back onto channels `c0..c0 + cin` of `dx`.
fn fold(dcol: &[f32], dx: &mut [f32], cfg: &ConvCfg, cin: usize, (h, w): (usize, usize), (oh, ow): (usize, usize)) {
    let (kh, kw) = cfg.kernel;
    for ci in 0..cin {
        let plane = &mut dx[ci * h * w..(ci + 1) * h * w];
        for ky in 0..kh {
            for kx in 0..kw {
                let src = &dcol[((ci * kh + ky) * kw + kx) * oh * ow..][..oh * ow];
                for oy in 0..oh {
                    let iy = (oy * cfg.stride.0 + ky * cfg.dilation.0) as isize - cfg.padding.0 as isize;
                    if iy < 0 || iy >= h as isize {
                        continue;
                    }
                    let row = &mut plane[iy as usize * w..(iy as usize + 1) * w];
                    for ox in 0..ow {
                        let ix = (ox * cfg.stride.1 + kx * cfg.dilation.1) as isize - cfg.padding.1 as isize;
                        if ix >= 0 && ix < w as isize {
                            row[ix as usize] += src[oy * ow + ox];
                        }
                    }
                }
            }
        }
    }
}

pub fn forward(wt: &[f32], bias: &[f32], cfg: &ConvCfg, x: &[f32], n: usize, (h, w): (usize, usize), (oh, ow): (usize, usize)) -> Vec<f32> {
    let g = cfg.groups;
    let (cin_g, cout_g) = (cfg.in_channels / g, cfg.out_channels / g);
    let k = cin_g * cfg.kernel.0 * cfg.kernel.1;
    let plane = oh * ow;
    let mut y = vec![0f32; n * cfg.out_channels * plane];
    for img in 0..n {
        let xs = &x[img * cfg.in_channels * h * w..(img + 1) * cfg.in_channels * h * w];
        let ys = &mut y[img * cfg.out_channels * plane..(img + 1) * cfg.out_channels * plane];
        let serial = g > 1;
        let one = |(grp, yg): (usize, &mut [f32])| {
            let col = unfold(xs, cfg, grp * cin_g, cin_g, (h, w), (oh, ow));
            let wg = &wt[grp * cout_g * k..(grp + 1) * cout_g * k];
            matmul(yg, wg, Lhs::Plain, &col, Rhs::Rows(plane), (cout_g, k, plane), false, serial);
        };
        if serial {
            ys.par_chunks_mut(cout_g * plane).enumerate().for_each(one);
        } else {
            ys.chunks_mut(cout_g * plane).enumerate().for_each(one);
        }
    }
    add_bias(&mut y, bias, plane);
    y
}

pub fn backward(wt: &[f32], cfg: &ConvCfg, gr: &[f32], n: usize, (h, w): (usize, usize), (oh, ow): (usize, usize)) -> Vec<f32> {
    let g = cfg.groups;
    let (cin_g, cout_g) = (cfg.in_channels / g, cfg.out_channels / g);
    let k = cin_g * cfg.kernel.0 * cfg.kernel.1;
    let plane = oh * ow;
    let mut dx = vec![0f32; n * cfg.in_channels * h * w];
    for img in 0..n {
        let gs = &gr[img * cfg.out_channels * plane..(img + 1) * cfg.out_channels * plane];
        let dxs = &mut dx[img * cfg.in_channels * h * w..(img + 1) * cfg.in_channels * h * w];
        let serial = g > 1;
        let one = |(grp, dxg): (usize, &mut [f32])| {
            let wg = &wt[grp * cout_g * k..(grp + 1) * cout_g * k];
            let gg = &gs[grp * cout_g * plane..(grp + 1) * cout_g * plane];
            let mut dcol = vec![0f32; k * plane];
            // W_g is [cout_g, k]; its transpose times dY_g ([cout_g, plane]) is [k, plane].
            matmul(&mut dcol, wg, Lhs::Transposed, gg, Rhs::Rows(plane), (k, cout_g, plane), false, serial);
            fold(&dcol, dxg, cfg, cin_g, (h, w), (oh, ow));
        };
        if serial {
            dxs.par_chunks_mut(cin_g * h * w).enumerate().for_each(one);
        } else {
            dxs.chunks_mut(cin_g * h * w).enumerate().for_each(one);
        }
    }
    dx
}
