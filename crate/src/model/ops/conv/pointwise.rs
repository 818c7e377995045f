//! 1x1 convolutions: per image, `Y = W X` with `X` the `[in, pixels]` matrix, on the
//! packed product (strided ones read every `s`-th pixel as they pack: ResNet's
//! downsampling shortcut). The input gradient is `W^T dY`, scattered back to the strided
//! pixels.

use super::super::super::conv::gemm_micro::Clamp;
use super::super::super::conv::packed_gemm::{gemm, Dense, PackedA};
use super::super::super::conv::unfolded::subsample;
use super::Call;
use crate::model::ops::output::{overwritten, with_scratch, Scratch};
use std::cell::RefCell;

thread_local! {
    /// Each thread's subsampled input of a strided 1x1 convolution, reused.
    static SUBSAMPLED: Scratch = const { RefCell::new(Vec::new()) };
}

/// `clamp(W x + bias [+ residual])` for `n` images, `a` the packed `[out, in]` weights.
pub(super) fn forward(
    a: &PackedA,
    call: &Call,
    x: &[f32],
    residual: Option<&[f32]>,
    clamp: Clamp,
) -> Vec<f32> {
    let (cfg, n, (h, w), (oh, ow)) = call.parts();
    let (cin, cout) = (cfg.in_channels, cfg.out_channels);
    let plane = oh * ow;
    // SAFETY: each image's product writes all `cout` rows of `plane` values.
    unsafe {
        overwritten(n * cout * plane, |y| {
            for img in 0..n {
                let xs = &x[img * cin * h * w..(img + 1) * cin * h * w];
                let ys = &mut y[img * cout * plane..(img + 1) * cout * plane];
                let res = residual.map(|r| &r[img * cout * plane..(img + 1) * cout * plane]);
                if cfg.stride == (1, 1) {
                    gemm(
                        a,
                        &Dense {
                            data: xs,
                            ld: plane,
                        },
                        plane,
                        ys,
                        plane,
                        res,
                        clamp,
                    );
                } else {
                    with_scratch(&SUBSAMPLED, cin * plane, |sub| {
                        subsample(xs, (h, w), cfg.stride, (oh, ow), sub);
                        let b = Dense {
                            data: sub,
                            ld: plane,
                        };
                        gemm(a, &b, plane, ys, plane, res, clamp);
                    });
                }
            }
        })
    }
}

/// `W^T g` at the pixels the convolution read, zero elsewhere; `wt` the packed `W^T`.
pub(super) fn backward(wt: &PackedA, call: &Call, g: &[f32]) -> Vec<f32> {
    let (cfg, n, (h, w), (oh, ow)) = call.parts();
    let (cin, cout) = (cfg.in_channels, cfg.out_channels);
    let plane = oh * ow;
    let mut dsub = vec![0f32; n * cin * plane];
    for img in 0..n {
        let gs = &g[img * cout * plane..(img + 1) * cout * plane];
        let ds = &mut dsub[img * cin * plane..(img + 1) * cin * plane];
        gemm(
            wt,
            &Dense {
                data: gs,
                ld: plane,
            },
            plane,
            ds,
            plane,
            None,
            Clamp::None,
        );
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
