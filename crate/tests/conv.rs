//! Our 3x3 convolution (Winograd F(2x2, 3x3), `model::conv`) against candle's own
//! `conv2d` and `conv_transpose2d` on random shapes: odd sizes, one channel, batches of
//! two, 1x1 images. Errors are relative to the largest magnitude of candle's result.

mod common;
use common::max_abs;

use candle_core::{Device, Tensor};
use convscope::model::conv::{self, Winograd3x3};
use convscope::rng::Rng;

/// (batch, in channels, out channels, height, width)
const SHAPES: [(usize, usize, usize, usize, usize); 10] = [
    (1, 1, 1, 1, 1),
    (1, 1, 1, 5, 5),
    (2, 3, 5, 7, 9),
    (1, 2, 7, 1, 1),
    (2, 1, 33, 1, 4),
    (1, 16, 40, 13, 6),
    (2, 17, 3, 10, 11),
    (1, 3, 64, 32, 31),
    (1, 64, 64, 17, 17),
    (2, 70, 37, 9, 14),
];

fn random(rng: &mut Rng, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(rng.normals(n, 1.0), shape, &Device::Cpu).unwrap()
}

fn max_rel_error(ours: &Tensor, theirs: &Tensor) -> f32 {
    assert_eq!(ours.dims(), theirs.dims());
    max_abs(&(ours - theirs).unwrap()) / max_abs(theirs).max(f32::MIN_POSITIVE)
}

#[test]
fn forward_matches_candle_conv2d() {
    let mut rng = Rng::new(7);
    for (n, c, k, h, w) in SHAPES {
        let x = random(&mut rng, &[n, c, h, w]);
        let weight = random(&mut rng, &[k, c, 3, 3]);
        let bias = random(&mut rng, &[k]);
        let packed = conv::pack(&weight, Some(&bias)).unwrap();
        let ours = conv::forward(&packed, &x).unwrap();
        let theirs = x
            .conv2d(&weight, 1, 1, 1, 1)
            .unwrap()
            .broadcast_add(&bias.reshape((1, k, 1, 1)).unwrap())
            .unwrap();
        let e = max_rel_error(&ours, &theirs);
        eprintln!("forward {n}x{c}x{h}x{w} -> {k}: {e:.1e}");
        assert!(
            e <= 1e-5,
            "shape {:?} -> {k}: relative error {e:.2e}",
            x.dims()
        );
    }
}

/// The reverse pass packs the flipped, transposed kernel: its "forward" must be the
/// transposed convolution of the gradient, as candle computes it.
#[test]
fn flipped_kernel_gives_the_input_gradient() {
    let mut rng = Rng::new(8);
    for (n, c, k, h, w) in SHAPES {
        let grad = random(&mut rng, &[n, k, h, w]);
        let weight = random(&mut rng, &[k, c, 3, 3]);
        let flipped = weight.flip(&[2, 3]).unwrap().transpose(0, 1).unwrap();
        let packed = conv::pack(&flipped, None).unwrap();
        let ours = conv::forward(&packed, &grad).unwrap();
        let theirs = grad.conv_transpose2d(&weight, 1, 0, 1, 1).unwrap();
        let e = max_rel_error(&ours, &theirs);
        assert!(
            e <= 1e-5,
            "gradient {:?} through {c}<-{k}: relative error {e:.2e}",
            grad.dims()
        );
    }
}

#[test]
fn wrong_channel_count_is_an_error_not_a_panic() {
    let packed = Winograd3x3::new(&[0.0; 2 * 3 * 9], 2, 3, None);
    let x = Tensor::zeros((1, 4, 5, 5), candle_core::DType::F32, &Device::Cpu).unwrap();
    let err = conv::forward(&packed, &x).unwrap_err().to_string();
    assert!(err.contains("3 channels"), "{err}");
}
