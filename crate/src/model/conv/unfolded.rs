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
        phases.clear();
        phases.resize(channels * sh * sw * plane + tail, 0.0);
        let read_rows: Vec<bool> = (0..sh)
            .map(|py| (0..kh).any(|k| k * dh % sh == py))
            .collect();
        let read_cols: Vec<bool> = (0..sw)
            .map(|px| (0..kw).any(|k| k * dw % sw == px))
            .collect();
        for (ci, src) in x.chunks_exact(h * w).take(channels).enumerate() {
            for py in (0..sh).filter(|&py| read_rows[py]) {
                for px in (0..sw).filter(|&px| read_cols[px]) {
                    let dst = &mut phases[((ci * sh + py) * sw + px) * plane..][..plane];
                    for (r, out) in dst.chunks_exact_mut(cols).enumerate() {
                        let iy = (r * sh + py) as isize - ph as isize;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        let line = &src[iy as usize * w..][..w];
                        // Phase column c is input column c sw + px - pw, where inside.
                        let first = (pw.saturating_sub(px)).div_ceil(sw);
                        for (c, v) in out.iter_mut().enumerate().skip(first) {
                            let ix = c * sw + px - pw;
                            if ix >= w {
                                break;
                            }
                            *v = line[ix];
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

impl Unfolded {
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
