//! Depthwise convolutions over small planes (MobileNet's and EfficientNet's 7x7 layers) with 16 channels across the lanes of an AVX-512 vector, natively. One plane
//! at a time, a 7x7 plane fills 7 of a vector's 16 lanes per row and each channel pays
//! its own padding and setup: MobileNetV2's 960-channel 7x7 layers took 0.11 ms each,
//! onnxruntime (channels in lanes throughout) 0.03. Here 16 planes are interleaved once
//! into a zero-padded `[row][column][16]` tile, every output pixel of the 16 channels is
//! one vector of sums, and the results are de-interleaved into the planes, both by 16 x
//! 16 transposes in registers (gathers, 8-10 cycles a vector on AMD's Zen 4, left these
//! layers at 0.12-0.15 ms there; 0.09-0.12 transposed; 0.08-0.09 with a row's pixels
//! summed at once). "Same" convolutions at stride 1 on rows of at most 8 pixels, and 3x3
//! ones at stride 2 into rows of at most 7, run two output rows per vector instead
//! ([`super::depthwise_pairs`], chosen first: 0.05-0.08 -> 0.03 ms a layer), which leaves
//! this the larger stride-2 kernels (EfficientNet's 5x5 into 7x7) and other paddings.
//! Compiled for x86_64 only (the wasm build keeps the plane loop).

use super::super::super::conv::gemm_micro::Clamp;
use super::depthwise_simd::Shape;
use super::Call;
use crate::model::graph::ConvCfg;
use crate::model::ops::output::overwritten;

/// Channels per group: one AVX-512 vector.
const LANES: usize = 16;
/// Largest planes taken (input and output pixels): the interleaving costs about as much
/// as the sums, so this wins only where the plane loop idles most lanes. MobileNetV2's
/// 7x7 outputs went 0.11 -> 0.05-0.06 ms a layer; its 14x14 ones 0.08 -> 0.09 (not taken).
const MAX_PLANE: usize = 14 * 14;
const MAX_OUT_PLANE: usize = 7 * 7;

/// Whether a depthwise convolution over `h x w` planes runs here: stride 1 or 2, no
/// dilation, small planes ([`MAX_PLANE`], [`MAX_OUT_PLANE`]), and AVX-512F.
pub(super) fn takes(cfg: &ConvCfg, (h, w): (usize, usize)) -> bool {
    let small_out = super::out_size(cfg, h, w).is_some_and(|(oh, ow)| oh * ow <= MAX_OUT_PLANE);
    let available = std::is_x86_feature_detected!("avx512f");
    cfg.dilation == (1, 1)
        && cfg.stride.0 == cfg.stride.1
        && (cfg.stride.0 == 1 || cfg.stride.0 == 2)
        && h * w <= MAX_PLANE
        && small_out
        && available
}

/// `clamp(bias + conv(x))` for every channel (where [`takes`]).
#[inline(never)]
pub(super) fn forward(wt: &[f32], bias: &[f32], call: &Call, x: &[f32], clamp: Clamp) -> Vec<f32> {
    let (cfg, n, (h, w), (oh, ow)) = call.parts();
    let c = cfg.in_channels;
    let (kh, kw) = cfg.kernel;
    let (ph, pw) = cfg.padding;
    let s = cfg.stride.0;
    // Padded so that every tap of every output pixel reads inside the tile.
    let (hp, wp) = (
        ((oh - 1) * s + kh).max(h + ph),
        ((ow - 1) * s + kw).max(w + pw),
    );
    let geometry = Geometry {
        shape: Shape {
            hw: (h, w),
            out_hw: (oh, ow),
            kernel: (kh, kw),
            padding: (ph, pw),
            stride: s,
            clamp,
        },
        padded_w: wp,
    };
    let mut tile = vec![[0f32; LANES]; hp * wp];
    let mut sums = vec![[0f32; LANES]; oh * ow];
    let mut taps = vec![[0f32; LANES]; kh * kw];
    let fill = |y: &mut [f32]| {
        for img in 0..n {
            for c0 in (0..c).step_by(LANES) {
                let g = LANES.min(c - c0);
                let src = &x[(img * c + c0) * h * w..][..g * h * w];
                let dst = &mut y[(img * c + c0) * oh * ow..][..g * oh * ow];
                let mut b = [0f32; LANES];
                for l in 0..g {
                    b[l] = bias[c0 + l];
                    for (t, tap) in taps.iter_mut().enumerate() {
                        tap[l] = wt[(c0 + l) * kh * kw + t];
                    }
                }
                // SAFETY: `takes` checked AVX-512F; the tile holds every tap's pixel and
                // each output plane `oh * ow` values.
                unsafe {
                    avx512::interleave(src, g, &geometry, &mut tile);
                    avx512::sums(&tile, &taps, &b, &geometry, &mut sums);
                    avx512::deinterleave(&sums, g, dst);
                };
            }
        }
    };
    // SAFETY: every group writes each output value of its channels.
    unsafe { overwritten(n * c * oh * ow, fill) }
}

/// The plane loop's shape and the padded tile's row length.
struct Geometry {
    shape: Shape,
    padded_w: usize,
}

mod avx512 {
    use super::super::depthwise_masked::clamped;
    use super::{Geometry, LANES};
    use crate::model::conv::transpose16::transpose16;
    use std::arch::x86_64::*;

    /// Writes `g` planes (`src`, `h x w` each) into lanes `0..g` of the tile's inside, a
    /// row of the 16 planes at a time, transposed in registers (rows up to 16 wide;
    /// wider ones one gathered vector per pixel); the padding stays zero (never written)
    /// and lanes past `g` get zeros or plane 0 again, which no store reads.
    ///
    /// # Safety
    /// AVX-512F; `g <= LANES`, the tile as [`super::forward`] sized it.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn interleave(
        src: &[f32],
        g: usize,
        geometry: &Geometry,
        tile: &mut [[f32; LANES]],
    ) {
        let (h, w) = geometry.shape.hw;
        let (ph, pw) = geometry.shape.padding;
        let plane = h * w;
        if w <= LANES {
            let mask: __mmask16 = if w == LANES { !0 } else { (1u16 << w) - 1 };
            for y in 0..h {
                let mut rows = [_mm512_setzero_ps(); LANES];
                for (l, r) in rows.iter_mut().enumerate().take(g) {
                    // SAFETY: lanes under `mask` read row y of plane l, inside `src`.
                    *r = unsafe { _mm512_maskz_loadu_ps(mask, src[l * plane + y * w..].as_ptr()) };
                }
                transpose16(&mut rows);
                let at = (y + ph) * geometry.padded_w + pw;
                for (t, v) in tile[at..at + w].iter_mut().zip(&rows) {
                    unsafe { _mm512_storeu_ps(t.as_mut_ptr(), *v) };
                }
            }
            return;
        }
        let mut lanes = [0i32; LANES];
        for (l, v) in lanes.iter_mut().enumerate().take(g) {
            *v = (l * plane) as i32;
        }
        let idx = unsafe { _mm512_loadu_si512(lanes.as_ptr() as *const _) };
        for y in 0..h {
            let at = (y + ph) * geometry.padded_w + pw;
            for (x, t) in tile[at..at + w].iter_mut().enumerate() {
                // SAFETY: every index is inside `src` (lane l < g reads plane l).
                let v = unsafe { _mm512_i32gather_ps::<4>(idx, src[y * w + x..].as_ptr()) };
                unsafe { _mm512_storeu_ps(t.as_mut_ptr(), v) };
            }
        }
    }

    /// `dst[l][q] = sums[q][l]` for the first `g` lanes: 16 pixels at a time transposed
    /// in registers.
    ///
    /// # Safety
    /// AVX-512F; `dst` holds `g` planes of `sums.len()` values.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn deinterleave(sums: &[[f32; LANES]], g: usize, dst: &mut [f32]) {
        let len = sums.len();
        let mut q = 0;
        while q < len {
            let n = LANES.min(len - q);
            let mask: __mmask16 = if n == LANES { !0 } else { (1u16 << n) - 1 };
            let mut pixels = [_mm512_setzero_ps(); LANES];
            for (v, s) in pixels.iter_mut().zip(&sums[q..q + n]) {
                *v = unsafe { _mm512_loadu_ps(s.as_ptr()) };
            }
            transpose16(&mut pixels);
            for (plane, v) in dst.chunks_exact_mut(len).take(g).zip(&pixels) {
                // SAFETY: the lanes under `mask` write plane[q..q + n].
                unsafe { _mm512_mask_storeu_ps(plane.as_mut_ptr().add(q), mask, *v) };
            }
            q += n;
        }
    }

    /// `sums[oy * ow + ox] = clamp(bias + sum over taps of tile[...] * taps[t])`, lane by
    /// lane.
    ///
    /// # Safety
    /// AVX-512F; the tile covers every tap of every output pixel.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn sums(
        tile: &[[f32; LANES]],
        taps: &[[f32; LANES]],
        bias: &[f32; LANES],
        geometry: &Geometry,
        sums: &mut [[f32; LANES]],
    ) {
        let (oh, ow) = geometry.shape.out_hw;
        let (kh, kw) = geometry.shape.kernel;
        let (s, wp, clamp) = (
            geometry.shape.stride,
            geometry.padded_w,
            geometry.shape.clamp,
        );
        let b = unsafe { _mm512_loadu_ps(bias.as_ptr()) };
        match (kh, kw) {
            (3, 3) => return unsafe { square_sums::<3>(tile, taps, b, geometry, sums) },
            (5, 5) => return unsafe { square_sums::<5>(tile, taps, b, geometry, sums) },
            _ => {}
        }
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = b;
                for ky in 0..kh {
                    let row = &tile[(oy * s + ky) * wp + ox * s..][..kw];
                    for (t, w) in row.iter().zip(&taps[ky * kw..][..kw]) {
                        let (t, w) =
                            unsafe { (_mm512_loadu_ps(t.as_ptr()), _mm512_loadu_ps(w.as_ptr())) };
                        acc = _mm512_fmadd_ps(t, w, acc);
                    }
                }
                acc = unsafe { clamped(acc, clamp) };
                unsafe { _mm512_storeu_ps(sums[oy * ow + ox].as_mut_ptr(), acc) };
            }
        }
    }

    /// [`sums`] for a `K x K` kernel: the taps held in registers and a row's pixels (up
    /// to `ROW`) summed at once, each its own chain; one pixel at a time waited on each
    /// FMA's latency (on Zen 4, alternating run by run in one process: MobileNetV2's
    /// 960-channel 3x3 layers at 7x7 0.10-0.12 -> 0.08-0.09 ms, EfficientNet-B0's 5x5
    /// ones 0.35 -> 0.30).
    ///
    /// # Safety
    /// As [`sums`]'s, with `kernel == (K, K)`.
    #[target_feature(enable = "avx512f")]
    unsafe fn square_sums<const K: usize>(
        tile: &[[f32; LANES]],
        taps: &[[f32; LANES]],
        bias: __m512,
        geometry: &Geometry,
        sums: &mut [[f32; LANES]],
    ) {
        const ROW: usize = 8;
        let (oh, ow) = geometry.shape.out_hw;
        let (s, wp, clamp) = (
            geometry.shape.stride,
            geometry.padded_w,
            geometry.shape.clamp,
        );
        let mut w = [[_mm512_setzero_ps(); K]; K];
        for (ky, row) in w.iter_mut().enumerate() {
            for (kx, v) in row.iter_mut().enumerate() {
                *v = unsafe { _mm512_loadu_ps(taps[ky * K + kx].as_ptr()) };
            }
        }
        for oy in 0..oh {
            for ox0 in (0..ow).step_by(ROW) {
                let n = ROW.min(ow - ox0);
                let mut acc = [bias; ROW];
                for (ky, taps) in w.iter().enumerate() {
                    // SAFETY (every load): the tile covers every tap of these pixels.
                    let row = tile[(oy * s + ky) * wp + ox0 * s..].as_ptr();
                    for (kx, tap) in taps.iter().enumerate() {
                        // Every `j` spelled out (`n` only masks them) and raw pointers, so
                        // that the sums stay in registers.
                        for (j, a) in acc.iter_mut().enumerate() {
                            if j < n {
                                let t = unsafe { _mm512_loadu_ps(row.add(j * s + kx).cast()) };
                                *a = _mm512_fmadd_ps(t, *tap, *a);
                            }
                        }
                    }
                }
                for (j, a) in acc.iter().enumerate().take(n) {
                    let a = unsafe { clamped(*a, clamp) };
                    unsafe { _mm512_storeu_ps(sums[oy * ow + ox0 + j].as_mut_ptr(), a) };
                }
            }
        }
    }
}
