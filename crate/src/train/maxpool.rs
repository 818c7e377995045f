//! A 2x2, stride-2 max pool for training graphs whose backward pass is ours.
//!
//! candle 0.11's autograd gets max pooling wrong (docs/METHODS.md: it spreads the gradient
//! over the window, 0.25 at the maximum of `[[1,2],[3,4]]`, and 1 at every element of
//! an all-equal window). This op routes each window's gradient to its first maximal
//! element, as PyTorch does, with the same code as the explanations' reverse pass.

use crate::model::ops::pooling::{max_backward, max_forward};
use crate::model::PoolCfg;
use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

pub struct MaxPool2x2;

impl CustomOp1 for MaxPool2x2 {
    fn name(&self) -> &'static str {
        "max-pool-2x2-first-max"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = layout.shape().dims4()?;
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("{}: only f32 is supported", self.name());
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("{}: input must be contiguous", self.name());
        };
        let y = max_forward(&data[start..end], &PoolCfg::square(2, 2, 0), (h, w));
        let (oh, ow) = (h / 2, w / 2);
        Ok((CpuStorage::F32(y), Shape::from((n, c, oh, ow))))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (n, c, h, w) = arg.dims4()?;
        let x: Vec<f32> = arg.flatten_all()?.to_vec1()?;
        let g: Vec<f32> = grad_res.flatten_all()?.to_vec1()?;
        let dx = max_backward(&x, &g, &PoolCfg::square(2, 2, 0), (h, w));
        Ok(Some(Tensor::from_vec(dx, (n, c, h, w), arg.device())?))
    }
}

/// Max pool 2x2/2 (floor mode) with PyTorch's gradient.
pub fn max_pool2x2(x: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1(MaxPool2x2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Gradient of `sum(pool(x) * g)` with respect to `x`, through candle's autograd.
    fn grad(x: &[f32], shape: (usize, usize, usize, usize), g: &[f32]) -> Vec<f32> {
        let x = Var::from_slice(x, shape, &Device::Cpu).unwrap();
        let y = max_pool2x2(x.as_tensor()).unwrap();
        let g = Tensor::from_slice(g, y.shape(), &Device::Cpu).unwrap();
        let grads = (y * g).unwrap().sum_all().unwrap().backward().unwrap();
        let dx = grads.get(x.as_tensor()).unwrap();
        dx.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn gradient_goes_to_the_maximum_only() {
        // docs/METHODS.md's hand example: candle's own max_pool2d gives 0.25 at every element.
        assert_eq!(
            grad(&[1., 2., 3., 4.], (1, 1, 2, 2), &[1.]),
            [0., 0., 0., 1.]
        );
    }

    #[test]
    fn all_equal_window_gives_the_first_element_only() {
        assert_eq!(
            grad(&[5., 5., 5., 5.], (1, 1, 2, 2), &[1.]),
            [1., 0., 0., 0.]
        );
    }

    #[test]
    fn forward_matches_candle_and_batches_keep_their_planes() {
        let x: Vec<f32> = (0..2 * 3 * 4 * 5)
            .map(|i| ((i * 7919) % 23) as f32)
            .collect();
        let t = Tensor::from_slice(&x, (2, 3, 4, 5), &Device::Cpu).unwrap();
        let ours = max_pool2x2(&t).unwrap();
        let theirs = t.max_pool2d(2).unwrap();
        assert_eq!(ours.dims(), [2, 3, 2, 2]);
        assert_eq!(
            ours.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            theirs.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        // Two windows, two planes: each gradient lands at its own window's maximum.
        let dx = grad(
            &[
                1., 9., 0., 0., 7., 2., 0., 3., 8., 8., 8., 8., 0., 0., 0., 0.,
            ],
            (1, 2, 2, 4),
            &[1., 2., 3., 4.],
        );
        assert_eq!(
            dx,
            [0., 1., 0., 0., 0., 0., 0., 2., 3., 0., 4., 0., 0., 0., 0., 0.]
        );
    }
}
