//! 3x3 convolution, stride 1, padding 1, by Winograd F(2x2, 3x3) (Lavin & Gray 2016):
//! the filters are transformed and packed once; each call transforms the input tiles
//! of a block, runs one small GEMM per transformed point with the micro-kernel, and
//! transforms back, adding the bias. Blocks of tiles are independent, so they run in
//! parallel (rayon) and each block's buffers stay in cache.

use super::kernel::{self, Micro};
use super::transform::{self, ALPHA, POINTS, TILE};
use rayon::prelude::*;

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
    micro: Micro,
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
        Self::with_kernel(weight, out_channels, in_channels, bias, kernel::best())
    }

    /// As [`Winograd3x3::new`] with a given micro-kernel (tests compare them).
    pub fn with_kernel(
        weight: &[f32],
        out_channels: usize,
        in_channels: usize,
        bias: Option<&[f32]>,
        micro: Micro,
    ) -> Self {
        assert_eq!(weight.len(), out_channels * in_channels * 9, "weight shape");
        let kr = micro.kr;
        let panels = out_channels.div_ceil(kr);
        let padded_out = panels * kr;
        let mut u = vec![0f32; POINTS * padded_out * in_channels];
        for k in 0..out_channels {
            for c in 0..in_channels {
                let at = (k * in_channels + c) * 9;
                let g: &[f32; 9] = weight[at..at + 9].try_into().expect("9 taps");
                let t = transform::filter(g);
                let (panel, l) = (k / kr, k % kr);
                for (xi, v) in t.iter().enumerate() {
                    u[((xi * panels + panel) * in_channels + c) * kr + l] = *v;
                }
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
        assert_eq!(x.len(), n * self.in_channels * h * w, "input shape");
        let mut y = vec![0f32; n * self.out_channels * h * w];
        if y.is_empty() {
            return y;
        }
        let (tiles_h, tiles_w) = (h.div_ceil(TILE), w.div_ceil(TILE));
        let tiles = n * tiles_h * tiles_w;
        let block = self.block_tiles(tiles);
        let out = Out(y.as_mut_ptr());
        let geometry = Geometry {
            h,
            w,
            tiles_h,
            tiles_w,
        };
        (0..tiles.div_ceil(block)).into_par_iter().for_each(|b| {
            let first = b * block;
            let last = (first + block).min(tiles);
            self.block(x, &geometry, first, last, out);
        });
        y
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
    fn block(&self, x: &[f32], g: &Geometry, first: usize, last: usize, out: Out) {
        let Micro { kr, nr, .. } = self.micro;
        let c_in = self.in_channels;
        let groups = (last - first).div_ceil(nr);
        let padded_tiles = groups * nr;
        let segments = g.segments(first, last);

        // V: point xi, tile group, channel, tile in group (the micro-kernel's b panels).
        let mut v = vec![0f32; POINTS * groups * c_in * nr];
        let widest = segments.iter().map(|s| s.len).max().unwrap_or(0);
        let mut rows = vec![0f32; ALPHA * 2 * (widest + 1)];
        let mut points = vec![0f32; POINTS * widest];
        for s in &segments {
            for c in 0..c_in {
                let plane = &x[(s.image * c_in + c) * g.h * g.w..][..g.h * g.w];
                g.gather_rows(plane, s, &mut rows);
                let stride = widest + 1;
                let halves: [(&[f32], &[f32]); ALPHA] =
                    std::array::from_fn(|i| rows[2 * i * stride..][..2 * stride].split_at(stride));
                transform::input(&halves, s.len, &mut points, widest);
                for xi in 0..POINTS {
                    for q in 0..s.len {
                        let t = s.at + q;
                        v[((xi * groups + t / nr) * c_in + c) * nr + t % nr] =
                            points[xi * widest + q];
                    }
                }
            }
        }

        // M: point xi, tile, output channel.
        let ko = self.padded_out;
        let panels = ko / kr;
        let mut m = vec![0f32; POINTS * padded_tiles * ko];
        for xi in 0..POINTS {
            for panel in 0..panels {
                let a = &self.u[(xi * panels + panel) * c_in * kr..][..c_in * kr];
                for group in 0..groups {
                    let b = &v[(xi * groups + group) * c_in * nr..][..c_in * nr];
                    let o = &mut m[(xi * padded_tiles + group * nr) * ko + panel * kr..];
                    self.micro.run(c_in, a, b, o, ko);
                }
            }
        }

        // Back to pixels, one tile at a time, all output channels at once.
        let k_out = self.out_channels;
        let mut y: [Vec<f32>; 4] = std::array::from_fn(|_| vec![0f32; k_out]);
        for s in &segments {
            for q in 0..s.len {
                let t = s.at + q;
                transform::output(
                    |xi| &m[(xi * padded_tiles + t) * ko..][..k_out],
                    &self.bias,
                    k_out,
                    &mut y,
                );
                let (y0, x0) = (s.tile_row * TILE, (s.first_col + q) * TILE);
                for i in 0..TILE.min(g.h - y0) {
                    for j in 0..TILE.min(g.w - x0) {
                        let base = s.image * k_out * g.h * g.w + (y0 + i) * g.w + x0 + j;
                        for (k, value) in y[i * TILE + j].iter().enumerate() {
                            // SAFETY: inside the output (k < out, pixel inside h x w), and
                            // this pixel belongs to this block's tile only.
                            unsafe { *out.0.add(base + k * g.h * g.w) = *value };
                        }
                    }
                }
            }
        }
    }
}

/// Spatial size and tiling of one call.
struct Geometry {
    h: usize,
    w: usize,
    tiles_h: usize,
    tiles_w: usize,
}

impl Geometry {
    /// Splits tiles `first..last` (numbered image, tile row, tile column) into runs
    /// within one row of tiles.
    fn segments(&self, first: usize, last: usize) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut t = first;
        while t < last {
            let (row, col) = (t / self.tiles_w, t % self.tiles_w);
            let len = (self.tiles_w - col).min(last - t);
            out.push(Segment {
                image: row / self.tiles_h,
                tile_row: row % self.tiles_h,
                first_col: col,
                len,
                at: t - first,
            });
            t += len;
        }
        out
    }

    /// The 4 input rows under a segment's tiles (zero outside the image), each split
    /// into even and odd columns counted from the tiles' left edge (one pixel of
    /// padding): `rows[i]` = `[even; stride][odd; stride]` with `stride = rows.len() / 8`.
    fn gather_rows(&self, plane: &[f32], s: &Segment, rows: &mut [f32]) {
        let stride = rows.len() / (2 * ALPHA);
        for (i, r) in rows.chunks_exact_mut(2 * stride).enumerate() {
            let (even, odd) = r.split_at_mut(stride);
            let y = (s.tile_row * TILE + i) as isize - 1;
            if y < 0 || y as usize >= self.h {
                even[..=s.len].fill(0.0);
                odd[..=s.len].fill(0.0);
                continue;
            }
            let line = &plane[y as usize * self.w..][..self.w];
            // Column of even[q] is 2 (first_col + q) - 1, of odd[q] one more.
            let x0 = 2 * s.first_col as isize - 1;
            for q in 0..=s.len {
                let xe = x0 + 2 * q as isize;
                even[q] = if xe >= 0 && (xe as usize) < self.w {
                    line[xe as usize]
                } else {
                    0.0
                };
                let xo = (xe + 1) as usize;
                odd[q] = if xo < self.w { line[xo] } else { 0.0 };
            }
        }
    }
}
