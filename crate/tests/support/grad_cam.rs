//! Grad-CAM (Selvaraju et al. 2017) computed directly from the core's reverse pass, as
//! METHODS.md defines it. A stand-in for `convscope::methods::grad_cam` (written on
//! another branch) used by `tests/fashion.rs` and `examples/fashion_figure.rs`; switch
//! both to that module when it lands.
#![allow(dead_code)] // the test and the example each use a part

use candle_core::Tensor;
use convscope::model::{one_hot, ReluGrad, Vgg};

/// Index of the last ReLU inside `features` (Grad-CAM's usual layer).
pub fn last_feature_relu(vgg: &Vgg) -> usize {
    vgg.layers()
        .iter()
        .rposition(|l| l.name.starts_with("features.") && l.kind() == "ReLU")
        .expect("a VGG has ReLUs in its features")
}

/// The input-sized Grad-CAM map (`H x W`, row-major) for image `x` (`[1, C, H, W]`)
/// at layer `layer`, for `target` or, when `None`, the top class; also returns the
/// class used. Raw map: `relu(sum_k w_k A_k)` with `w_k` the spatial mean of
/// `d logit / d A_k`; then min-max normalised and resized with half-pixel centres.
pub fn grad_cam(vgg: &Vgg, x: &Tensor, layer: usize, target: Option<usize>) -> (Vec<f32>, usize) {
    let last = vgg.layers().len() - 1;
    let trace = vgg.trace(x, last + 1).unwrap();
    let logits = &trace.outputs[last];
    let target =
        target.unwrap_or_else(|| logits.argmax(1).unwrap().to_vec1::<u32>().unwrap()[0] as usize);
    let grad = one_hot(logits, target).unwrap();
    let da = vgg
        .backward(&trace, last, &grad, layer + 1, ReluGrad::Plain)
        .unwrap();
    let a = &trace.outputs[layer];
    let (_, k, h, w) = a.dims4().unwrap();
    let a: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
    let da: Vec<f32> = da.flatten_all().unwrap().to_vec1().unwrap();
    let mut cam = vec![0f32; h * w];
    for c in 0..k {
        let plane = c * h * w..(c + 1) * h * w;
        let weight = da[plane.clone()].iter().sum::<f32>() / (h * w) as f32;
        for (m, v) in cam.iter_mut().zip(&a[plane]) {
            *m += weight * v;
        }
    }
    cam.iter_mut().for_each(|v| *v = v.max(0.0));
    let (_, _, out_h, out_w) = x.dims4().unwrap();
    (resize(&min_max(&cam), h, w, out_h, out_w), target)
}

/// pytorch-grad-cam's scaling: `(m - min) / (1e-7 + max(m - min))`.
fn min_max(m: &[f32]) -> Vec<f32> {
    let lo = m.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = m.iter().map(|v| v - lo).fold(0f32, f32::max);
    m.iter().map(|v| (v - lo) / (1e-7 + hi)).collect()
}

/// Bilinear resize with half-pixel centres, clamped at the edges (OpenCV INTER_LINEAR,
/// torch `align_corners=False`).
fn resize(m: &[f32], h: usize, w: usize, out_h: usize, out_w: usize) -> Vec<f32> {
    let src = |o: usize, n_in: usize, n_out: usize| {
        let s = ((o as f32 + 0.5) * n_in as f32 / n_out as f32 - 0.5).max(0.0);
        let i0 = (s.floor() as usize).min(n_in - 1);
        let i1 = (i0 + 1).min(n_in - 1);
        (i0, i1, s - i0 as f32)
    };
    let mut out = vec![0f32; out_h * out_w];
    for oy in 0..out_h {
        let (y0, y1, fy) = src(oy, h, out_h);
        for ox in 0..out_w {
            let (x0, x1, fx) = src(ox, w, out_w);
            let top = m[y0 * w + x0] * (1.0 - fx) + m[y0 * w + x1] * fx;
            let bottom = m[y1 * w + x0] * (1.0 - fx) + m[y1 * w + x1] * fx;
            out[oy * out_w + ox] = top * (1.0 - fy) + bottom * fy;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_uses_half_pixel_centres() {
        // 2 -> 4 along a row: torch gives [0, 0.25, 0.75, 1] for [0, 1].
        assert_eq!(resize(&[0.0, 1.0], 1, 2, 1, 4), [0.0, 0.25, 0.75, 1.0]);
    }
}
