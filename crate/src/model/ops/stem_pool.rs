//! ResNet's and DenseNet's stem max pool (3x3, stride 2, padding 1, floor mode) with
//! AVX-512, natively. [`super::pooling`]'s separable loop, compiled for the crate's SSE2
//! baseline, took 0.39-0.6 ms of ResNet-50's forward pass where onnxruntime takes
//! 0.16-0.19 (one thread, Zen 4); the same loop compiled for AVX-512 took 1.3. Here each
//! output row's column maxima over its (up to) three input rows are whole vectors, and
//! the maxima over each window's three columns are taken from them in registers with
//! two-source permutes (even and odd columns) and a one-lane shift, 16 outputs at a time:
//! 0.19-0.24 ms against the loop's 0.39-0.44 (alternating run by run in one process).
//! The values are the loop's, bit for bit: `_mm512_max_ps(v, best)` is
//! `v > best ? v : best`, the loop's comparison (a NaN never wins), taken in its order.

use super::pooling::window;
use std::arch::x86_64::*;

/// Whether a max pool of `cfg` runs here (the shape, and AVX-512F on this CPU).
pub fn takes(cfg: &crate::model::graph::PoolCfg) -> bool {
    cfg.kernel == (3, 3)
        && cfg.stride == (2, 2)
        && cfg.padding == (1, 1)
        && !cfg.ceil_mode
        && std::is_x86_feature_detected!("avx512f")
}

/// Output columns per vector.
const LANES: usize = 16;

/// `dst` = the pool of one `h x w` plane into `oh x ow` (`pooling::out_size`'s).
pub fn plane(plane: &[f32], dst: &mut [f32], (h, w): (usize, usize), (oh, ow): (usize, usize)) {
    assert!(
        std::is_x86_feature_detected!("avx512f") && h > 0 && w > 0,
        "stem pool: AVX-512F and a plane"
    );
    assert!(
        plane.len() >= h * w && dst.len() >= oh * ow && oh <= h.div_ceil(2) && ow <= w.div_ceil(2),
        "stem pool: plane sizes"
    );
    // SAFETY: AVX-512F checked above; the loads and stores stay in the slices, as their
    // comments say.
    unsafe { pool(plane, dst, (h, w), (oh, ow), 1) }
}

/// [`plane`] of a band of rows without padding above: output row `oy` takes the maxima
/// of rows `2 oy..2 oy + 3` (those below `h`) of `plane` (`h x w`), the columns padded
/// as in [`plane`]. A band of a larger map's pool, whose rows above (`-inf` above the
/// map) the caller provides.
pub fn band(plane: &[f32], dst: &mut [f32], (h, w): (usize, usize), (oh, ow): (usize, usize)) {
    assert!(
        std::is_x86_feature_detected!("avx512f") && h > 0 && w > 0,
        "stem pool: AVX-512F and a plane"
    );
    assert!(
        plane.len() >= h * w && dst.len() >= oh * ow && 2 * oh <= h + 1 && ow <= w.div_ceil(2),
        "stem pool: band sizes"
    );
    // SAFETY: as in `plane`.
    unsafe { pool(plane, dst, (h, w), (oh, ow), 0) }
}

/// Output row by output row, 16 outputs (32 input columns) at a time, all in registers:
/// the column maxima stored and read back at odd offsets stalled on store forwarding.
#[target_feature(enable = "avx512f")]
unsafe fn pool(
    plane: &[f32],
    dst: &mut [f32],
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    top: usize,
) {
    let low = _mm512_set1_ps(f32::NEG_INFINITY);
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    // The maximum over the window's rows of columns c0.. (-inf past the row).
    let column_max = |rows: std::ops::Range<usize>, c0: usize| {
        let mask = lanes(w.saturating_sub(c0));
        let mut m = low;
        for y in rows {
            // SAFETY: lanes under `mask` are columns c0.. < w of row y < h.
            let v = unsafe { _mm512_mask_loadu_ps(low, mask, plane.as_ptr().add(y * w + c0)) };
            m = _mm512_max_ps(v, m);
        }
        m
    };
    for oy in 0..oh {
        // The window's rows inside the plane, top to bottom.
        let (y0, y1, _) = window(oy, 3, 2, top, h);
        // Asks for the two input rows that output row oy + 2 reads first: rows of 112
        // values are 7 cache lines, too short a stream for the hardware prefetchers, and
        // each output row reads three. ResNet-50's pool took 0.31 ms, 0.15 asked for
        // (runs alternating in one process, one thread; one row ahead: the same).
        for at in ((2 * oy + 4).min(h) * w..(2 * oy + 6).min(h) * w).step_by(LANES) {
            // Only ever prefetched (and inside the plane).
            _mm_prefetch::<_MM_HINT_T0>(plane.as_ptr().wrapping_add(at).cast());
        }
        let out = &mut dst[oy * ow..][..ow];
        // Column 2 ox0 - 1 (-inf left of the plane): the last lane of the previous
        // block's odd columns.
        let mut last_odd = low;
        for ox0 in (0..ow).step_by(LANES) {
            let (a, b) = (
                column_max(y0..y1, 2 * ox0),
                column_max(y0..y1, 2 * ox0 + LANES),
            );
            // Output ox: columns 2 ox - 1, 2 ox, 2 ox + 1, compared in that order.
            let (centre, right) = (
                _mm512_permutex2var_ps(a, even, b),
                _mm512_permutex2var_ps(a, odd, b),
            );
            let left = _mm512_castsi512_ps(_mm512_alignr_epi32::<15>(
                _mm512_castps_si512(right),
                _mm512_castps_si512(last_odd),
            ));
            last_odd = right;
            let best = _mm512_max_ps(right, _mm512_max_ps(centre, left));
            let n = LANES.min(ow - ox0);
            // SAFETY: the first n lanes are out[ox0..ox0 + n].
            unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr().add(ox0), lanes(n), best) };
            // A window of -inf and NaN only keeps its first value, as the loop does.
            let empty = _mm512_mask_cmpeq_ps_mask(lanes(n), best, low);
            if empty != 0 {
                for t in (0..n).filter(|t| empty >> t & 1 == 1) {
                    let (x0, _, _) = window(ox0 + t, 3, 2, 1, w);
                    out[ox0 + t] = plane[y0 * w + x0];
                }
            }
        }
    }
}

/// The first `n` (at most 16) lanes.
fn lanes(n: usize) -> __mmask16 {
    if n >= LANES {
        !0
    } else {
        (1u16 << n) - 1
    }
}
