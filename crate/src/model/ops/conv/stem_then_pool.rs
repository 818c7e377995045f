//! A stem convolution (on the direct kernel, its ReLU in the store) and the 3x3
//! stride-2 max pool after it (ResNet's and DenseNet's), run band by band: each band of
//! pooled rows asks the convolution for the rows it reads, in a buffer that stays in L2,
//! where the convolution's whole output (64 planes of 112x112, 3.2 MB) was written out
//! to L3 and read back by the pool. The band's last row, which the next band's first
//! pooled row reads too, is moved to the top of the buffer, not computed again.

use super::super::super::conv::direct::DirectConv;
use super::super::super::conv::gemm_micro::Clamp;
use super::super::stem_pool;
use crate::model::ops::output::{overwritten, with_scratch, Scratch};
use rayon::prelude::*;
use std::cell::RefCell;

thread_local! {
    /// Each thread's band of convolution rows, kept from call to call.
    static BAND: Scratch = const { RefCell::new(Vec::new()) };
}

/// Bytes of convolution rows per band: within L2 (1 MB on the machine measured) beside
/// the input rows they read. ResNet-50's stem and pool took 1.63-1.66 ms apart, 1.51-1.52
/// in bands of 768 KB (13 pooled rows), 1.45-1.57 in bands of 384 KB, 1.76 of 160 KB
/// (ResNet-18's 1.58 -> 1.47; runs alternating in one process, one thread).
pub(super) const BAND_BYTES: usize = 768 * 1024;

/// `pool(clamp(conv(x) + bias))` for `n` images of `hw` whose convolution output is
/// `out_hw`, in bands of `band_bytes` of convolution rows (at least 3 rows;
/// [`BAND_BYTES`]), and the pooled size. Only where [`DirectConv::available`] and the
/// pool is [`stem_pool::takes`]'s.
pub(super) fn forward(
    conv: &DirectConv,
    x: &[f32],
    n: usize,
    hw: (usize, usize),
    (oh, ow): (usize, usize),
    clamp: Clamp,
    band_bytes: usize,
) -> (Vec<f32>, (usize, usize)) {
    let (cin, cout) = (conv.cfg().in_channels, conv.cfg().out_channels);
    // Floor mode, kernel 3, stride 2, padding 1.
    let (ph, pw) = (oh.div_ceil(2), ow.div_ceil(2));
    if oh * ow == 0 || n == 0 {
        return (Vec::new(), (ph, pw));
    }
    // Pooled rows per band: its first reads the row kept from the band before.
    let capacity = (band_bytes / (4 * cout * ow).max(1)).max(3);
    let band_rows = (capacity - 1) / 2;
    let per_image = cout * ph * pw;
    let images = |y: &mut [f32]| {
        for (xs, ys) in x
            .chunks_exact(cin * hw.0 * hw.1)
            .zip(y.chunks_exact_mut(per_image))
        {
            let padded = conv.unfold(xs, hw, (oh, ow));
            with_scratch(&BAND, cout * capacity * ow, |band| {
                for p0 in (0..ph).step_by(band_rows) {
                    let p1 = (p0 + band_rows).min(ph);
                    // Pooled row p reads convolution rows 2p - 1 ..= 2p + 1.
                    let rows = 2 * p0..(2 * p1).min(oh);
                    let (top, at) = if p0 == 0 {
                        (1, 0)
                    } else {
                        // Row 2 p0 - 1, the last band's last, to the top.
                        let last = if p0 == band_rows {
                            2 * p0 - 1
                        } else {
                            2 * band_rows
                        };
                        for plane in band.chunks_exact_mut(capacity * ow) {
                            plane.copy_within(last * ow..(last + 1) * ow, 0);
                        }
                        (0, 1)
                    };
                    let into = &mut band[at * ow..];
                    conv.rows_into(&padded, hw, ow, rows.clone(), into, capacity, clamp);
                    let filled = at + rows.len();
                    let pool = |(plane, out): (&[f32], &mut [f32])| {
                        let dst = &mut out[p0 * pw..][..(p1 - p0) * pw];
                        let src = &plane[..filled * ow];
                        if top == 1 {
                            stem_pool::plane(src, dst, (filled, ow), (p1 - p0, pw));
                        } else {
                            stem_pool::band(src, dst, (filled, ow), (p1 - p0, pw));
                        }
                    };
                    let (band, plane) = (&*band, capacity * ow);
                    if rayon::current_num_threads() > 1 {
                        band.par_chunks_exact(plane)
                            .zip(ys.par_chunks_exact_mut(ph * pw))
                            .for_each(pool);
                    } else {
                        band.chunks_exact(plane)
                            .zip(ys.chunks_exact_mut(ph * pw))
                            .for_each(pool);
                    }
                }
            });
        }
    };
    // SAFETY: every band pools each of its rows of every plane.
    let y = unsafe { overwritten(n * per_image, images) };
    (y, (ph, pw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::graph::{ConvCfg, PoolCfg};
    use crate::model::ops::pooling;

    fn values(len: usize, seed: f32) -> Vec<f32> {
        (0..len)
            .map(|i| (i as f32 * 0.61 + seed).sin() * 1.3)
            .collect()
    }

    /// Band by band against the convolution and the pool run apart: ResNet's 7x7 and
    /// MobileNet's 3x3 stems at stride 2, convolution outputs of odd and even sizes,
    /// bands of one pooled row to the whole map, two images.
    #[test]
    fn bands_give_the_convolution_and_pool_values() {
        if !DirectConv::available() {
            return;
        }
        for (k, (h, w)) in [(7, (23, 20)), (7, (40, 37)), (3, (15, 16)), (7, (8, 9))] {
            let cfg = ConvCfg::square(3, 16, k, 2, k / 2).bias(true);
            let (weight, bias) = (values(16 * 3 * k * k, 0.2), values(16, 0.9));
            let n = 2;
            let x = values(n * 3 * h * w, 1.7);
            let conv = DirectConv::new(cfg, &weight, Some(&bias));
            let out_hw = crate::model::ops::conv::out_size(&cfg, h, w).unwrap();
            let y = conv.forward(&x, n, (h, w), out_hw, None, Clamp::Relu);
            let want = pooling::max_forward(&y, &PoolCfg::square(3, 2, 1), out_hw);
            for rows in [3, 5, 8, 4 * out_hw.0] {
                let bytes = rows * 4 * 16 * out_hw.1;
                let (got, hw) = forward(&conv, &x, n, (h, w), out_hw, Clamp::Relu, bytes);
                assert_eq!(
                    hw,
                    pooling::out_size(&PoolCfg::square(3, 2, 1), out_hw.0, out_hw.1)
                );
                assert_eq!(got, want, "k {k} {h}x{w}, bands of {rows} rows");
            }
        }
    }
}
