//! The unfolded input of a convolution (im2col without the matrix) as the packed GEMM's
//! right-hand side. The input is first copied once with its zero padding and, for a
//! stride `s`, split into `s x s` phases (phase `(py, px)` holds the padded pixels whose
//! row is `py` and column `px` modulo `s`): every tap then reads the pixels of an output
//! row as one contiguous run, with no bounds check and no strided gather. Packing pixel
//! by pixel with those checks took about 60% of MobileNetV2's 3x3 stride-2 stem, natively;
//! ResNet-50's 7x7 stride-2 stem went from 3.0 to 2.1 ms.

use super::packed_gemm::PackB;
use crate::model::graph::ConvCfg;
use std::cell::RefCell;
use std::ops::Range;

thread_local! {
    /// Each thread's planes, kept from one convolution to the next: allocated per call,
    /// their pages were faulted in every time (DenseNet-121's Grad-CAM, whose trace
    /// keeps every output alive, took 105 ms on the direct kernel against 80 with the
    /// memory kept).
    static PLANES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Row `(ci * kh + ky) * kw + kx`, column `oy * ow + ox` is input channel `ci` at
/// `(oy * sh + ky * dh - ph, ox * sw + kx * dw - pw)`, zero outside.
pub struct Unfolded {
    kernel: (usize, usize),
    stride: (usize, usize),
    dilation: (usize, usize),
    out_w: usize,
    /// Rows and columns of each phase plane.
    phase_hw: (usize, usize),
    /// `[channel][py][px][row][column]`: the padded input by phase (zeros in phases no
    /// tap reads).
    phases: Vec<f32>,
}

impl Unfolded {
    /// Rows and columns of each phase plane of an `h x w` input under `cfg`.
    pub fn phase_hw(cfg: &ConvCfg, (h, w): (usize, usize)) -> (usize, usize) {
        // Every padded row a tap reads is below (oh - 1) sh + (kh - 1) dh + 1 <= h + 2 ph.
        (
            (h + 2 * cfg.padding.0).div_ceil(cfg.stride.0),
            (w + 2 * cfg.padding.1).div_ceil(cfg.stride.1),
        )
    }

    /// The unfolded `channels` planes of `x` (`h x w` each) under `cfg`'s kernel,
    /// stride, padding and dilation, for an output of `out_hw`.
    pub fn new(
        x: &[f32],
        channels: usize,
        cfg: &ConvCfg,
        hw: (usize, usize),
        out_hw: (usize, usize),
    ) -> Self {
        Self::with_tail(x, channels, cfg, hw, out_hw, 0)
    }

    /// [`Self::new`] with `tail` zeros after the last plane, for readers that run past
    /// it ([`super::direct`]'s whole vectors over the flattened planes).
    pub fn with_tail(
        x: &[f32],
        channels: usize,
        cfg: &ConvCfg,
        hw: (usize, usize),
        out_hw: (usize, usize),
        tail: usize,
    ) -> Self {
        let (h, w) = hw;
        let (sh, sw) = cfg.stride;
        let (ph, pw) = cfg.padding;
        let (kh, kw) = cfg.kernel;
        let (dh, dw) = cfg.dilation;
        let phase_hw = Self::phase_hw(cfg, hw);
        let (rows, cols) = phase_hw;
        let plane = rows * cols;
        let mut phases = PLANES.with(|b| std::mem::take(&mut *b.borrow_mut()));
        let len = channels * sh * sw * plane + tail;
        phases.resize(len, 0.0);
        // The buffer holds the last call's planes. At stride 1, and at stride 2 where
        // every phase is read (3x3 and 7x7 kernels), each row is written whole below, its
        // padding zeroed beside the copy: zeroing the whole buffer first (memset) and
        // copying over it wrote every plane twice, through memory where the planes
        // outgrow L2. ResNet-50's and DenseNet-121's 3x3s took 0.02-0.1 ms longer each;
        // MobileNetV2's stride-2 stem 0.02-0.04 (of 0.50-0.57; runs alternating in one
        // process, one thread; ResNet-50's stride-2 convolutions within the noise).
        // Elsewhere (a 1x1 at stride 2 reads one phase) it is zeroed first, by `fill`,
        // which compiles to a call to the C library's memset (AVX-512 natively): `clear`
        // then `resize` wrote the zeros 16 bytes at a time; zeroing each whole row before
        // its copy took the stride-2 3x3s longer.
        let read_rows: Vec<bool> = (0..sh)
            .map(|py| (0..kh).any(|k| k * dh % sh == py))
            .collect();
        let read_cols: Vec<bool> = (0..sw)
            .map(|px| (0..kw).any(|k| k * dw % sw == px))
            .collect();
        // Stride-2 rows split in pairs into both column phases, every row phase read.
        let split = sw == 2 && read_cols.iter().all(|&read| read);
        let whole_rows = x.len() >= channels * h * w
            && ((sh == 1 && sw == 1) || (sh == 2 && split && read_rows.iter().all(|&read| read)));
        if whole_rows {
            phases[channels * sh * sw * plane..].fill(0.0);
        } else {
            phases.fill(0.0);
        }
        for (ci, src) in x.chunks_exact(h * w).take(channels).enumerate() {
            for py in (0..sh).filter(|&py| read_rows[py]) {
                let channel = &mut phases[(ci * sh + py) * sw * plane..][..sw * plane];
                for r in 0..rows {
                    let iy = (r * sh + py) as isize - ph as isize;
                    if iy < 0 || iy >= h as isize {
                        if whole_rows {
                            for px in 0..sw {
                                channel[px * plane + r * cols..][..cols].fill(0.0);
                            }
                        }
                        continue;
                    }
                    let line = &src[iy as usize * w..][..w];
                    if split {
                        let (even, odd) = channel.split_at_mut(plane);
                        let (even, odd) =
                            (&mut even[r * cols..][..cols], &mut odd[r * cols..][..cols]);
                        split_pairs(line, pw, even, odd);
                        if whole_rows {
                            for (px, out) in [(0, even), (1, odd)] {
                                zero_outside(out, inside_cols(px, 2, pw, w, cols));
                            }
                        }
                        continue;
                    }
                    for px in (0..sw).filter(|&px| read_cols[px]) {
                        let out = &mut channel[px * plane + r * cols..][..cols];
                        let inside = inside_cols(px, sw, pw, w, cols);
                        if sw == 1 {
                            let from = inside.start - pw;
                            out[inside.clone()].copy_from_slice(&line[from..][..inside.len()]);
                            zero_outside(out, inside);
                            continue;
                        }
                        for c in inside {
                            out[c] = line[c * sw + px - pw];
                        }
                    }
                }
            }
        }
        Unfolded {
            kernel: cfg.kernel,
            stride: cfg.stride,
            dilation: cfg.dilation,
            out_w: out_hw.1,
            phase_hw,
            phases,
        }
    }
}

/// The pixels a strided 1x1 convolution reads, `[channel][oy][ox]`: packed from it as
/// from any dense input. Unfolding it instead zeroed and kept four stride phases of
/// which one is read, and packed 28- or 14-pixel runs one value at a time: ResNet-50's
/// downsampling convolutions took 2.0-2.7 ms against onnxruntime's 1.3-1.8.
pub(crate) fn subsample(
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

/// The columns of phase `px` (of stride `sw`, padding `pw`, `cols` wide) that hold an
/// input row's `w` values: phase column `c` is input column `c sw + px - pw`.
fn inside_cols(px: usize, sw: usize, pw: usize, w: usize, cols: usize) -> Range<usize> {
    let first = pw.saturating_sub(px).div_ceil(sw).min(cols);
    let end = (w + pw).saturating_sub(px).div_ceil(sw);
    first..end.clamp(first, cols)
}

/// Zeros a phase row's padding, the columns before and after `inside`.
fn zero_outside(row: &mut [f32], inside: Range<usize>) {
    zero_pad(&mut row[..inside.start]);
    zero_pad(&mut row[inside.end..]);
}

/// Zeros a row's padding: one value (3x3 kernels' padding of 1) as a store, not a call
/// of memset per row.
fn zero_pad(pad: &mut [f32]) {
    match pad {
        [] => {}
        [v] => *v = 0.0,
        _ => pad.fill(0.0),
    }
}

/// One input row into its two stride-2 phase rows: padded column `ix + pw` goes to
/// `even` or `odd` at `(ix + pw) / 2`; the rest of both is left as it is. Pairs of
/// columns at a time, with no per-column bounds check (a column-by-column copy took as
/// long as MobileNetV2's 3x3 stem itself). The depthwise loop's padding splits its rows
/// the same way.
pub(crate) fn split_pairs(line: &[f32], pw: usize, even: &mut [f32], odd: &mut [f32]) {
    let w = line.len();
    // The first column whose padded position is even, and the one before it (odd).
    let c0 = (pw % 2).min(w);
    if c0 == 1 {
        odd[(pw - 1) / 2] = line[0];
    }
    let start = (c0 + pw) / 2;
    let fit = even.len().min(odd.len()).saturating_sub(start);
    let pairs = line[c0..].chunks_exact(2).take(fit);
    let rest = c0 + 2 * pairs.len();
    for ((e, o), pair) in even[start..].iter_mut().zip(&mut odd[start..]).zip(pairs) {
        *e = pair[0];
        *o = pair[1];
    }
    // An odd column count leaves one on an even padded position.
    if rest < w {
        if let Some(e) = even.get_mut((rest + pw) / 2) {
            *e = line[rest];
        }
    }
}

impl Unfolded {
    /// The values a 1x1 convolution without padding at `stride` reads from `channels`
    /// planes of `h x w`, each channel's `oh x ow` of them as one compact plane: the
    /// unfolded input of the same convolution at stride 1 over the subsampled map.
    /// Written once, where [`Self::new`] zeroes all `stride x stride` phases first.
    pub fn subsampled(
        x: &[f32],
        channels: usize,
        (h, w): (usize, usize),
        (oh, ow): (usize, usize),
        stride: usize,
    ) -> Self {
        assert!(
            oh.saturating_sub(1) * stride < h && ow.saturating_sub(1) * stride < w,
            "a {oh}x{ow} output is not a stride-{stride} subsampling of {h}x{w}"
        );
        let mut phases = PLANES.with(|b| std::mem::take(&mut *b.borrow_mut()));
        phases.resize(channels * oh * ow, 0.0);
        subsample(x, (h, w), (stride, stride), (oh, ow), &mut phases);
        Unfolded {
            kernel: (1, 1),
            stride: (1, 1),
            dilation: (1, 1),
            out_w: ow,
            phase_hw: (oh, ow),
            phases,
        }
    }

    /// `[channel][py][px][row][column]`, then the tail.
    pub fn phases(&self) -> &[f32] {
        &self.phases
    }
}

impl Drop for Unfolded {
    /// Hands the planes' memory to this thread's next [`Unfolded`].
    fn drop(&mut self) {
        let planes = std::mem::take(&mut self.phases);
        PLANES.with(|b| {
            let mut b = b.borrow_mut();
            if planes.capacity() > b.capacity() {
                *b = planes;
            }
        });
    }
}

impl PackB for Unfolded {
    fn pack(&self, k0: usize, kc: usize, j0: usize, cols: usize, nr: usize, out: &mut [f32]) {
        let (kh, kw) = self.kernel;
        let (sh, sw) = self.stride;
        let (dh, dw) = self.dilation;
        let (prows, pcols) = self.phase_hw;
        let ow = self.out_w;
        for (p, dst) in out.chunks_exact_mut(nr).take(kc).enumerate() {
            let r = k0 + p;
            let (ci, ky, kx) = (r / (kh * kw), r / kw % kh, r % kw);
            let (py, px) = (ky * dh % sh, kx * dw % sw);
            let plane = &self.phases[((ci * sh + py) * sw + px) * prows * pcols..][..prows * pcols];
            // Output pixel (oy, ox) reads phase pixel (oy + ky dh / sh, ox + kx dw / sw).
            let (dy, dx) = (ky * dh / sh, kx * dw / sw);
            let (mut q, mut oy, mut ox) = (0, j0 / ow, j0 % ow);
            while q < cols {
                let run = (ow - ox).min(cols - q);
                let src = &plane[(oy + dy) * pcols + ox + dx..][..run];
                for (d, s) in dst[q..q + run].iter_mut().zip(src) {
                    *d = *s;
                }
                q += run;
                ox = 0;
                oy += 1;
            }
            dst[cols..].fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The planes are reused from call to call: a call after one over a larger input of
    /// NaNs (its planes and tail left in the buffer) still reads zeros in every padding
    /// position, in the phases no tap reads and in the tail, at stride 1 (rows written
    /// whole, and at stride 2 by 3x3 and 7x7 kernels, odd and even padding and widths)
    /// and 2 by a 1x1 (zeroed first).
    #[test]
    fn padding_is_zero_after_a_larger_call() {
        let kernels = [
            (3, 1, 1),
            (3, 2, 1),
            (1, 2, 0),
            (7, 2, 3),
            (3, 2, 0),
            (3, 2, 2),
        ];
        for ((k, stride, pad), (h, w)) in kernels
            .into_iter()
            .flat_map(|kernel| [(5, 6), (6, 7)].map(|hw| (kernel, hw)))
        {
            let big = ConvCfg::square(3, 1, 3, stride, 2);
            let nans = vec![f32::NAN; 3 * 12 * 13];
            drop(Unfolded::with_tail(&nans, 3, &big, (12, 13), (12, 13), 40));
            let cfg = ConvCfg::square(2, 1, k, stride, pad);
            let x: Vec<f32> = (0..2 * h * w).map(|i| i as f32 + 1.0).collect();
            let out = (
                (h + 2 * pad - k) / stride + 1,
                (w + 2 * pad - k) / stride + 1,
            );
            let u = Unfolded::with_tail(&x, 2, &cfg, (h, w), out, 8);
            let (rows, cols) = Unfolded::phase_hw(&cfg, (h, w));
            let plane = rows * cols;
            let phases = u.phases();
            assert_eq!(phases.len(), 2 * stride * stride * plane + 8);
            for (i, &v) in phases.iter().enumerate() {
                let (ci, rest) = (i / (stride * stride * plane), i % (stride * stride * plane));
                let (py, px) = (rest / plane / stride, rest / plane % stride);
                let (r, c) = (rest % plane / cols, rest % cols);
                let (iy, ix) = (r * stride + py, c * stride + px);
                // Only the phases a tap reads hold pixels (a 1x1 kernel reads phase (0, 0)).
                let read = k > 1 || (py, px) == (0, 0);
                let inside = (pad..pad + h).contains(&iy) && (pad..pad + w).contains(&ix);
                let want = if ci < 2 && read && inside {
                    x[(ci * h + iy - pad) * w + ix - pad]
                } else {
                    0.0
                };
                assert_eq!(v, want, "kernel {k} stride {stride}: value {i}");
            }
        }
    }

    /// Every packed row (channel, tap) and column (output pixel) equals the input pixel
    /// the definition names, or zero outside: strides 1-3, padding from none to past
    /// half the kernel, odd and even widths, a dilation.
    #[test]
    fn packed_rows_are_the_pixels_each_tap_reads() {
        let mut cases = vec![];
        for (k, s, p) in [
            (3, 1, 1),
            (3, 2, 1),
            (3, 2, 0),
            (7, 2, 3),
            (1, 2, 0),
            (3, 3, 2),
            (5, 2, 2),
        ] {
            for (h, w) in [(9, 11), (8, 10), (5, 4)] {
                cases.push((ConvCfg::square(2, 1, k, s, p), (h, w)));
            }
        }
        let mut dilated = ConvCfg::square(2, 1, 3, 2, 2);
        dilated.dilation = (2, 2);
        cases.push((dilated, (9, 10)));
        for (cfg, (h, w)) in cases {
            let (kh, kw) = cfg.kernel;
            let (sh, sw) = cfg.stride;
            let (ph, pw) = cfg.padding;
            let (dh, dw) = cfg.dilation;
            let oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
            let ow = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
            let x: Vec<f32> = (0..2 * h * w).map(|i| i as f32 + 1.0).collect();
            let unfolded = Unfolded::new(&x, 2, &cfg, (h, w), (oh, ow));
            let (rows, n) = (2 * kh * kw, oh * ow);
            let mut packed = vec![f32::NAN; rows * n];
            unfolded.pack(0, rows, 0, n, n, &mut packed);
            for r in 0..rows {
                let (ci, ky, kx) = (r / (kh * kw), r / kw % kh, r % kw);
                for q in 0..n {
                    let (oy, ox) = (q / ow, q % ow);
                    let iy = (oy * sh + ky * dh) as isize - ph as isize;
                    let ix = (ox * sw + kx * dw) as isize - pw as isize;
                    let inside = (0..h as isize).contains(&iy) && (0..w as isize).contains(&ix);
                    let want = if inside {
                        x[(ci * h + iy as usize) * w + ix as usize]
                    } else {
                        0.0
                    };
                    assert_eq!(
                        packed[r * n + q],
                        want,
                        "{cfg:?} {h}x{w}: row {r} pixel {q}"
                    );
                }
            }
        }
    }
}
