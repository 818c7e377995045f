//! 1x1 convolutions: per image, `Y = W X` with `X` the `[in, pixels]` matrix, on the
//! packed product (strided ones read every `s`-th pixel as they pack: ResNet's
//! downsampling shortcut). The input gradient is `W^T dY`, scattered back to the strided
//! pixels.

use super::super::super::conv::gemm_micro::Clamp;
use super::super::super::conv::packed_gemm::{gemm, Dense, PackedA};
use super::Call;
use crate::model::ops::output::{overwritten, with_scratch, Scratch};
use std::cell::RefCell;

thread_local! {
    /// Each thread's subsampled input of a strided 1x1 convolution, reused.
    static SUBSAMPLED: Scratch = const { RefCell::new(Vec::new()) };
}

/// The pixels a strided 1x1 convolution reads, `[channel][oy][ox]`: packed from it as
/// from any dense input. Unfolding it instead zeroed and kept four stride phases of
/// which one is read, and packed 28- or 14-pixel runs one value at a time: ResNet-50's
/// downsampling convolutions took 2.0-2.7 ms against onnxruntime's 1.3-1.8.
fn subsample(
    x: &[f32],
    (h, w): (usize, usize),
    (sh, sw): (usize, usize),
    (oh, ow): (usize, usize),
    out: &mut [f32],
) {
    for (src, dst) in x.chunks_exact(h * w).zip(out.chunks_exact_mut(oh * ow)) {
        for (oy, row) in dst.chunks_exact_mut(ow).enumerate() {
            let line = &src[oy * sh * w..][..w];
            if sw == 2 {
                // Pairs, so the copy vectorises; an odd width ends on a lone column.
                let pairs = line.chunks_exact(2);
                let last = pairs.remainder().first().copied();
                let n = pairs.len().min(ow);
                for (d, pair) in row.iter_mut().zip(pairs) {
                    *d = pair[0];
                }
                if let (true, Some(v)) = (n < ow, last) {
                    row[n] = v;
                }
            } else {
                for (ox, d) in row.iter_mut().enumerate() {
                    *d = line[ox * sw];
                }
            }
        }
    }
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
