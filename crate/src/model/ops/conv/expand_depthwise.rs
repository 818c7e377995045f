//! An inverted residual's expansion (a 1x1 convolution and its activation) and the
//! depthwise convolution after it, run band by band: each band of the depthwise layer's
//! output rows asks the expansion for the rows it reads, in a buffer that stays in L2,
//! where the expanded map as a whole (MobileNetV2's 96 planes of 112x112, 4.8 MB) was
//! written out to L3 by the one and read back by the other. Rows that the next band
//! reads too are moved to the top of the buffer, not computed again.

use super::super::super::conv::packed_gemm::{gemm, Dense, PackedA};
use super::super::act;
use super::depthwise_simd::{self, PlaneFn, Shape};
use crate::model::graph::{Activation, ConvCfg};
use crate::model::ops::output::{overwritten, with_scratch, Scratch};
use rayon::prelude::*;
use std::cell::RefCell;

thread_local! {
    /// Each thread's band of expanded rows, kept from call to call.
    static BAND: Scratch = const { RefCell::new(Vec::new()) };
}

/// Bytes of expanded rows per band: within L2 beside the rows of input it reads.
const BAND_BYTES: usize = 512 * 1024;

/// The expansion `[hidden, in]` packed with its bias, and the depthwise layer's filters.
#[derive(Debug)]
pub struct ExpandDepthwise {
    expand: PackedA,
    expand_act: Option<Activation>,
    hidden: usize,
    in_channels: usize,
    depthwise: ConvCfg,
    /// `[hidden, k * k]` and `[hidden]`.
    taps: Vec<f32>,
    bias: Vec<f32>,
    plane: PlaneFn,
}

impl ExpandDepthwise {
    /// The pair, if the depthwise layer runs on the plane loop (square 3x3, 5x5 or 7x7
    /// kernels at stride 1 or 2, the same padding both ways) and the expansion is a 1x1
    /// at stride 1 (`expand_weight` `[hidden, in]`, folded).
    pub fn new(
        (expand_weight, expand_bias): (&[f32], &[f32]),
        expand_act: Option<Activation>,
        depthwise: ConvCfg,
        (taps, bias): (&[f32], &[f32]),
    ) -> Option<Self> {
        let hidden = depthwise.in_channels;
        let k = depthwise.kernel.0;
        let plane = depthwise_simd::plane_kernel(&depthwise)?;
        let fits = depthwise.is_depthwise()
            && depthwise.padding.0 == depthwise.padding.1
            && expand_bias.len() == hidden
            && hidden > 0
            && expand_weight.len().is_multiple_of(hidden)
            && taps.len() == hidden * k * k
            && bias.len() == hidden;
        if !fits {
            return None;
        }
        let in_channels = expand_weight.len() / hidden;
        Some(ExpandDepthwise {
            expand: PackedA::rows(expand_weight, hidden, in_channels, Some(expand_bias)),
            expand_act,
            hidden,
            in_channels,
            depthwise,
            taps: taps.to_vec(),
            bias: bias.to_vec(),
            plane,
        })
    }

    /// Channels of the output: the depthwise layer's.
    pub fn out_channels(&self) -> usize {
        self.hidden
    }

    /// `dw_act(depthwise(expand_act(expand(x))))` for `n` images of `h x w`, and the
    /// output's size; `None` if `x` is not such images or the depthwise kernel does not
    /// fit them.
    pub fn forward(
        &self,
        x: &[f32],
        n: usize,
        hw: (usize, usize),
        dw_act: Option<Activation>,
    ) -> Option<(Vec<f32>, (usize, usize))> {
        self.forward_in_bands(x, n, hw, dw_act, BAND_BYTES)
    }

    /// [`Self::forward`] with bands of `band_bytes` of expanded rows (at least `k`).
    fn forward_in_bands(
        &self,
        x: &[f32],
        n: usize,
        (h, w): (usize, usize),
        dw_act: Option<Activation>,
        band_bytes: usize,
    ) -> Option<(Vec<f32>, (usize, usize))> {
        let cfg = &self.depthwise;
        let (k, s, p) = (cfg.kernel.0, cfg.stride.0, cfg.padding.0);
        let (oh, ow) = super::out_size(cfg, h, w)?;
        if x.len() != n * self.in_channels * h * w || oh * ow == 0 || n == 0 {
            return None;
        }
        let (clamp, after) = super::store_clamp(dw_act);
        // Output rows per band: a band reads (rows - 1) s + k expanded rows.
        let row_bytes = 4 * self.hidden * w;
        let fit = (band_bytes / row_bytes.max(1)).max(k);
        let band_rows = ((fit - k) / s + 1).min(oh);
        let capacity = (band_rows - 1) * s + k;
        let plane_out = oh * ow;
        let per_image = self.hidden * plane_out;
        let images = |y: &mut [f32]| {
            for (xs, ys) in x
                .chunks_exact(self.in_channels * h * w)
                .zip(y.chunks_exact_mut(per_image))
            {
                with_scratch(&BAND, self.hidden * capacity * w, |band| {
                    // Expanded rows `lo..hi` are in the band's rows `0..hi - lo`.
                    let (mut lo, mut hi) = (0usize, 0usize);
                    for r0 in (0..oh).step_by(band_rows) {
                        let r1 = (r0 + band_rows).min(oh);
                        let need_lo = (r0 * s).saturating_sub(p).min(h);
                        let need_hi = ((r1 - 1) * s + k).saturating_sub(p).min(h);
                        let keep = hi.saturating_sub(need_lo).min(hi - lo);
                        self.shift_rows(band, (capacity, w), hi - keep - lo, keep);
                        let from = need_lo.max(hi);
                        self.expand_rows(xs, (h, w), from..need_hi, band, (capacity, keep));
                        (lo, hi) = (need_lo, need_hi);
                        let shape = Shape {
                            hw: (hi - lo, w),
                            out_hw: (r1 - r0, ow),
                            kernel: (k, k),
                            // Output row r0 reads expanded row r0 s - p, band row 0 when
                            // inside the map.
                            padding: (p + lo - r0 * s, p),
                            stride: s,
                            clamp,
                        };
                        self.depthwise_rows(band, (capacity, w), &shape, ys, r0 * ow);
                    }
                });
            }
        };
        // SAFETY: every band's depthwise rows write each of their output values.
        let mut y = unsafe { overwritten(n * per_image, images) };
        if let Some(a) = after {
            act::apply_in_place(a, &mut y);
        }
        Some((y, (oh, ow)))
    }

    /// Moves each plane's band rows `from..from + rows` to its top.
    fn shift_rows(
        &self,
        band: &mut [f32],
        (capacity, w): (usize, usize),
        from: usize,
        rows: usize,
    ) {
        if from == 0 || rows == 0 {
            return;
        }
        for plane in band.chunks_exact_mut(capacity * w) {
            plane.copy_within(from * w..(from + rows) * w, 0);
        }
    }

    /// Expanded rows `rows` into each plane's band rows from `at`, with the activation.
    fn expand_rows(
        &self,
        x: &[f32],
        (h, w): (usize, usize),
        rows: std::ops::Range<usize>,
        band: &mut [f32],
        (capacity, at): (usize, usize),
    ) {
        if rows.is_empty() {
            return;
        }
        let (clamp, after) = super::store_clamp(self.expand_act);
        let cols = rows.len() * w;
        let input = Dense {
            data: &x[rows.start * w..],
            ld: h * w,
        };
        gemm(
            &self.expand,
            &input,
            cols,
            &mut band[at * w..],
            capacity * w,
            None,
            clamp,
        );
        if let Some(a) = after {
            for plane in band.chunks_exact_mut(capacity * w) {
                act::apply_in_place(a, &mut plane[at * w..][..cols]);
            }
        }
    }

    /// The depthwise layer's output rows of `shape` for every plane, from the band, to
    /// each output plane from value `at`.
    fn depthwise_rows(
        &self,
        band: &[f32],
        (capacity, w): (usize, usize),
        shape: &Shape,
        y: &mut [f32],
        at: usize,
    ) {
        let (rows, ow) = shape.out_hw;
        let plane_out = y.len() / self.hidden;
        let kk = shape.kernel.0 * shape.kernel.1;
        let scratch = depthwise_simd::scratch_len(shape);
        let run = |(c, out): (usize, &mut [f32])| {
            let src = &band[c * capacity * w..][..shape.hw.0 * w];
            let dst = &mut out[at..][..rows * ow];
            depthwise_simd::with_padded(scratch, |s| {
                (self.plane)(src, dst, &self.taps[c * kk..][..kk], self.bias[c], shape, s)
            });
        };
        if rayon::current_num_threads() > 1 {
            y.par_chunks_mut(plane_out).enumerate().for_each(run);
        } else {
            y.chunks_mut(plane_out).enumerate().for_each(run);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ops::conv::ConvKernel;

    fn values(len: usize, seed: f32) -> Vec<f32> {
        (0..len)
            .map(|i| (i as f32 * 0.37 + seed).sin() * 1.7)
            .collect()
    }

    /// Band by band against the two convolutions run one after the other: bands of one
    /// output row and more (rows kept from band to band, the last band short), 3x3 and
    /// 5x5 at stride 1 and 2 over odd and even sizes, activations in the store and after
    /// it, two images.
    #[test]
    fn bands_give_the_two_convolutions_values() {
        let cases = [
            (
                3,
                2,
                (15, 13),
                Some(Activation::Relu6),
                Some(Activation::Relu6),
            ),
            (3, 1, (9, 17), Some(Activation::Relu6), None),
            (
                5,
                2,
                (11, 10),
                Some(Activation::Silu),
                Some(Activation::Silu),
            ),
            (
                5,
                1,
                (8, 7),
                Some(Activation::Relu),
                Some(Activation::Hardswish),
            ),
            (3, 2, (2, 3), None, Some(Activation::Relu)),
        ];
        for (k, s, (h, w), expand_act, dw_act) in cases {
            let (cin, hidden, n) = (5, 12, 2);
            let expand_cfg = ConvCfg::square(cin, hidden, 1, 1, 0).bias(true);
            let dw_cfg = ConvCfg::square(hidden, hidden, k, s, k / 2)
                .groups(hidden)
                .bias(true);
            let (ew, eb) = (values(hidden * cin, 0.3), values(hidden, 1.1));
            let (dw, db) = (values(hidden * k * k, 2.2), values(hidden, 0.7));
            let x = values(n * cin * h * w, 0.9);
            let expand = ConvKernel::new(expand_cfg, &ew, Some(&eb)).unwrap();
            let depthwise = ConvKernel::new(dw_cfg, &dw, Some(&db)).unwrap();
            let (mid, _) = expand
                .forward_fused(&x, n, (h, w), None, expand_act)
                .unwrap();
            let (want, out_hw) = depthwise
                .forward_fused(&mid, n, (h, w), None, dw_act)
                .unwrap();
            let pair = ExpandDepthwise::new((&ew, &eb), expand_act, dw_cfg, (&dw, &db)).unwrap();
            let row_bytes = 4 * hidden * w;
            for rows in [k, k + 1, k + 3, 4 * h] {
                let (y, hw) = pair
                    .forward_in_bands(&x, n, (h, w), dw_act, rows * row_bytes)
                    .unwrap();
                assert_eq!(hw, out_hw);
                let err = y
                    .iter()
                    .zip(&want)
                    .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                assert!(
                    err < 1e-4,
                    "k {k} s {s} {h}x{w}, bands of {rows} rows: error {err}"
                );
            }
        }
    }

    #[test]
    fn inputs_it_cannot_run_are_declined() {
        let dw_cfg = ConvCfg::square(4, 4, 3, 1, 1).groups(4).bias(true);
        let pair = ExpandDepthwise::new(
            (&values(8, 0.1), &values(4, 0.2)),
            None,
            dw_cfg,
            (&values(36, 0.3), &values(4, 0.4)),
        )
        .unwrap();
        assert!(pair
            .forward(&values(2 * 5 * 5, 0.5), 1, (5, 5), None)
            .is_some());
        assert!(pair
            .forward(&values(2 * 5 * 5 - 1, 0.5), 1, (5, 5), None)
            .is_none());
        let dilated = ConvCfg {
            dilation: (2, 2),
            ..dw_cfg
        };
        let taps = (values(36, 0.3), values(4, 0.4));
        assert!(ExpandDepthwise::new(
            (&values(8, 0.1), &values(4, 0.2)),
            None,
            dilated,
            (&taps.0, &taps.1)
        )
        .is_none());
    }
}
