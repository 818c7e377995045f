//! Pooling done by hand on `[N, C, H, W]` data: torchvision's `AdaptiveAvgPool2d` (which
//! candle lacks) and the max-pool gradient with PyTorch's tie rule (candle's own is
//! wrong, see METHODS.md).

use super::cpu::with_f32;
use crate::error::Result;
use candle_core::{Device, Tensor};
use rayon::prelude::*;

/// PyTorch's adaptive-pool bin of output cell `i` out of `out` over `len` inputs:
/// `[floor(i*len/out), ceil((i+1)*len/out))`. Works when `out > len` (bins repeat).
fn bin(i: usize, out: usize, len: usize) -> (usize, usize) {
    (i * len / out, ((i + 1) * len).div_ceil(out))
}

fn dims(x: &Tensor) -> Result<(usize, usize, usize, usize)> {
    Ok(x.dims4()?)
}

/// `AdaptiveAvgPool2d((out, out))`: each output cell is the mean of its bin.
pub fn adaptive_avg_pool2d(x: &Tensor, out: usize) -> Result<Tensor> {
    let (n, c, h, w) = dims(x)?;
    if h == out && w == out {
        return Ok(x.clone()); // torchvision's 224-px VGG16 case: every bin is one pixel
    }
    let data = x.flatten_all()?.to_vec1::<f32>()?;
    let mut y = vec![0f32; n * c * out * out];
    for (plane, dst) in data.chunks_exact(h * w).zip(y.chunks_exact_mut(out * out)) {
        for oy in 0..out {
            let (y0, y1) = bin(oy, out, h);
            for ox in 0..out {
                let (x0, x1) = bin(ox, out, w);
                let mut sum = 0f32;
                for row in y0..y1 {
                    sum += plane[row * w + x0..row * w + x1].iter().sum::<f32>();
                }
                dst[oy * out + ox] = sum / ((y1 - y0) * (x1 - x0)) as f32;
            }
        }
    }
    Ok(Tensor::from_vec(y, (n, c, out, out), &Device::Cpu)?)
}

/// Gradient of [`adaptive_avg_pool2d`]: each output cell's gradient is shared equally
/// by the inputs of its bin (bins may overlap, so contributions add).
pub fn adaptive_avg_pool2d_backward(input: &Tensor, grad: &Tensor, out: usize) -> Result<Tensor> {
    let (n, c, h, w) = dims(input)?;
    if h == out && w == out {
        return Ok(grad.clone());
    }
    let g = grad.flatten_all()?.to_vec1::<f32>()?;
    let mut dx = vec![0f32; n * c * h * w];
    for (gplane, dst) in g.chunks_exact(out * out).zip(dx.chunks_exact_mut(h * w)) {
        for oy in 0..out {
            let (y0, y1) = bin(oy, out, h);
            for ox in 0..out {
                let (x0, x1) = bin(ox, out, w);
                let share = gplane[oy * out + ox] / ((y1 - y0) * (x1 - x0)) as f32;
                for row in y0..y1 {
                    for v in &mut dst[row * w + x0..row * w + x1] {
                        *v += share;
                    }
                }
            }
        }
    }
    Ok(Tensor::from_vec(dx, (n, c, h, w), &Device::Cpu)?)
}

/// 2x2, stride-2 max pool (floor mode), planes split over threads: candle's took a
/// twentieth of VGG16's forward pass. Each window keeps its first maximal element, the
/// one [`max_pool2x2_backward`] routes the gradient to.
pub fn max_pool2x2(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = dims(x)?;
    let y = with_f32(x, |data| max_pool2x2_values(data, h, w))?;
    Ok(Tensor::from_vec(y, (n, c, h / 2, w / 2), &Device::Cpu)?)
}

/// [`max_pool2x2`] of `h x w` planes stored one after another.
pub fn max_pool2x2_values(data: &[f32], h: usize, w: usize) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut y = vec![0f32; data.len() / (h * w).max(1) * oh * ow];
    if y.is_empty() {
        return y;
    }
    let planes = y.par_chunks_mut(oh * ow).zip(data.par_chunks(h * w));
    planes.for_each(|(dst, plane)| {
        for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
            let (r0, r1) = plane[2 * oy * w..][..2 * w].split_at(w);
            for (ox, v) in out.iter_mut().enumerate() {
                let mut best = r0[2 * ox];
                for c in [r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]] {
                    if c > best {
                        best = c;
                    }
                }
                *v = best;
            }
        }
    });
    y
}

/// Gradient of a 2x2, stride-2 max pool (floor mode): each window's gradient goes to
/// its first maximal element in row-major order, as PyTorch routes it.
pub fn max_pool2x2_backward(input: &Tensor, grad: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = dims(input)?;
    let (oh, ow) = (h / 2, w / 2);
    let x = input.flatten_all()?.to_vec1::<f32>()?;
    let g = grad.flatten_all()?.to_vec1::<f32>()?;
    let mut dx = vec![0f32; n * c * h * w];
    for ((plane, gplane), dst) in x
        .chunks_exact(h * w)
        .zip(g.chunks_exact(oh * ow))
        .zip(dx.chunks_exact_mut(h * w))
    {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = (2 * oy) * w + 2 * ox;
                for idx in [best + 1, best + w, best + w + 1] {
                    // Strictly greater keeps the first maximum; NaN never wins, as in PyTorch
                    // a NaN would (we keep the first element then, which is as defensible).
                    if plane[idx] > plane[best] {
                        best = idx;
                    }
                }
                dst[best] += gplane[oy * ow + ox];
            }
        }
    }
    Ok(Tensor::from_vec(dx, (n, c, h, w), &Device::Cpu)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], shape: (usize, usize, usize, usize)) -> Tensor {
        Tensor::from_slice(v, shape, &Device::Cpu).unwrap()
    }

    fn flat(x: &Tensor) -> Vec<f32> {
        x.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn max_pool_matches_candle_in_floor_mode() {
        // Odd sides drop the last row and column; batches and channels stay apart.
        let v: Vec<f32> = (0..2 * 3 * 5 * 7)
            .map(|i| ((i * 37 % 23) as f32).sin())
            .collect();
        let x = t(&v, (2, 3, 5, 7));
        assert_eq!(
            flat(&max_pool2x2(&x).unwrap()),
            flat(&x.max_pool2d(2).unwrap())
        );
        let one = t(&[3.], (1, 1, 1, 1));
        assert_eq!(max_pool2x2(&one).unwrap().dims(), [1, 1, 0, 0]);
    }

    #[test]
    fn max_pool_gradient_goes_to_the_maximum_only() {
        // METHODS.md's hand example: candle's autograd gives 0.25 here, PyTorch 1.
        let x = t(&[1., 2., 3., 4.], (1, 1, 2, 2));
        let g = t(&[1.], (1, 1, 1, 1));
        assert_eq!(
            flat(&max_pool2x2_backward(&x, &g).unwrap()),
            [0., 0., 0., 1.]
        );
    }

    #[test]
    fn max_pool_ties_go_to_the_first_element() {
        let x = t(&[0., 0., 0., 0.], (1, 1, 2, 2));
        let g = t(&[2.5], (1, 1, 1, 1));
        assert_eq!(
            flat(&max_pool2x2_backward(&x, &g).unwrap()),
            [2.5, 0., 0., 0.]
        );
        let x = t(&[1., 5., 5., 0.], (1, 1, 2, 2));
        assert_eq!(
            flat(&max_pool2x2_backward(&x, &g).unwrap()),
            [0., 2.5, 0., 0.]
        );
    }

    #[test]
    fn max_pool_floor_mode_ignores_the_last_odd_row_and_column() {
        let x = t(&[1., 2., 9., 3., 4., 9., 9., 9., 9.], (1, 1, 3, 3));
        let g = t(&[1.], (1, 1, 1, 1));
        assert_eq!(
            flat(&max_pool2x2_backward(&x, &g).unwrap()),
            [0., 0., 0., 0., 1., 0., 0., 0., 0.]
        );
    }

    #[test]
    fn adaptive_pool_matches_pytorch_bins() {
        // 3 -> 2: bins [0,2) and [1,3) overlap in the middle, as in PyTorch.
        let x = t(&[1., 2., 3., 4., 5., 6., 7., 8., 9.], (1, 1, 3, 3));
        assert_eq!(flat(&adaptive_avg_pool2d(&x, 2).unwrap()), [3., 4., 6., 7.]);
        // 1 -> 2 upsamples by repetition (a 128-px input to VGG16 gives 4x4 -> 7x7).
        let x = t(&[5.], (1, 1, 1, 1));
        assert_eq!(flat(&adaptive_avg_pool2d(&x, 2).unwrap()), [5., 5., 5., 5.]);
        let x = t(&[1., 2., 3., 4.], (1, 1, 2, 2));
        assert_eq!(
            flat(&adaptive_avg_pool2d(&x, 3).unwrap()),
            [1., 1.5, 2., 2., 2.5, 3., 3., 3.5, 4.]
        );
    }

    #[test]
    fn adaptive_pool_gradient_is_the_adjoint() {
        // <pool(x), g> == <x, pool_backward(g)> for every x and g.
        let xs: Vec<f32> = (0..20).map(|i| (i as f32 * 0.37).sin()).collect();
        let gs: Vec<f32> = (0..18).map(|i| (i as f32 * 0.91).cos()).collect();
        for (h, w, out) in [(4usize, 5usize, 3usize), (5, 4, 2)] {
            let x = t(&xs[..h * w], (1, 1, h, w));
            let g = t(&gs[..out * out], (1, 1, out, out));
            let y = flat(&adaptive_avg_pool2d(&x, out).unwrap());
            let dx = flat(&adaptive_avg_pool2d_backward(&x, &g, out).unwrap());
            let lhs: f32 = y.iter().zip(&gs).map(|(a, b)| a * b).sum();
            let rhs: f32 = xs[..h * w].iter().zip(&dx).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-5, "{lhs} vs {rhs}");
        }
    }
}
