//! VGG's 2x2 max pool done by hand on `[N, C, H, W]` data, split over threads, and its
//! gradient with PyTorch's tie rule (candle's own is wrong, see METHODS.md), for the
//! layer graph and for training. Every other pool is in `model::ops::pooling`.

use crate::error::Result;
use candle_core::{Device, Tensor};
use rayon::prelude::*;

fn dims(x: &Tensor) -> Result<(usize, usize, usize, usize)> {
    Ok(x.dims4()?)
}

/// 2x2, stride-2 max pool (floor mode) of `h x w` planes stored one after another, split
/// over threads. Each window keeps its first maximal element, the one
/// [`max_pool2x2_backward`] routes the gradient to.
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
        assert_eq!(max_pool2x2_values(&v, 5, 7), flat(&x.max_pool2d(2).unwrap()));
        assert!(max_pool2x2_values(&[3.], 1, 1).is_empty());
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
}
