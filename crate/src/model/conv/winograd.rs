//! 3x3 convolution, stride 1, padding 1, by Winograd F(2x2, 3x3) (Lavin & Gray 2016):
//! the filters are transformed and packed once; each call transforms the input tiles
//! of a block, runs one small GEMM per transformed point with the micro-kernel, and
//! transforms back, adding the bias. Blocks of tiles are independent, so they run in
//! parallel (rayon) and each block's buffers stay in cache.

use super::gemm_micro::{self, GemmMicro};
use super::transform::{self, ALPHA, POINTS, TILE};
use crate::model::ops::output::{overwritten, with_scratch, Scratch};
use rayon::prelude::*;
use std::cell::RefCell;

/// Per-point working set (input + output panels of a block) that should fit in L2.
const POINT_BYTES: usize = 256 * 1024;
/// Largest block, in tiles.
const MAX_TILES: usize = 1024;

/// A 3x3 convolution's filters in the Winograd domain, packed for one micro-kernel.
#[derive(Debug)]
pub struct Winograd3x3 {
    out_channels: usize,
    in_channels: usize,
    /// `out_channels` rounded up to the kernel's `kr` (the padding filters are zero).
    padded_out: usize,
    /// `u[((xi * panels + panel) * in_channels + c) * kr + l]` = point `xi` of filter
    /// (`panel * kr + l`, `c`).
    u: Vec<f32>,
    /// `padded_out` biases (zeros when the convolution has none).
    bias: Vec<f32>,
    micro: GemmMicro,
}

thread_local! {
    /// Each thread's transformed tiles (V) and their products (M), reused from block to
    /// block and call to call: allocating and zeroing them per block cost about a tenth
    /// of DenseNet-121's forward pass (every value read back is written first).
    static TILES: Scratch = const { RefCell::new(Vec::new()) };
    static PRODUCTS: Scratch = const { RefCell::new(Vec::new()) };
}

/// An output pointer shared by the blocks, which write disjoint tiles.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: every block writes only the output pixels of its own tiles.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

/// Where a block's tiles lie: consecutive tiles of one row of tiles of one image.
struct Segment {
    image: usize,
    tile_row: usize,
    first_col: usize,
    len: usize,
    /// Index of the first tile within the block.
    at: usize,
}

impl Winograd3x3 {
    /// Packs `weight` (`[out, in, 3, 3]`, row-major) and an optional `bias` (`[out]`).
    pub fn new(
        weight: &[f32],
        out_channels: usize,
        in_channels: usize,
        bias: Option<&[f32]>,
    ) -> Self {
        Self::with_kernel(weight, out_channels, in_channels, bias, gemm_micro::best())
    }

    /// As [`Winograd3x3::new`] with a given micro-kernel (tests compare them).
    pub fn with_kernel(
        weight: &[f32],
        out_channels: usize,
        in_channels: usize,
        bias: Option<&[f32]>,
        micro: GemmMicro,
    ) -> Self {
        assert_eq!(weight.len(), out_channels * in_channels * 9, "weight shape");
        let kr = micro.mr;
        let panels = out_channels.div_ceil(kr);
        let padded_out = panels * kr;
        let mut u = vec![0f32; POINTS * padded_out * in_channels];
        // Filter (k, c) is the 9 taps at (k * in_channels + c) * 9.
        for (i, taps) in weight.chunks_exact(9).enumerate() {
            let (k, c) = (i / in_channels, i % in_channels);
            let g: [f32; 9] = std::array::from_fn(|j| taps[j]);
            let t = transform::filter(&g);
            let (panel, l) = (k / kr, k % kr);
            for (xi, v) in t.iter().enumerate() {
                u[((xi * panels + panel) * in_channels + c) * kr + l] = *v;
            }
        }
        let mut padded_bias = vec![0f32; padded_out];
        if let Some(b) = bias {
            padded_bias[..out_channels].copy_from_slice(&b[..out_channels]);
        }
        Winograd3x3 {
            out_channels,
            in_channels,
            padded_out,
            u,
            bias: padded_bias,
            micro,
        }
    }

    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    pub fn in_channels(&self) -> usize {
        self.in_channels
    }

    /// Bytes held by the packed filters.
    pub fn packed_bytes(&self) -> usize {
        (self.u.len() + self.bias.len()) * std::mem::size_of::<f32>()
    }

    /// Convolves `x` (`[n, in, h, w]`, row-major) into `[n, out, h, w]`.
    pub fn forward(&self, x: &[f32], n: usize, h: usize, w: usize) -> Vec<f32> {
        self.run(x, n, (h, w), 1, false, None)
    }

    /// [`Self::forward`] followed by a ReLU, applied while each output row is still in
    /// cache (a separate pass over a 224-px map costs about a tenth of the conv).
    pub fn forward_relu(&self, x: &[f32], n: usize, h: usize, w: usize) -> Vec<f32> {
        self.run(x, n, (h, w), 1, true, None)
    }

    /// Convolves without padding: `x` (`[n, in, h, w]`) into `[n, out, h - 2, w - 2]`.
    pub fn forward_valid(&self, x: &[f32], n: usize, h: usize, w: usize) -> Vec<f32> {
        self.run(x, n, (h, w), 0, false, None)
    }

    /// [`Self::forward_valid`] computing, for image `b`, only the top-left `extents[b]`
    /// (rows, columns) of its output (rounded up to whole 2x2 tiles; the rest is left
    /// zero). Incremental inference batches copies whose changed regions differ in size.
    pub fn forward_valid_within(
        &self,
        x: &[f32],
        n: usize,
        (h, w): (usize, usize),
        extents: &[(usize, usize)],
    ) -> Vec<f32> {
        assert_eq!(extents.len(), n, "one extent per image");
        self.run(x, n, (h, w), 0, false, Some(extents))
    }

    fn run(
        &self,
        x: &[f32],
        n: usize,
        (ih, iw): (usize, usize),
        pad: usize,
        relu: bool,
        extents: Option<&[(usize, usize)]>,
    ) -> Vec<f32> {
        assert_eq!(x.len(), n * self.in_channels * ih * iw, "input shape");
        let (h, w) = (
            (ih + 2 * pad).saturating_sub(2),
            (iw + 2 * pad).saturating_sub(2),
        );
        let len = n * self.out_channels * h * w;
        let geometry = Geometry::new((ih, iw), pad, (h, w), n, extents);
        let run = |y: &mut [f32]| {
            let tiles = geometry.tiles();
            let block = self.block_tiles(tiles);
            let out = Out(y.as_mut_ptr());
            (0..tiles.div_ceil(block)).into_par_iter().for_each(|b| {
                let first = b * block;
                let last = (first + block).min(tiles);
                self.block(x, &geometry, first, last, relu, out);
            });
        };
        if extents.is_some() {
            // Only each image's extent is computed; the rest must read as zero.
            let mut y = vec![0f32; len];
            run(&mut y);
            return y;
        }
        // SAFETY: without extents the tiles cover every output row and column of every
        // channel of every image, and a block reads only the input and its own buffers.
        unsafe { overwritten(len, run) }
    }

    /// Tiles per block: as many as keep one point's panels within `POINT_BYTES`, but
    /// enough blocks for every thread, in whole micro-kernel panels.
    fn block_tiles(&self, tiles: usize) -> usize {
        let nr = self.micro.nr;
        let per_tile = (self.in_channels + self.padded_out) * std::mem::size_of::<f32>();
        let fit = (POINT_BYTES / per_tile).clamp(nr, MAX_TILES);
        let share = tiles.div_ceil(rayon::current_num_threads().max(1));
        fit.min(share).div_ceil(nr) * nr
    }

    /// Transform, multiply and transform back the tiles `first..last`.
    fn block(&self, x: &[f32], g: &Geometry, first: usize, last: usize, relu: bool, out: Out) {
        let nr = self.micro.nr;
        let groups = (last - first).div_ceil(nr);
        let segments = g.segments(first, last);
        let (v_len, m_len) = (
            POINTS * groups * self.in_channels * nr,
            POINTS * self.padded_out * groups * nr,
        );
        with_scratch(&TILES, v_len, |v| {
            with_scratch(&PRODUCTS, m_len, |m| {
                self.transform_input(x, g, &segments, groups, v);
                self.multiply(v, groups, m);
                self.transform_output(m, g, &segments, groups * nr, relu, out);
            })
        });
    }

    /// V: point, tile group, channel, tile in group (the micro-kernel's b panels).
    #[inline(never)]
    fn transform_input(
        &self,
        x: &[f32],
        g: &Geometry,
        segments: &[Segment],
        groups: usize,
        v: &mut [f32],
    ) {
        let nr = self.micro.nr;
        let c_in = self.in_channels;
        let widest = segments.iter().map(|s| s.len).max().unwrap_or(0);
        // Lanes past the block's last tile are never read back; zeroed so that stale
        // values (denormals among them) never reach the multiply-adds.
        let used = segments.last().map_or(0, |s| s.at + s.len);
        if used < groups * nr {
            let (group, lane) = (used / nr, used % nr);
            for xi in 0..POINTS {
                for c in 0..c_in {
                    let at = ((xi * groups + group) * c_in + c) * nr;
                    v[at + lane..at + nr].fill(0.0);
                }
            }
        }
        let stride = widest + 1;
        let mut rows = vec![0f32; ALPHA * 2 * stride];
        let mut points = vec![0f32; POINTS * widest];
        for s in segments {
            for c in 0..c_in {
                let plane = &x[(s.image * c_in + c) * g.ih * g.iw..][..g.ih * g.iw];
                g.gather_rows(plane, s, &mut rows);
                let halves: [(&[f32], &[f32]); ALPHA] =
                    std::array::from_fn(|i| rows[2 * i * stride..][..2 * stride].split_at(stride));
                transform::input(&halves, s.len, &mut points, widest);
                // Copy each point's run of tiles into its groups, a group at a time.
                let mut q = 0;
                while q < s.len {
                    let t = s.at + q;
                    let (group, lane) = (t / nr, t % nr);
                    let run = (nr - lane).min(s.len - q);
                    for xi in 0..POINTS {
                        let dst = ((xi * groups + group) * c_in + c) * nr + lane;
                        v[dst..dst + run].copy_from_slice(&points[xi * widest + q..][..run]);
                    }
                    q += run;
                }
            }
        }
    }

    /// M: point, output channel, tile; one GEMM per point, in micro-kernel panels.
    #[inline(never)]
    fn multiply(&self, v: &[f32], groups: usize, m: &mut [f32]) {
        let GemmMicro { mr: kr, nr, .. } = self.micro;
        let c_in = self.in_channels;
        let (ko, tiles) = (self.padded_out, groups * nr);
        let panels = ko / kr;
        for xi in 0..POINTS {
            for panel in 0..panels {
                let a = &self.u[(xi * panels + panel) * c_in * kr..][..c_in * kr];
                let rows = &mut m[(xi * ko + panel * kr) * tiles..];
                for group in 0..groups {
                    let b = &v[(xi * groups + group) * c_in * nr..][..c_in * nr];
                    self.micro
                        .run_plain(c_in, a, b, &mut rows[group * nr..], tiles);
                }
            }
        }
    }

    /// Back to pixels: per channel, a row of tiles at a time.
    #[inline(never)]
    fn transform_output(
        &self,
        m: &[f32],
        g: &Geometry,
        segments: &[Segment],
        tiles: usize,
        relu: bool,
        out: Out,
    ) {
        let ko = self.padded_out;
        let widest = segments.iter().map(|s| s.len).max().unwrap_or(0);
        let (mut row0, mut row1) = (vec![0f32; 2 * widest], vec![0f32; 2 * widest]);
        let plane = g.h * g.w;
        for s in segments {
            let y0 = s.tile_row * TILE;
            let x0 = s.first_col * TILE;
            let cols = (2 * s.len).min(g.w - x0);
            for k in 0..self.out_channels {
                let p: [&[f32]; POINTS] =
                    std::array::from_fn(|xi| &m[(xi * ko + k) * tiles + s.at..][..s.len]);
                transform::output(&p, self.bias[k], s.len, &mut row0, &mut row1);
                if relu {
                    for v in row0.iter_mut().chain(row1.iter_mut()) {
                        *v = v.max(0.0);
                    }
                }
                let base = (s.image * self.out_channels + k) * plane + y0 * g.w + x0;
                // SAFETY: rows y0, y0 + 1 (if inside) and columns x0..x0 + cols of this
                // channel are inside the output and belong to this block's tiles only.
                unsafe {
                    std::ptr::copy_nonoverlapping(row0.as_ptr(), out.0.add(base), cols);
                    if y0 + 1 < g.h {
                        std::ptr::copy_nonoverlapping(row1.as_ptr(), out.0.add(base + g.w), cols);
                    }
                }
            }
        }
    }
}

/// Spatial size and tiling of one call: the input is `ih x iw`, read with `pad` zeros
/// around it (1: "same", 0: "valid"), the output `h x w`, of which the call computes the
/// tile rows listed in `rows` (every row of every image, or each image's extent).
struct Geometry {
    ih: usize,
    iw: usize,
    pad: usize,
    h: usize,
    w: usize,
    rows: Vec<TileRow>,
    /// `starts[k]`: number of the first tile of `rows[k]` (tiles are numbered in order).
    starts: Vec<usize>,
}

/// A run of tiles from the left edge of one tile row of one image.
struct TileRow {
    image: usize,
    tile_row: usize,
    tiles: usize,
}

impl Geometry {
    fn new(
        (ih, iw): (usize, usize),
        pad: usize,
        (h, w): (usize, usize),
        n: usize,
        extents: Option<&[(usize, usize)]>,
    ) -> Geometry {
        let mut rows = Vec::new();
        for image in 0..n {
            let (eh, ew) = extents.map_or((h, w), |e| (e[image].0.min(h), e[image].1.min(w)));
            let tiles = ew.div_ceil(TILE);
            if tiles > 0 {
                rows.extend((0..eh.div_ceil(TILE)).map(|tile_row| TileRow {
                    image,
                    tile_row,
                    tiles,
                }));
            }
        }
        let starts = rows
            .iter()
            .scan(0, |next, r| {
                let at = *next;
                *next += r.tiles;
                Some(at)
            })
            .collect();
        Geometry {
            ih,
            iw,
            pad,
            h,
            w,
            rows,
            starts,
        }
    }

    fn tiles(&self) -> usize {
        self.rows.last().map_or(0, |r| r.tiles) + self.starts.last().copied().unwrap_or(0)
    }

    /// Splits tiles `first..last` (numbered image, tile row, tile column) into runs
    /// within one row of tiles.
    fn segments(&self, first: usize, last: usize) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut k = self
            .starts
            .partition_point(|s| *s <= first)
            .saturating_sub(1);
        let mut t = first;
        while t < last && k < self.rows.len() {
            let row = &self.rows[k];
            let col = t - self.starts[k];
            let len = (row.tiles - col).min(last - t);
            out.push(Segment {
                image: row.image,
                tile_row: row.tile_row,
                first_col: col,
                len,
                at: t - first,
            });
            t += len;
            k += 1;
        }
        out
    }

    /// The 4 input rows under a segment's tiles (zero outside the image), each split
    /// into even and odd columns counted from the tiles' left edge (`pad` pixels of
    /// padding): `rows[i]` = `[even; stride][odd; stride]` with `stride = rows.len() / 8`.
    fn gather_rows(&self, plane: &[f32], s: &Segment, rows: &mut [f32]) {
        let stride = rows.len() / (2 * ALPHA);
        let n = s.len + 1;
        // Column of even[q] is x0 + 2 q, of odd[q] one more: x0 = 2 first_col - pad.
        let x0 = 2 * s.first_col as isize - self.pad as isize;
        // q in inner.. have both columns inside the image.
        let first_inner = usize::from(x0 < 0);
        let inner_end = ((self.iw as isize - x0) / 2).clamp(0, n as isize) as usize;
        for (i, r) in rows.chunks_exact_mut(2 * stride).enumerate() {
            let (even, odd) = r.split_at_mut(stride);
            let y = (s.tile_row * TILE + i) as isize - self.pad as isize;
            if y < 0 || y as usize >= self.ih {
                even[..n].fill(0.0);
                odd[..n].fill(0.0);
                continue;
            }
            let line = &plane[y as usize * self.iw..][..self.iw];
            let pixel = |x: isize| {
                if x >= 0 && (x as usize) < self.iw {
                    line[x as usize]
                } else {
                    0.0
                }
            };
            for q in (0..first_inner).chain(inner_end.max(first_inner)..n) {
                even[q] = pixel(x0 + 2 * q as isize);
                odd[q] = pixel(x0 + 2 * q as isize + 1);
            }
            if first_inner < inner_end {
                let from = (x0 + 2 * first_inner as isize) as usize;
                let pairs = line[from..from + 2 * (inner_end - first_inner)].chunks_exact(2);
                let dst = even[first_inner..inner_end]
                    .iter_mut()
                    .zip(&mut odd[first_inner..inner_end]);
                for ((e, o), pair) in dst.zip(pairs) {
                    *e = pair[0];
                    *o = pair[1];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic input `[n, c, h, w]`, weights `[k, c, 3, 3]` and bias `[k]`, values
    /// in [-1, 1).
    fn sample(
        (n, c, k, h, w): (usize, usize, usize, usize, usize),
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let value = |i: usize| ((i * 2654435761) % 1000) as f32 / 500.0 - 1.0;
        let x = (0..n * c * h * w).map(value).collect();
        let wt = (0..k * c * 9).map(|i| value(i + 7)).collect();
        let bias = (0..k).map(|i| value(i + 3)).collect();
        (x, wt, bias)
    }

    /// Direct 3x3 cross-correlation, padding 1, in f64.
    fn direct(
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        (n, c, k, h, wd): (usize, usize, usize, usize, usize),
    ) -> Vec<f64> {
        let mut y = vec![0f64; n * k * h * wd];
        for b in 0..n {
            for o in 0..k {
                for r in 0..h {
                    for s in 0..wd {
                        let mut acc = f64::from(bias[o]);
                        for i in 0..c {
                            for (p, q) in (0..3).flat_map(|p| (0..3).map(move |q| (p, q))) {
                                let (yy, xx) =
                                    (r as isize + p as isize - 1, s as isize + q as isize - 1);
                                if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < wd {
                                    let xv = x[((b * c + i) * h + yy as usize) * wd + xx as usize];
                                    acc +=
                                        f64::from(xv) * f64::from(w[((o * c + i) * 3 + p) * 3 + q]);
                                }
                            }
                        }
                        y[((b * k + o) * h + r) * wd + s] = acc;
                    }
                }
            }
        }
        y
    }

    /// Every micro-kernel (its own panel shapes and padding) gives the direct sum.
    #[test]
    fn each_kernel_matches_a_direct_convolution() {
        for micro in [gemm_micro::PORTABLE, gemm_micro::best()] {
            for (n, c, k, h, w) in [
                (2, 3, 5, 7, 9),
                (1, 9, 33, 6, 1),
                (1, 1, 1, 1, 1),
                (3, 4, 8, 5, 4),
            ] {
                let (x, wt, bias) = sample((n, c, k, h, w));
                let conv = Winograd3x3::with_kernel(&wt, k, c, Some(&bias), micro);
                let ours = conv.forward(&x, n, h, w);
                let want = direct(&x, &wt, &bias, (n, c, k, h, w));
                let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
                for (i, (a, b)) in ours.iter().zip(&want).enumerate() {
                    assert!(
                        (f64::from(*a) - b).abs() <= 1e-5 * scale,
                        "{micro:?} {n}x{c}x{h}x{w}->{k} at {i}: {a} vs {b}"
                    );
                }
            }
        }
    }

    /// Without padding, the output is the padded convolution's interior: every output
    /// pixel whose window lies inside the input.
    #[test]
    fn valid_convolution_is_the_interior_of_the_padded_one() {
        for micro in [gemm_micro::PORTABLE, gemm_micro::best()] {
            for (n, c, k, h, w) in [
                (2, 3, 5, 7, 9),
                (1, 9, 33, 6, 3),
                (1, 2, 3, 3, 3),
                (3, 4, 8, 8, 5),
            ] {
                let (x, wt, bias) = sample((n, c, k, h, w));
                let conv = Winograd3x3::with_kernel(&wt, k, c, Some(&bias), micro);
                let ours = conv.forward_valid(&x, n, h, w);
                let full = direct(&x, &wt, &bias, (n, c, k, h, w));
                let (vh, vw) = (h - 2, w - 2);
                assert_eq!(ours.len(), n * k * vh * vw);
                let scale = full.iter().fold(0f64, |m, v| m.max(v.abs()));
                for (i, a) in ours.iter().enumerate() {
                    let (plane, r, s) = (i / (vh * vw), i / vw % vh, i % vw);
                    let want = full[(plane * h + r + 1) * w + s + 1];
                    assert!(
                        (f64::from(*a) - want).abs() <= 1e-5 * scale,
                        "{micro:?} {n}x{c}x{h}x{w}->{k} at {i}: {a} vs {want}"
                    );
                }
            }
        }
    }

    /// The fused ReLU gives exactly the plain output clamped at zero, and some outputs
    /// of this case are negative, so the clamp is exercised.
    #[test]
    fn fused_relu_is_the_plain_output_clamped() {
        let (n, c, k, h, w) = (2, 5, 7, 9, 6);
        let (x, wt, bias) = sample((n, c, k, h, w));
        let conv = Winograd3x3::new(&wt, k, c, Some(&bias));
        let plain = conv.forward(&x, n, h, w);
        assert!(plain.iter().any(|v| *v < 0.0) && plain.iter().any(|v| *v > 0.0));
        let want: Vec<f32> = plain.iter().map(|v| v.max(0.0)).collect();
        assert_eq!(conv.forward_relu(&x, n, h, w), want);
    }

    /// Computing only each image's extent gives the same values there as the whole
    /// valid convolution (tiles are independent), for odd, even, empty and full extents.
    #[test]
    fn valid_within_extents_matches_the_whole_valid_convolution() {
        let (n, c, k, h, w) = (4, 3, 9, 9, 11);
        let (x, wt, bias) = sample((n, c, k, h, w));
        let conv = Winograd3x3::new(&wt, k, c, Some(&bias));
        let whole = conv.forward_valid(&x, n, h, w);
        let extents = [(3, 5), (7, 9), (0, 4), (4, 2)];
        let part = conv.forward_valid_within(&x, n, (h, w), &extents);
        let (vh, vw) = (h - 2, w - 2);
        for (i, (a, b)) in part.iter().zip(&whole).enumerate() {
            let (image, r, col) = (i / (k * vh * vw), i / vw % vh, i % vw);
            let (eh, ew) = extents[image];
            if r < eh && col < ew {
                assert_eq!(a, b, "image {image} row {r} column {col}");
            } else if r >= eh.div_ceil(2) * 2 || col >= ew.div_ceil(2) * 2 {
                assert_eq!(
                    *a, 0.0,
                    "outside the extent's tiles: image {image} row {r} column {col}"
                );
            }
        }
    }
}
