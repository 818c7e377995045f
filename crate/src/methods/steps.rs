//! The numeric steps the methods share, written once: ReLU, pytorch-grad-cam's min-max,
//! the two bilinear resizes (half-pixel centres for maps, corner-aligned for Score-CAM's
//! masks), and the 2-D display map of each kind of attribution.

/// `max(v, 0)` in place.
pub fn relu(v: &mut [f32]) {
    for x in v.iter_mut() {
        *x = x.max(0.0);
    }
}

/// pytorch-grad-cam's `scale_cam_image` normalisation: `(m - min) / (1e-7 + max(m - min))`.
pub fn min_max(v: &[f32]) -> Vec<f32> {
    let min = v.iter().copied().fold(f32::INFINITY, f32::min);
    let range = v.iter().map(|x| x - min).fold(0f32, f32::max);
    v.iter().map(|x| (x - min) / (1e-7 + range)).collect()
}

/// One axis of a bilinear resize: for each output index, the two source indices and
/// the weight of the second.
type Taps = Vec<(usize, usize, f32)>;

/// Half-pixel centres, clamped at the edges: OpenCV `INTER_LINEAR`, torch
/// `align_corners=False` (`src = (dst + 0.5) * in / out - 0.5`, negative -> 0).
fn taps_half_pixel(out: usize, len: usize) -> Taps {
    let scale = len as f64 / out as f64;
    (0..out)
        .map(|d| tap(((d as f64 + 0.5) * scale - 0.5).max(0.0), len))
        .collect()
}

/// The two input pixels around source position `src` and the weight of the second
/// (0 at the last pixel, which has no right neighbour).
fn tap(src: f64, len: usize) -> (usize, usize, f32) {
    let i0 = (src.floor() as usize).min(len - 1);
    let i1 = (i0 + 1).min(len - 1);
    let t = if i1 > i0 {
        (src - i0 as f64) as f32
    } else {
        0.0
    };
    (i0, i1, t)
}

/// Corner-aligned: torch `align_corners=True` (`UpsamplingBilinear2d`), the first and
/// last output pixels sit on the first and last input pixels.
fn taps_corners(out: usize, len: usize) -> Taps {
    let scale = if out > 1 {
        (len - 1) as f64 / (out - 1) as f64
    } else {
        0.0
    };
    (0..out).map(|d| tap(d as f64 * scale, len)).collect()
}

fn resize_with(src: &[f32], w: usize, rows: &Taps, cols: &Taps) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.len() * cols.len());
    for &(y0, y1, ty) in rows {
        let (r0, r1) = (&src[y0 * w..(y0 + 1) * w], &src[y1 * w..(y1 + 1) * w]);
        for &(x0, x1, tx) in cols {
            let top = r0[x0] + tx * (r0[x1] - r0[x0]);
            let bottom = r1[x0] + tx * (r1[x1] - r1[x0]);
            out.push(top + ty * (bottom - top));
        }
    }
    out
}

/// Bilinear resize of an `h x w` map to `oh x ow` with half-pixel centres (OpenCV
/// `INTER_LINEAR`, torch `align_corners=False`).
pub fn resize_bilinear(src: &[f32], (h, w): (usize, usize), (oh, ow): (usize, usize)) -> Vec<f32> {
    resize_with(src, w, &taps_half_pixel(oh, h), &taps_half_pixel(ow, w))
}

/// Bilinear resize with corners aligned (torch `align_corners=True`), as Score-CAM
/// upsamples its masks.
pub fn resize_bilinear_corners(
    src: &[f32],
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
) -> Vec<f32> {
    resize_with(src, w, &taps_corners(oh, h), &taps_corners(ow, w))
}

/// The input-sized map of a layer attribution, pytorch-grad-cam's convention: ReLU,
/// min-max, resize (half-pixel bilinear), then min-max again (its `aggregate_multi_layers`
/// normalises once more after resizing, which moves the extremes slightly).
pub fn full_map(raw: &[f32], hw: (usize, usize), size: (usize, usize)) -> Vec<f32> {
    let mut m = raw.to_vec();
    relu(&mut m);
    let mut m = resize_bilinear(&min_max(&m), hw, size);
    relu(&mut m);
    min_max(&m)
}

/// numpy's default (linear) percentile of `v`, `q` in [0, 100].
pub fn percentile(v: &[f32], q: f64) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let pos = q.clamp(0.0, 100.0) / 100.0 * (s.len() - 1) as f64;
    let (i, t) = (pos.floor() as usize, pos.fract() as f32);
    let j = (i + 1).min(s.len() - 1);
    s[i] + t * (s[j] - s[i])
}

/// How a signed `[C, H, W]` input attribution is shown: absolute value, maximum over
/// channels, clipped at its 99th percentile and scaled to [0, 1]. Returns `H * W` values.
pub fn input_display(attr: &[f32], channels: usize) -> Vec<f32> {
    let plane = attr.len() / channels.max(1);
    let mut m = vec![0f32; plane];
    for c in attr.chunks_exact(plane) {
        for (dst, v) in m.iter_mut().zip(c) {
            *dst = dst.max(v.abs());
        }
    }
    let top = percentile(&m, 99.0);
    if top > 0.0 {
        for v in m.iter_mut() {
            *v = v.min(top) / top;
        }
    }
    m
}

/// Spearman's rank correlation of two equally long maps (ties share their average rank,
/// as scipy's `spearmanr`); 0 when either map is constant.
pub fn spearman(a: &[f32], b: &[f32]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let mean = (n + 1.0) / 2.0;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - mean) * (y - mean);
        saa += (x - mean) * (x - mean);
        sbb += (y - mean) * (y - mean);
    }
    if saa == 0.0 || sbb == 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// 1-based ranks, ties averaged.
fn ranks(v: &[f32]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0f64; v.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && v[order[end]] == v[order[start]] {
            end += 1;
        }
        let avg = (start + end + 1) as f64 / 2.0; // mean of ranks start+1 ..= end
        for &i in &order[start..end] {
            r[i] = avg;
        }
        start = end;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_pixel_resize_matches_opencv_inter_linear() {
        // cv2.resize(np.float32([[0, 1], [2, 3]]), (4, 4)): source coordinates
        // -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
        let out = resize_bilinear(&[0., 1., 2., 3.], (2, 2), (4, 4));
        let row = |y: f32| [0.0, 0.25, 0.75, 1.0].map(|x| y * 2.0 + x);
        let expect: Vec<f32> = [0.0, 0.25, 0.75, 1.0]
            .iter()
            .flat_map(|y| row(*y))
            .collect();
        assert_eq!(out, expect);
        // Downsizing by 2 averages each 2x2 block's centre.
        let big: Vec<f32> = (0..16).map(|v| v as f32).collect();
        assert_eq!(
            resize_bilinear(&big, (4, 4), (2, 2)),
            [2.5, 4.5, 10.5, 12.5]
        );
    }

    #[test]
    fn corner_aligned_resize_keeps_the_corners() {
        // torch UpsamplingBilinear2d on [[0, 1], [2, 3]] to 3x3.
        let out = resize_bilinear_corners(&[0., 1., 2., 3.], (2, 2), (3, 3));
        assert_eq!(out, [0., 0.5, 1., 1., 1.5, 2., 2., 2.5, 3.]);
    }

    #[test]
    fn min_max_is_pytorch_grad_cams() {
        let m = min_max(&[1.0, 3.0, 2.0]);
        assert!((m[1] - 2.0 / (2.0 + 1e-7)).abs() < 1e-7 && m[0] == 0.0);
        assert_eq!(min_max(&[5.0, 5.0]), [0.0, 0.0]);
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        let v: Vec<f32> = (0..=10).map(|v| v as f32).collect();
        assert_eq!(percentile(&v, 99.0), 9.9);
        assert_eq!(percentile(&v, 50.0), 5.0);
    }

    #[test]
    fn input_display_takes_abs_channel_max_and_clips() {
        // Two channels of 101 pixels: the largest |value| per pixel is the pixel index,
        // then the 99th percentile (99) clips pixel 100.
        let mut attr: Vec<f32> = (0..101).map(|v| -(v as f32)).collect();
        attr.extend((0..101).map(|v| v as f32 * 0.5));
        let m = input_display(&attr, 2);
        assert_eq!(m[0], 0.0);
        assert!((m[50] - 50.0 / 99.0).abs() < 1e-6);
        assert_eq!(m[100], 1.0);
    }

    #[test]
    fn spearman_with_ties_matches_scipy() {
        // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]).statistic = 0.9486832980505138
        let r = spearman(&[1., 2., 2., 3.], &[1., 3., 2., 4.]);
        assert!((r - 0.948_683_298_050_513_8).abs() < 1e-12, "{r}");
        assert!((spearman(&[1., 2., 3.], &[3., 2., 1.]) + 1.0).abs() < 1e-12);
    }
}
