//! Max and average pooling with any kernel, stride, padding and ceil mode, as PyTorch
//! computes them: a max pool's padding is minus infinity (never the maximum) and its
//! gradient goes to the first maximal element of each window in row-major order; an
//! average pool counts padded zeros in the divisor unless told otherwise. Adaptive
//! average pooling uses PyTorch's bins. VGG's 2x2 max pool keeps its own fast loop, and
//! ResNet's 3x3 stride-2 one has an AVX-512 loop natively (`stem_pool`).

use super::super::graph::PoolCfg;
use rayon::prelude::*;

/// One axis of a pooling window: for output index `o`, the input range it covers
/// (clipped to the input) and the divisor's span (clipped to input + padding).
pub(super) fn window(o: usize, k: usize, s: usize, p: usize, len: usize) -> (usize, usize, usize) {
    let start = (o * s) as isize - p as isize;
    let end = (start + k as isize).min((len + p) as isize);
    let span = (end - start) as usize;
    let (a, b) = (start.max(0) as usize, end.min(len as isize).max(0) as usize);
    (a, b.max(a), span)
}

/// The output size of `cfg` over an `h x w` plane.
pub fn out_size(cfg: &PoolCfg, h: usize, w: usize) -> (usize, usize) {
    let oh =
        PoolCfg::out_len(h, cfg.kernel.0, cfg.stride.0, cfg.padding.0, cfg.ceil_mode).unwrap_or(0);
    let ow =
        PoolCfg::out_len(w, cfg.kernel.1, cfg.stride.1, cfg.padding.1, cfg.ceil_mode).unwrap_or(0);
    (oh, ow)
}

fn is_plain_2x2(cfg: &PoolCfg) -> bool {
    cfg.kernel == (2, 2) && cfg.stride == (2, 2) && cfg.padding == (0, 0) && !cfg.ceil_mode
}

/// VGG's 2x2, stride-2 max pool (floor mode) of `h x w` planes stored one after another,
/// split over threads: candle's took a twentieth of VGG16's forward pass. Each window keeps
/// its first maximal element, the one [`max_backward`] routes the gradient to.
pub fn max_pool2x2_values(data: &[f32], h: usize, w: usize) -> Vec<f32> {
    pool2x2(data, h, w, |a, b| {
        let mut best = a[0];
        for c in [a[1], b[0], b[1]] {
            if c > best {
                best = c;
            }
        }
        best
    })
}

/// `cell(top, bottom)` of each 2x2 window (floor mode: odd sides drop their last row
/// and column) of `h x w` planes stored one after another, split over threads.
fn pool2x2(
    data: &[f32],
    h: usize,
    w: usize,
    cell: impl Fn(&[f32], &[f32]) -> f32 + Sync,
) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    per_plane(data, (h, w), (oh, ow), |dst, plane| {
        for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
            let (r0, r1) = plane[2 * oy * w..][..2 * w].split_at(w);
            for ((v, a), b) in out
                .iter_mut()
                .zip(r0.chunks_exact(2))
                .zip(r1.chunks_exact(2))
            {
                *v = cell(a, b);
            }
        }
    })
}

/// `f(out, plane)` for each `h x w` plane of `x` and its `oh x ow` output plane, the
/// planes split over threads.
fn per_plane(
    x: &[f32],
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    f: impl Fn(&mut [f32], &[f32]) + Sync,
) -> Vec<f32> {
    let mut y = vec![0f32; x.len() / (h * w).max(1) * oh * ow];
    if !y.is_empty() {
        y.par_chunks_mut(oh * ow)
            .zip(x.par_chunks(h * w))
            .for_each(|(dst, plane)| f(dst, plane));
    }
    y
}

/// The flat index (within the plane) of the first maximum of each output cell's window.
fn argmax(
    plane: &[f32],
    cfg: &PoolCfg,
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
) -> Vec<usize> {
    let mut out = Vec::with_capacity(oh * ow);
    for oy in 0..oh {
        let (y0, y1, _) = window(oy, cfg.kernel.0, cfg.stride.0, cfg.padding.0, h);
        for ox in 0..ow {
            let (x0, x1, _) = window(ox, cfg.kernel.1, cfg.stride.1, cfg.padding.1, w);
            let mut best = y0 * w + x0;
            let mut best_v = f32::NEG_INFINITY;
            for y in y0..y1 {
                for x in x0..x1 {
                    // Strictly greater keeps the first maximum (PyTorch's tie rule).
                    if plane[y * w + x] > best_v {
                        best_v = plane[y * w + x];
                        best = y * w + x;
                    }
                }
            }
            out.push(best);
        }
    }
    out
}

/// Max pool of `[planes, h, w]` values.
pub fn max_forward(x: &[f32], cfg: &PoolCfg, (h, w): (usize, usize)) -> Vec<f32> {
    if is_plain_2x2(cfg) {
        return max_pool2x2_values(x, h, w);
    }
    let (oh, ow) = out_size(cfg, h, w);
    #[cfg(target_arch = "x86_64")]
    if super::stem_pool::takes(cfg) {
        return per_plane(x, (h, w), (oh, ow), |dst, plane| {
            super::stem_pool::plane(plane, dst, (h, w), (oh, ow))
        });
    }
    per_plane(x, (h, w), (oh, ow), |dst, plane| {
        max_values(plane, dst, cfg, (h, w), ow)
    })
}

/// The values [`argmax`] points at, without the indices: the window's largest value by
/// the same strict comparison (its first value where none beats -inf, NaN included).
/// Separable, each output row in two passes the compiler vectorises: the maxima over the
/// window's rows, column by column, then over the window's columns of that row (its
/// even and odd columns split apart for stride 2). ResNet's 3x3 stride-2 stem pool took
/// 0.76 ms window by window, natively, one thread. [`larger`] skips a NaN as `argmax`
/// does, and the maximum of values does not depend on the order they are compared in.
fn max_values(plane: &[f32], dst: &mut [f32], cfg: &PoolCfg, (h, w): (usize, usize), ow: usize) {
    let (k, s, p) = (cfg.kernel.1, cfg.stride.1, cfg.padding.1);
    // Columns the windows reach, padded with -inf (which never wins); then the same row
    // as `s` phases, phase `q` holding padded columns `q, q + s, ...`.
    let reach = (ow.max(1) - 1) * s + k;
    let per_phase = reach.div_ceil(s);
    let mut padded = vec![f32::NEG_INFINITY; reach.max(p + w)];
    let mut phases = vec![f32::NEG_INFINITY; s * per_phase];
    for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
        let (y0, y1, _) = window(oy, cfg.kernel.0, cfg.stride.0, cfg.padding.0, h);
        let column_max = &mut padded[p..p + w];
        column_max.fill(f32::NEG_INFINITY);
        for row in plane[y0 * w..y1 * w].chunks_exact(w) {
            for (m, &v) in column_max.iter_mut().zip(row) {
                *m = larger(v, *m);
            }
        }
        if s == 2 {
            let (even, odd) = phases.split_at_mut(per_phase);
            for ((e, o), pair) in even
                .iter_mut()
                .zip(odd.iter_mut())
                .zip(padded.chunks_exact(2))
            {
                *e = pair[0];
                *o = pair[1];
            }
            if reach % 2 == 1 {
                even[per_phase - 1] = padded[reach - 1];
            }
        } else {
            for (c, &v) in padded[..reach].iter().enumerate() {
                phases[c % s * per_phase + c / s] = v;
            }
        }
        out.fill(f32::NEG_INFINITY);
        for kx in 0..k {
            let taps = &phases[kx % s * per_phase + kx / s..][..ow];
            for (o, &v) in out.iter_mut().zip(taps) {
                *o = larger(v, *o);
            }
        }
        for (ox, o) in out.iter_mut().enumerate() {
            if *o == f32::NEG_INFINITY {
                let (x0, _, _) = window(ox, k, s, p, w);
                *o = plane[y0 * w + x0];
            }
        }
    }
}

/// `v` where it is strictly larger than `best`, else `best`: one `maxps` on x86 (whose
/// answer is its second operand when either is NaN), where `f32::max`'s NaN rule costs
/// a compare and a blend besides (ResNet's stem pool 0.45 -> 0.36 ms natively). A NaN never wins, as
/// in [`argmax`].
#[inline(always)]
fn larger(v: f32, best: f32) -> f32 {
    if v > best {
        v
    } else {
        best
    }
}

/// Gradient of [`max_forward`]: each cell's gradient added at its window's first maximum.
pub fn max_backward(x: &[f32], g: &[f32], cfg: &PoolCfg, (h, w): (usize, usize)) -> Vec<f32> {
    let (oh, ow) = out_size(cfg, h, w);
    let mut dx = vec![0f32; x.len()];
    if oh * ow == 0 || h * w == 0 {
        return dx;
    }
    dx.par_chunks_mut(h * w)
        .zip(x.par_chunks(h * w).zip(g.par_chunks(oh * ow)))
        .for_each(|(dst, (plane, gp))| {
            for (i, gv) in argmax(plane, cfg, (h, w), (oh, ow)).into_iter().zip(gp) {
                dst[i] += gv;
            }
        });
    dx
}

/// Where one output cell of a mean pool reads: rows `y0..y1`, columns `x0..x1`, and
/// what the sum is divided by (0: the cell is 0).
struct Cell {
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    div: usize,
}

/// Every cell of an `oh x ow` output plane: its index and its window.
fn cells(
    (oh, ow): (usize, usize),
    cell: &impl Fn(usize, usize) -> Cell,
) -> impl Iterator<Item = (usize, Cell)> + '_ {
    (0..oh * ow).map(move |at| (at, cell(at / ow, at % ow)))
}

/// The mean over each output cell's window, `[planes, h, w]` -> `[planes, oh, ow]`
/// (average and adaptive average pools differ only in their windows).
fn mean_forward(
    x: &[f32],
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    cell: impl Fn(usize, usize) -> Cell + Sync,
) -> Vec<f32> {
    per_plane(x, (h, w), (oh, ow), |dst, plane| {
        for (at, Cell { rows, cols, div }) in cells((oh, ow), &cell) {
            let sum: f32 = rows
                .map(|row| plane[row * w..][cols.clone()].iter().sum::<f32>())
                .sum();
            dst[at] = if div > 0 { sum / div as f32 } else { 0.0 };
        }
    })
}

/// Gradient of [`mean_forward`]: each cell's gradient shared by its window's inputs
/// (windows may overlap, so contributions add).
fn mean_backward(
    g: &[f32],
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    planes: usize,
    cell: impl Fn(usize, usize) -> Cell + Sync,
) -> Vec<f32> {
    let mut dx = vec![0f32; planes * h * w];
    if oh * ow == 0 || h * w == 0 {
        return dx;
    }
    dx.par_chunks_mut(h * w)
        .zip(g.par_chunks(oh * ow))
        .for_each(|(dst, gp)| {
            for (at, Cell { rows, cols, div }) in cells((oh, ow), &cell) {
                if div == 0 {
                    continue;
                }
                let share = gp[at] / div as f32;
                for row in rows {
                    dst[row * w..][cols.clone()]
                        .iter_mut()
                        .for_each(|v| *v += share);
                }
            }
        });
    dx
}

/// An average pool's window of cell `(oy, ox)`: the kernel's, clipped to the plane, over
/// the whole kernel (padding counted) or only the cells inside, as `cfg` says.
fn avg_cell(cfg: &PoolCfg, (h, w): (usize, usize), oy: usize, ox: usize) -> Cell {
    let (y0, y1, sy) = window(oy, cfg.kernel.0, cfg.stride.0, cfg.padding.0, h);
    let (x0, x1, sx) = window(ox, cfg.kernel.1, cfg.stride.1, cfg.padding.1, w);
    let div = if cfg.count_include_pad {
        sy * sx
    } else {
        (y1 - y0) * (x1 - x0)
    };
    Cell {
        rows: y0..y1,
        cols: x0..x1,
        div,
    }
}

/// Average pool of `[planes, h, w]` values.
pub fn avg_forward(x: &[f32], cfg: &PoolCfg, (h, w): (usize, usize)) -> Vec<f32> {
    if is_plain_2x2(cfg) {
        return avg_pool2x2_values(x, h, w);
    }
    let out = out_size(cfg, h, w);
    mean_forward(x, (h, w), out, |oy, ox| avg_cell(cfg, (h, w), oy, ox))
}

/// DenseNet's 2x2, stride-2 average pool (floor mode, no padding: every window whole),
/// row pair by row pair: window by window through [`mean_forward`] its three transitions
/// took 1.4 ms natively, a fifth of the work onnxruntime spends on DenseNet-121's
/// batch norms. The same sums in the same order, so the same values.
fn avg_pool2x2_values(data: &[f32], h: usize, w: usize) -> Vec<f32> {
    pool2x2(data, h, w, |a, b| ((a[0] + a[1]) + (b[0] + b[1])) / 4.0)
}

/// Gradient of [`avg_forward`].
pub fn avg_backward(g: &[f32], cfg: &PoolCfg, (h, w): (usize, usize), planes: usize) -> Vec<f32> {
    let out = out_size(cfg, h, w);
    mean_backward(g, (h, w), out, planes, |oy, ox| {
        avg_cell(cfg, (h, w), oy, ox)
    })
}

/// PyTorch's adaptive-pool bin of output cell `i` out of `out` over `len` inputs.
fn bin(i: usize, out: usize, len: usize) -> (usize, usize) {
    (i * len / out, ((i + 1) * len).div_ceil(out))
}

/// An adaptive average pool's window of cell `(oy, ox)`: PyTorch's bins.
fn adaptive_cell((h, w): (usize, usize), (oh, ow): (usize, usize), oy: usize, ox: usize) -> Cell {
    let ((y0, y1), (x0, x1)) = (bin(oy, oh, h), bin(ox, ow, w));
    Cell {
        rows: y0..y1,
        cols: x0..x1,
        div: (y1 - y0) * (x1 - x0),
    }
}

/// `AdaptiveAvgPool2d((oh, ow))` of `[planes, h, w]` values.
pub fn adaptive_forward(x: &[f32], (h, w): (usize, usize), (oh, ow): (usize, usize)) -> Vec<f32> {
    if (h, w) == (oh, ow) {
        return x.to_vec();
    }
    if (oh, ow) == (1, 1) && h * w > 0 {
        return plane_means(x, h * w);
    }
    mean_forward(x, (h, w), (oh, ow), |oy, ox| {
        adaptive_cell((h, w), (oh, ow), oy, ox)
    })
}

/// The mean of each `len`-value plane (global average pooling). Eight running sums let
/// the additions overlap: one chain waits out each addition's latency, which made
/// ResNet-50's 2048 planes of 7x7 cost 0.07 ms, five times onnxruntime's.
fn plane_means(x: &[f32], len: usize) -> Vec<f32> {
    const PLANES_PER_TASK: usize = 64;
    let mut y = vec![0f32; x.len() / len];
    y.par_chunks_mut(PLANES_PER_TASK)
        .zip(x.par_chunks(PLANES_PER_TASK * len))
        .for_each(|(dst, planes)| {
            for (mean, plane) in dst.iter_mut().zip(planes.chunks(len)) {
                let mut sums = [0f32; 8];
                let mut eights = plane.chunks_exact(8);
                for c in &mut eights {
                    for (s, v) in sums.iter_mut().zip(c) {
                        *s += v;
                    }
                }
                let tail: f32 = eights.remainder().iter().sum();
                *mean = (sums.iter().sum::<f32>() + tail) / len as f32;
            }
        });
    y
}

/// Gradient of [`adaptive_forward`].
pub fn adaptive_backward(
    g: &[f32],
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    planes: usize,
) -> Vec<f32> {
    if (h, w) == (oh, ow) {
        return g.to_vec();
    }
    if (oh, ow) == (1, 1) {
        // Each plane's gradient shared evenly by its values.
        let len = h * w;
        let mut dx = Vec::with_capacity(g.len() * len);
        for d in g {
            dx.extend(std::iter::repeat_n(d / len as f32, len));
        }
        return dx;
    }
    mean_backward(g, (h, w), (oh, ow), planes, |oy, ox| {
        adaptive_cell((h, w), (oh, ow), oy, ox)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vgg_max_pool_matches_candle_in_floor_mode_and_ties_go_first() {
        // Odd sides drop the last row and column; batches and channels stay apart.
        let v: Vec<f32> = (0..2 * 3 * 5 * 7)
            .map(|i| ((i * 37 % 23) as f32).sin())
            .collect();
        let x =
            candle_core::Tensor::from_slice(&v, (2, 3, 5, 7), &candle_core::Device::Cpu).unwrap();
        let candle: Vec<f32> = x
            .max_pool2d(2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(max_pool2x2_values(&v, 5, 7), candle);
        assert_eq!(max_forward(&v, &PoolCfg::square(2, 2, 0), (5, 7)), candle);
        assert!(max_pool2x2_values(&[3.], 1, 1).is_empty());
        // docs/METHODS.md's hand example (candle's autograd gives 0.25 here, PyTorch 1), an
        // all-zero window (the first element), and floor mode's unused last row.
        let vgg = PoolCfg::square(2, 2, 0);
        assert_eq!(
            max_backward(&[1., 2., 3., 4.], &[1.], &vgg, (2, 2)),
            [0., 0., 0., 1.]
        );
        assert_eq!(
            max_backward(&[0., 0., 0., 0.], &[2.5], &vgg, (2, 2)),
            [2.5, 0., 0., 0.]
        );
        assert_eq!(
            max_backward(&[1., 5., 5., 0.], &[2.5], &vgg, (2, 2)),
            [0., 2.5, 0., 0.]
        );
        let x = [1., 2., 9., 3., 4., 9., 9., 9., 9.];
        assert_eq!(
            max_backward(&x, &[1.], &vgg, (3, 3)),
            [0., 0., 0., 0., 1., 0., 0., 0., 0.]
        );
    }

    #[test]
    fn max_pool_3x3_stride_2_pad_1_is_resnets() {
        // torch.nn.MaxPool2d(3, 2, 1) on arange(16).reshape(4, 4) -> [[5, 7], [13, 15]].
        let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let cfg = PoolCfg::square(3, 2, 1);
        assert_eq!(max_forward(&x, &cfg, (4, 4)), [5.0, 7.0, 13.0, 15.0]);
        // Overlapping windows: 5 is the maximum of the first window only; the gradient
        // of the others goes to 7, 13 and 15.
        let dx = max_backward(&x, &[1.0, 2.0, 3.0, 4.0], &cfg, (4, 4));
        let mut want = vec![0f32; 16];
        (want[5], want[7], want[13], want[15]) = (1.0, 2.0, 3.0, 4.0);
        assert_eq!(dx, want);
    }

    #[test]
    fn max_pool_padding_never_wins_and_ties_go_first() {
        // All-negative input: the padded border (-inf) must not be chosen.
        let x = [-3.0, -1.0, -2.0, -1.0];
        let cfg = PoolCfg::square(3, 2, 1);
        assert_eq!(max_forward(&x, &cfg, (2, 2)), [-1.0]);
        assert_eq!(max_backward(&x, &[1.0], &cfg, (2, 2)), [0.0, 1.0, 0.0, 0.0]);
    }

    /// The stem pool's AVX-512 loop gives the separable loop's values bit for bit (ties
    /// of 0 and -0, NaN and -inf never winning, windows of nothing else keeping their first
    /// value) over planes of odd and even sides, narrower and wider than a vector.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_stem_pool_loop_gives_the_separable_loops_values() {
        let cfg = PoolCfg::square(3, 2, 1);
        if !super::super::stem_pool::takes(&cfg) {
            return;
        }
        for (h, w) in [
            (1, 1),
            (2, 3),
            (5, 17),
            (8, 32),
            (9, 33),
            (12, 70),
            (112, 112),
        ] {
            // The second plane holds nothing but NaN and -inf: every window is empty.
            let x: Vec<f32> = (0..2 * h * w)
                .map(|i| match i * 7 % 23 {
                    r if i >= h * w => [f32::NAN, f32::NEG_INFINITY][r % 2],
                    0 => f32::NAN,
                    1 | 2 => f32::NEG_INFINITY,
                    3 => -0.0,
                    4 => 0.0,
                    r => (r as f32 - 12.0) * 0.5,
                })
                .collect();
            let (oh, ow) = out_size(&cfg, h, w);
            let mut want = vec![0f32; 2 * oh * ow];
            for (dst, plane) in want.chunks_exact_mut(oh * ow).zip(x.chunks_exact(h * w)) {
                max_values(plane, dst, &cfg, (h, w), ow);
            }
            let got = max_forward(&x, &cfg, (h, w));
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{h}x{w}");
        }
    }

    #[test]
    fn avg_pool_counts_padding_as_pytorch() {
        // torch.nn.AvgPool2d(3, 2, 1) (count_include_pad=True) on ones(4, 4): corners see
        // 4 of 9 -> 4/9, the others 6/9 and 9/9.
        let x = vec![1f32; 16];
        let cfg = PoolCfg::square(3, 2, 1);
        let y = avg_forward(&x, &cfg, (4, 4));
        assert_eq!(y, [4.0 / 9.0, 6.0 / 9.0, 6.0 / 9.0, 1.0]);
        let no_pad = PoolCfg {
            count_include_pad: false,
            ..cfg
        };
        assert_eq!(avg_forward(&x, &no_pad, (4, 4)), [1.0, 1.0, 1.0, 1.0]);
        // DenseNet's transition pool: 2x2, stride 2.
        let t = PoolCfg::square(2, 2, 0);
        assert_eq!(avg_forward(&[1.0, 2.0, 3.0, 6.0], &t, (2, 2)), [3.0]);
        assert_eq!(avg_backward(&[4.0], &t, (2, 2), 1), [1.0, 1.0, 1.0, 1.0]);
        // Its own loop gives the window-by-window means exactly, odd sides dropped.
        let v: Vec<f32> = (0..3 * 5 * 7).map(|i| (i as f32 * 0.37).sin()).collect();
        let windows = mean_forward(&v, (5, 7), (2, 3), |oy, ox| avg_cell(&t, (5, 7), oy, ox));
        assert_eq!(avg_forward(&v, &t, (5, 7)), windows);
        assert_eq!(windows.len(), 3 * 2 * 3);
    }

    #[test]
    fn pool_gradients_are_adjoints() {
        // <pool(x), g> == <x, pool_backward(g)> for the linear (average) pools.
        let x: Vec<f32> = (0..35).map(|i| (i as f32 * 0.37).sin()).collect();
        for cfg in [
            PoolCfg::square(3, 2, 1),
            PoolCfg {
                ceil_mode: true,
                ..PoolCfg::square(2, 2, 0)
            },
        ] {
            let (oh, ow) = out_size(&cfg, 5, 7);
            let g: Vec<f32> = (0..oh * ow).map(|i| (i as f32 * 0.91).cos()).collect();
            let y = avg_forward(&x, &cfg, (5, 7));
            let dx = avg_backward(&g, &cfg, (5, 7), 1);
            let lhs: f32 = y.iter().zip(&g).map(|(a, b)| a * b).sum();
            let rhs: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-5, "{cfg:?}: {lhs} vs {rhs}");
        }
        let g: Vec<f32> = (0..6).map(|i| i as f32 - 2.5).collect();
        let y = adaptive_forward(&x, (5, 7), (2, 3));
        let dx = adaptive_backward(&g, (5, 7), (2, 3), 1);
        let lhs: f32 = y.iter().zip(&g).map(|(a, b)| a * b).sum();
        let rhs: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-5);
    }

    #[test]
    fn global_average_pool_is_each_planes_mean() {
        // 130 planes (more than one task of 64) of 7x7 (six runs of eight and a tail),
        // and planes shorter than one run; each mean checked against an f64 sum.
        for (h, w, planes) in [(7, 7, 130), (1, 3, 5), (4, 4, 2)] {
            let x: Vec<f32> = (0..planes * h * w)
                .map(|i| ((i * 29 % 31) as f32 - 15.0) * 0.37)
                .collect();
            let y = adaptive_forward(&x, (h, w), (1, 1));
            assert_eq!(y.len(), planes);
            for (mean, plane) in y.iter().zip(x.chunks(h * w)) {
                let exact = plane.iter().map(|v| *v as f64).sum::<f64>() / (h * w) as f64;
                assert!(
                    (*mean as f64 - exact).abs() < 1e-5,
                    "{h}x{w}: {mean} vs {exact}"
                );
            }
        }
        assert_eq!(adaptive_forward(&[1., 2., 3., 6.], (2, 2), (1, 1)), [3.0]);
        assert_eq!(
            adaptive_backward(&[2., -6.], (1, 2), (1, 1), 2),
            [1., 1., -3., -3.]
        );
    }
}
