//! 1x1 convolutions: per image, `Y = W X` with `X` the `[in, pixels]` matrix (strided
//! ones read every `s`-th pixel first: ResNet's downsampling shortcut). The input
//! gradient is `W^T dY`, scattered back to the strided pixels.

use super::super::gemm::{matmul, Lhs, Rhs};
use super::add_bias;
use crate::model::graph::ConvCfg;

/// Every `s`-th row and column of each `h x w` plane.
fn subsample(x: &[f32], planes: usize, (h, w): (usize, usize), (sh, sw): (usize, usize), (oh, ow): (usize, usize)) -> Vec<f32> {
    let mut out = Vec::with_capacity(planes * oh * ow);
    for p in x.chunks_exact(h * w).take(planes) {
        for oy in 0..oh {
            let row = &p[oy * sh * w..];
            out.extend((0..ow).map(|ox| row[ox * sw]));
        }
    }
    out
}

pub fn forward(wt: &[f32], bias: &[f32], cfg: &ConvCfg, x: &[f32], n: usize, (h, w): (usize, usize), (oh, ow): (usize, usize)) -> Vec<f32> {
    let (cin, cout) = (cfg.in_channels, cfg.out_channels);
    let strided;
    let x = if cfg.stride == (1, 1) {
        x
    } else {
        strided = subsample(x, n * cin, (h, w), cfg.stride, (oh, ow));
        &strided
    };
    let plane = oh * ow;
    let mut y = vec![0f32; n * cout * plane];
    for img in 0..n {
        let xs = &x[img * cin * plane..(img + 1) * cin * plane];
        let ys = &mut y[img * cout * plane..(img + 1) * cout * plane];
        matmul(ys, wt, Lhs::Plain, xs, Rhs::Rows(plane), (cout, cin, plane), false, false);
    }
    add_bias(&mut y, bias, plane);
    y
}

pub fn backward(wt: &[f32], cfg: &ConvCfg, g: &[f32], n: usize, (h, w): (usize, usize), (oh, ow): (usize, usize)) -> Vec<f32> {
    let (cin, cout) = (cfg.in_channels, cfg.out_channels);
    let plane = oh * ow;
    let mut dsub = vec![0f32; n * cin * plane];
    for img in 0..n {
        let gs = &g[img * cout * plane..(img + 1) * cout * plane];
        let ds = &mut dsub[img * cin * plane..(img + 1) * cin * plane];
        matmul(ds, wt, Lhs::Transposed, gs, Rhs::Rows(plane), (cin, cout, plane), false, false);
    }
    if cfg.stride == (1, 1) {
        return dsub;
    }
    let (sh, sw) = cfg.stride;
    let mut dx = vec![0f32; n * cin * h * w];
    for (dst, src) in dx.chunks_exact_mut(h * w).zip(dsub.chunks_exact(plane)) {
        for oy in 0..oh {
            for ox in 0..ow {
                dst[oy * sh * w + ox * sw] = src[oy * ow + ox];
            }
        }
    }
    dx
}
