//! `C = clamp(A B + bias [+ residual])` for convolutions: `A` the filters (`m` output
//! channels x `k` taps), packed once into the micro-kernel's row panels; `B` the input
//! as `k` rows of `n` pixels, packed block by block straight from the image (1x1
//! convolutions read it as it is, strided and larger kernels unfold it on the fly, never
//! materialising an im2col matrix); `C` the `m` output planes. Blocks of `k` keep a
//! filter panel in L1 and the packed pixels in L2; blocks of pixels run in parallel.

use super::gemm_micro::{self, finish_row, Clamp, Epilogue, GemmMicro, Operands};
use crate::model::ops::output::{with_scratch, Scratch};
use rayon::prelude::*;
use std::cell::RefCell;

/// Taps per block of `k`: a filter panel (`KC * mr` values) stays in L1.
const KC: usize = 256;
/// Values in the largest micro-kernel panel (`mr * nr`, AVX-512's 8 x 32).
const MAX_PANEL: usize = 256;
/// Bytes of filter panels that stream past one pixel panel: within L2.
const A_BYTES: usize = 512 * 1024;
/// Bytes of packed pixels per block: within L2 beside the filters.
const B_BYTES: usize = 384 * 1024;
/// Taps per block from which a pixel panel meets a group of filter panels
/// ([`block_product`]): below it the products are too short to hide the stores of a
/// group's many output rows. With AVX-512's 32-pixel panels natively only whole blocks
/// of [`KC`]: on Zen 4, ResNet-50's 128 -> 512 1x1s at 28x28 took 0.08-0.23 ms less
/// each one filter panel at a time than grouped (from 128 taps before; runs alternating
/// in one process), DenseNet-121's and MobileNetV2's within the noise. The narrower
/// panels (wasm's 8, AVX2's 16) keep 32, where they were measured (in Chromium,
/// MobileNetV3-small 0.68 of onnxruntime-web with 32, 0.71-0.76 with 128).
fn grouped_from_k(nr: usize) -> usize {
    if nr >= 32 {
        KC
    } else {
        32
    }
}

/// Filters packed for one micro-kernel: for each block of `KC` taps, each panel of `mr`
/// channels as `[tap][channel]`; with the bias, padded to whole panels.
#[derive(Debug)]
pub struct PackedA {
    m: usize,
    k: usize,
    panels: usize,
    data: Vec<f32>,
    bias: Vec<f32>,
    micro: GemmMicro,
}

impl PackedA {
    /// Packs the `m x k` matrix whose element `(i, p)` is `at(i, p)`, with an optional
    /// bias of `m` values.
    pub fn new(m: usize, k: usize, at: impl Fn(usize, usize) -> f32, bias: Option<&[f32]>) -> Self {
        Self::with_micro(m, k, at, bias, gemm_micro::best())
    }

    /// [`Self::new`] for a given micro-kernel (tests compare them).
    pub fn with_micro(
        m: usize,
        k: usize,
        at: impl Fn(usize, usize) -> f32,
        bias: Option<&[f32]>,
        micro: GemmMicro,
    ) -> Self {
        let mr = micro.mr;
        let panels = m.div_ceil(mr);
        let mut data = vec![0f32; panels * mr * k];
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            for panel in 0..panels {
                let dst = &mut data[k0 * panels * mr + panel * kc * mr..][..kc * mr];
                for p in 0..kc {
                    for l in 0..mr.min(m - panel * mr) {
                        dst[p * mr + l] = at(panel * mr + l, k0 + p);
                    }
                }
            }
        }
        let mut padded = vec![0f32; panels * mr];
        if let Some(b) = bias {
            padded[..m].copy_from_slice(&b[..m]);
        }
        PackedA {
            m,
            k,
            panels,
            data,
            bias: padded,
            micro,
        }
    }

    /// Row-major `[m, k]` (a convolution's `[out, in * kh * kw]` weights).
    pub fn rows(a: &[f32], m: usize, k: usize, bias: Option<&[f32]>) -> Self {
        Self::new(m, k, |i, p| a[i * k + p], bias)
    }

    /// The transpose of a row-major `[k, m]` matrix (a convolution's weights read as
    /// `W^T` for its input gradient).
    pub fn transposed(a: &[f32], m: usize, k: usize) -> Self {
        Self::new(m, k, |i, p| a[p * m + i], None)
    }

    pub fn rows_len(&self) -> usize {
        self.m
    }

    /// Bytes held by the packed filters.
    pub fn packed_bytes(&self) -> usize {
        (self.data.len() + self.bias.len()) * std::mem::size_of::<f32>()
    }

    fn panel(&self, k0: usize, kc: usize, panel: usize) -> &[f32] {
        let mr = self.micro.mr;
        &self.data[k0 * self.panels * mr + panel * kc * mr..][..kc * mr]
    }
}

/// The right-hand matrix, `k` rows of `n` columns, packed on demand.
pub trait PackB: Sync {
    /// `out[p * nr + q] = B[k0 + p][j0 + q]` for `p < kc`, `q < cols`; zero for
    /// `cols <= q < nr`.
    fn pack(&self, k0: usize, kc: usize, j0: usize, cols: usize, nr: usize, out: &mut [f32]);

    /// Columns `j0..j0 + cols` as consecutive panels `nr` wide (the last zero-padded),
    /// each as [`Self::pack`] writes it.
    fn pack_block(&self, k0: usize, kc: usize, j0: usize, cols: usize, nr: usize, out: &mut [f32]) {
        pack_panels(self, k0, kc, (j0, cols), nr, out);
    }

    /// Asks the caches for what [`Self::pack`] will read of columns `j0..j0 + cols`
    /// (a hint: nothing by default).
    fn prefetch(&self, _k0: usize, _kc: usize, _j0: usize, _cols: usize) {}

    /// The matrix itself and its row stride, where it is stored as rows that the
    /// micro-kernel can read in place (none by default).
    fn in_place(&self) -> Option<(&[f32], usize)> {
        None
    }
}

/// Asks for the cache lines of `len` values from `p` (into L1: `prefetcht0`; lines
/// about to be written are asked for the same way, as baseline x86-64 has no
/// `prefetchw`). Only a hint: it never faults, and does nothing where the target has no
/// such instruction (wasm).
#[inline]
fn prefetch_lines(p: *const f32, len: usize) {
    #[cfg(target_arch = "x86_64")]
    for off in (0..len).step_by(16) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // A prefetch is not an access; `wrapping_add` keeps even a stray address sound.
        // SAFETY: prefetches never fault, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, len);
}

/// [`PackB::pack_block`] panel by panel, each by [`PackB::pack`].
fn pack_panels<B: PackB + ?Sized>(
    b: &B,
    k0: usize,
    kc: usize,
    (j0, cols): (usize, usize),
    nr: usize,
    out: &mut [f32],
) {
    for (jp, panel) in out.chunks_exact_mut(kc * nr).enumerate() {
        let q0 = jp * nr;
        b.pack(k0, kc, j0 + q0, nr.min(cols - q0), nr, panel);
    }
}

/// Rows of a row-major matrix with row stride `ld` (a 1x1 convolution's input planes).
pub struct Dense<'a> {
    pub data: &'a [f32],
    pub ld: usize,
}

impl PackB for Dense<'_> {
    fn in_place(&self) -> Option<(&[f32], usize)> {
        Some((self.data, self.ld))
    }

    fn pack_block(&self, k0: usize, kc: usize, j0: usize, cols: usize, nr: usize, out: &mut [f32]) {
        match nr {
            32 => self.pack_rows_of::<32>(k0, kc, j0, cols, out),
            16 => self.pack_rows_of::<16>(k0, kc, j0, cols, out),
            8 => self.pack_rows_of::<8>(k0, kc, j0, cols, out),
            _ => pack_panels(self, k0, kc, (j0, cols), nr, out),
        }
    }

    fn prefetch(&self, k0: usize, kc: usize, j0: usize, cols: usize) {
        for p in k0..k0 + kc {
            prefetch_lines(self.data[p * self.ld + j0..].as_ptr(), cols);
        }
    }

    fn pack(&self, k0: usize, kc: usize, j0: usize, cols: usize, nr: usize, out: &mut [f32]) {
        // Whole rows of the kernels' widths as fixed-size copies, which compile to a few
        // vector moves: a `memcpy` call per 32-value row cost about 6% of a 64-filter
        // 1x1 convolution (64 x 256 x 3136: 78 -> 83 GMAC/s natively).
        match (cols, nr) {
            (32, 32) => return self.pack_whole::<32>(k0, kc, j0, out),
            (16, 16) => return self.pack_whole::<16>(k0, kc, j0, out),
            (8, 8) => return self.pack_whole::<8>(k0, kc, j0, out),
            _ => {}
        }
        for (p, dst) in out.chunks_exact_mut(nr).take(kc).enumerate() {
            dst[..cols].copy_from_slice(&self.data[(k0 + p) * self.ld + j0..][..cols]);
            dst[cols..].fill(0.0);
        }
    }
}

/// Rows ahead of the one being packed that [`Dense`]'s block packing asks the caches for.
const ROWS_AHEAD: usize = 2;

impl Dense<'_> {
    /// [`PackB::pack_block`] a row at a time: each input row is read as one sequential
    /// run across every panel of the block. Panel by panel, the `kc` rows (input planes
    /// 12 KB apart at 56x56) were `kc` interleaved streams, too many for the hardware
    /// prefetchers, and the product waited on memory: ResNet-50's 256 -> 64 1x1s at 56x56
    /// took 0.8-1.0 ms against onnxruntime's 0.55.
    fn pack_rows_of<const N: usize>(
        &self,
        k0: usize,
        kc: usize,
        j0: usize,
        cols: usize,
        out: &mut [f32],
    ) {
        let whole = cols / N;
        let rest = cols - whole * N;
        for p in 0..kc {
            let row = &self.data[(k0 + p) * self.ld + j0..][..cols];
            // Each row is a short run (`cols` values) of its own plane, too short for the
            // hardware prefetchers to ramp up on: asking for the row after next took
            // ResNet-50's 1x1s 0.6-1.2 ms faster in all (runs alternating in one process,
            // one thread), most on the 256- and 512-channel reductions.
            if cfg!(target_arch = "x86_64") && p + ROWS_AHEAD < kc {
                let next = (k0 + p + ROWS_AHEAD) * self.ld + j0;
                prefetch_lines(self.data[next..].as_ptr(), cols);
            }
            for (jp, src) in row.chunks_exact(N).enumerate() {
                let dst = &mut out[(jp * kc + p) * N..][..N];
                let (Ok(dst), Ok(src)) =
                    (<&mut [f32; N]>::try_from(dst), <&[f32; N]>::try_from(src))
                else {
                    unreachable!("chunks of N values");
                };
                *dst = *src;
            }
            if rest > 0 {
                let dst = &mut out[(whole * kc + p) * N..][..N];
                dst[..rest].copy_from_slice(&row[whole * N..]);
                dst[rest..].fill(0.0);
            }
        }
    }

    /// [`PackB::pack`] of `N` whole columns into panels `N` wide.
    fn pack_whole<const N: usize>(&self, k0: usize, kc: usize, j0: usize, out: &mut [f32]) {
        for (p, dst) in out.chunks_exact_mut(N).take(kc).enumerate() {
            let src = &self.data[(k0 + p) * self.ld + j0..][..N];
            let (Ok(dst), Ok(src)) = (<&mut [f32; N]>::try_from(dst), <&[f32; N]>::try_from(src))
            else {
                unreachable!("chunks of N values");
            };
            *dst = *src;
        }
    }
}

/// An output pointer shared by parallel blocks that write disjoint parts of it (here
/// columns, in [`super::direct`] filters' planes).
#[derive(Clone, Copy)]
pub(super) struct Out(pub(super) *mut f32);
// SAFETY: every user's blocks write only their own parts of the output.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

thread_local! {
    /// Each thread's packed pixels, reused from call to call.
    static PACKED_B: Scratch = const { RefCell::new(Vec::new()) };
}

/// `c = clamp(a b + bias [+ residual])`, `c` and `residual` with `a.rows_len()` rows of
/// stride `ldc >= n`.
pub fn gemm(
    a: &PackedA,
    b: &dyn PackB,
    n: usize,
    c: &mut [f32],
    ldc: usize,
    residual: Option<&[f32]>,
    clamp: Clamp,
) {
    let (m, k) = (a.m, a.k);
    assert!(
        m == 0 || c.len() >= (m - 1) * ldc + n,
        "gemm: output too short"
    );
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        residual.is_none_or(|r| r.len() >= (m - 1) * ldc + n),
        "gemm: residual too short"
    );
    let nr = a.micro.nr;
    let threads = rayon::current_num_threads().max(1);
    let fit = (B_BYTES / (4 * KC.min(k.max(1)) * nr)).max(1) * nr;
    let nc = fit.min(n.div_ceil(threads).div_ceil(nr) * nr);
    let out = Out(c.as_mut_ptr());
    let res = residual.map(|r| Out(r.as_ptr() as *mut f32));
    let block = |j0: usize| {
        let cols = nc.min(n - j0);
        let need = KC.min(k.max(1)) * cols.div_ceil(nr) * nr;
        with_scratch(&PACKED_B, need, |buf| {
            // SAFETY: this block writes columns j0..j0 + cols of every row only.
            unsafe { block_product(a, b, k, (j0, cols), buf, out, ldc, res, clamp) };
        });
    };
    let starts: Vec<usize> = (0..n).step_by(nc).collect();
    if starts.len() > 1 && threads > 1 {
        starts.into_par_iter().for_each(block);
    } else {
        starts.into_iter().for_each(block);
    }
}

/// Columns `j0..j0 + cols` of the product, every row.
///
/// # Safety
/// `out` (and `res`) cover `m` rows of stride `ldc` with at least `j0 + cols` columns,
/// and no other thread writes these columns.
#[allow(clippy::too_many_arguments)]
unsafe fn block_product(
    a: &PackedA,
    b: &dyn PackB,
    k: usize,
    (j0, cols): (usize, usize),
    buf: &mut [f32],
    out: Out,
    ldc: usize,
    res: Option<Out>,
    clamp: Clamp,
) {
    let micro = a.micro;
    let (mr, nr) = (micro.mr, micro.nr);
    let col_panels = cols.div_ceil(nr);
    let in_place = in_place_rows(a, b);
    let mut k0 = 0;
    // k = 0 still runs one (empty) block, which writes the bias.
    loop {
        let kc = KC.min(k - k0);
        let last = k0 + kc >= k;
        // A pixel panel stays in L1 while a group of filter panels streams past it from
        // L2 (a filter panel's step is `mr` values, a pixel panel's `nr`): 5-12% faster
        // than the reverse on ResNet-50's 1x1 shapes, natively.
        // With fewer taps the output dominates instead: one filter panel at a time writes
        // its rows as sequential streams (the grouped order's many rows of a large map,
        // a stride apart, miss the prefetchers: MobileNet's k = 16 expansions ran at half
        // speed, ResNet-50's k = 64 layer1 convolutions into 256 channels at 56x56 took
        // 1.2-2.2 ms grouped against 0.8-1.0 one panel at a time).
        // With one or two pixel panels (7x7 maps) and filters beyond L2 (which then come
        // from memory), each filter panel meets both pixel panels while it is in L1:
        // ResNet-50's layer4 1x1s 12.5 -> 12.0 ms in all, its downsampling ones 4.6 -> 4.2.
        let streamed = col_panels <= 2 && 4 * a.panels * mr * kc >= A_BYTES;
        let group = if kc < grouped_from_k(nr) || streamed {
            1
        } else {
            (A_BYTES / (4 * mr * kc)).max(1)
        };
        let step = Step {
            k0,
            kc,
            last,
            j0,
            cols,
        };
        if a.panels <= FEW_PANELS || (in_place.is_some() && a.panels <= IN_PLACE_PANELS) {
            // Few filter panels (MobileNet's projections to 16-32 channels): each pixel
            // panel is used by every filter panel while in L1, packed just before or,
            // natively, read where it is.
            for jp in 0..col_panels {
                // Natively only: wasm has no prefetch instruction.
                if cfg!(target_arch = "x86_64") && jp + PREFETCH_AHEAD < col_panels {
                    prefetch_panel(a, b, &step, jp + PREFETCH_AHEAD, (out, res), ldc);
                }
                let q = j0 + jp * nr;
                let width = nr.min(cols - jp * nr);
                let panel_b = match in_place {
                    Some((rows, ld)) if width == nr && kc > 0 => {
                        assert!(
                            rows.len() >= (k0 + kc - 1) * ld + q + nr,
                            "gemm: input rows too short"
                        );
                        (rows[k0 * ld + q..].as_ptr(), ld)
                    }
                    _ => {
                        let panel_buf = &mut buf[..kc * nr];
                        b.pack(k0, kc, q, width, nr, panel_buf);
                        (panel_buf.as_ptr(), nr)
                    }
                };
                for panel in 0..a.panels {
                    unsafe { panel_product(a, &step, panel, jp, panel_b, out, ldc, res, clamp) };
                }
            }
        } else {
            b.pack_block(k0, kc, j0, cols, nr, &mut buf[..col_panels * kc * nr]);
            for first in (0..a.panels).step_by(group) {
                for jp in 0..col_panels {
                    let bp = (buf[jp * kc * nr..].as_ptr(), nr);
                    for panel in first..(first + group).min(a.panels) {
                        // A filter panel's rows are written (and their residual read) a
                        // pixel panel at a time, `mr` streams a plane apart: asking for
                        // the next pixel panel's took ResNet-50's 1x1s into 256-2048
                        // channels with a shortcut 0.5-1.5 ms faster in all, its other 1x1s
                        // 0.0-0.8 (two pixel panels ahead: no better; four: slower).
                        if cfg!(target_arch = "x86_64") && last && jp + 1 < col_panels {
                            let rows = panel * mr..(panel * mr + mr).min(a.m);
                            prefetch_output(rows, &step, jp + 1, nr, (out, res), ldc);
                        }
                        unsafe { panel_product(a, &step, panel, jp, bp, out, ldc, res, clamp) };
                    }
                }
            }
        }
        k0 += kc;
        if last {
            break;
        }
    }
}

/// Filter panels up to which each pixel panel is packed just before its products.
const FEW_PANELS: usize = 3;
/// Filter panels up to which each pixel panel is read in place, where it can be
/// ([`in_place_rows`]).
const IN_PLACE_PANELS: usize = 4;

/// `b`'s rows and their stride where the few-panels order reads whole pixel panels
/// where they are, the micro-kernel stepping a plane per tap, instead of packing them:
/// a 1x1 convolution's input, natively, when every filter panel is whole (edge tiles
/// read packed panels). MobileNetV2's projections to 16, 24 and 32 channels took
/// 0.014-0.08 ms less each (0.2 ms in all; runs alternating in one process, one
/// thread). The grouped order's larger blocks read in place were slower (ResNet-50's
/// 1x1s 0.1-1.4 ms in all: 256 rows a plane apart per panel, where here 16-144); wasm
/// keeps packing (not measured there).
fn in_place_rows<'b>(a: &PackedA, b: &'b dyn PackB) -> Option<(&'b [f32], usize)> {
    if cfg!(target_arch = "x86_64") && a.m.is_multiple_of(a.micro.mr) {
        b.in_place()
    } else {
        None
    }
}

/// Pixel panels ahead of the one being computed whose input (and, in the last block
/// of `k`, output rows) [`prefetch_panel`] asks for.
const PREFETCH_AHEAD: usize = 4;

/// Asks for pixel panel `jp`'s input rows and, in the last block of `k`, its output
/// (and residual) rows: the few-panels order reads `kc` input planes and writes `m`
/// output planes a panel at a time, more interleaved streams than the hardware
/// prefetchers follow. MobileNetV2's 32 -> 16 projection at 112x112 waited on them:
/// 0.32-0.39 -> 0.27-0.32 ms (alternating run by run in one process, one thread).
fn prefetch_panel(
    a: &PackedA,
    b: &dyn PackB,
    step: &Step,
    jp: usize,
    (out, res): (Out, Option<Out>),
    ldc: usize,
) {
    let nr = a.micro.nr;
    let q = step.j0 + jp * nr;
    b.prefetch(step.k0, step.kc, q, nr.min(step.j0 + step.cols - q));
    if step.last {
        prefetch_output(0..a.m, step, jp, nr, (out, res), ldc);
    }
}

/// Asks for output (and residual) rows `rows` of pixel panel `jp` (`nr` wide).
fn prefetch_output(
    rows: std::ops::Range<usize>,
    step: &Step,
    jp: usize,
    nr: usize,
    (out, res): (Out, Option<Out>),
    ldc: usize,
) {
    let q = step.j0 + jp * nr;
    let cols = nr.min(step.j0 + step.cols - q);
    for l in rows {
        prefetch_lines(out.0.wrapping_add(l * ldc + q), cols);
        if let Some(r) = res {
            prefetch_lines(r.0.wrapping_add(l * ldc + q), cols);
        }
    }
}

/// Where a block of `k` and of columns lies.
struct Step {
    k0: usize,
    kc: usize,
    last: bool,
    j0: usize,
    cols: usize,
}

/// One filter panel's product with pixel panel `jp` of a block (at `bp`, its steps
/// `ldb` apart: `nr` packed, a plane read in place): the whole micro-kernel, the narrow
/// edge or a scratch tile, with the epilogue the block's place in `k` calls for.
///
/// # Safety
/// As [`block_product`]'s, for this panel's rows and columns; `bp` holds
/// `(kc - 1) * ldb + nr` values, and edge panels are packed (`ldb == nr`).
#[allow(clippy::too_many_arguments)]
unsafe fn panel_product(
    a: &PackedA,
    step: &Step,
    panel: usize,
    jp: usize,
    (bp, ldb): (*const f32, usize),
    out: Out,
    ldc: usize,
    res: Option<Out>,
    clamp: Clamp,
) {
    let micro = a.micro;
    let (mr, nr) = (micro.mr, micro.nr);
    let Step {
        k0,
        kc,
        last,
        j0,
        cols,
    } = *step;
    let q0 = jp * nr;
    let width = nr.min(cols - q0);
    let rows = mr.min(a.m - panel * mr);
    let at = panel * mr * ldc + j0 + q0;
    let ep = Epilogue {
        bias: if k0 == 0 {
            a.bias[panel * mr..].as_ptr()
        } else {
            std::ptr::null()
        },
        accumulate: k0 > 0,
        residual: match res {
            Some(r) if last => unsafe { r.0.add(at) as *const f32 },
            _ => std::ptr::null(),
        },
        clamp: if last { clamp } else { Clamp::None },
    };
    let ap = a.panel(k0, kc, panel).as_ptr();
    if rows == mr && width == nr {
        // SAFETY: a full panel inside `c` (and the residual), by the caller.
        unsafe {
            let c = out.0.add(at);
            micro.run(
                &Operands {
                    k: kc,
                    a: ap,
                    b: bp,
                    ldb,
                    c,
                    ldc,
                },
                &ep,
            )
        };
    } else if rows == mr && narrow_fits(micro, width) {
        assert_eq!(ldb, nr, "gemm: edge panels read packed pixels");
        // SAFETY: full rows and `width` columns inside `c` (and the
        // residual), by the caller.
        unsafe { narrow(micro, kc, ap, bp, out.0.add(at), ldc, width, &ep) };
    } else {
        assert_eq!(ldb, nr, "gemm: edge panels read packed pixels");
        let (residual, ep) = (
            ep.residual,
            Epilogue {
                residual: std::ptr::null(),
                ..ep
            },
        );
        unsafe {
            edge_tile(
                micro,
                kc,
                ap,
                bp,
                (out.0.add(at), residual),
                ldc,
                (rows, width),
                &ep,
            )
        };
    }
}

/// Columns a panel may lack after its first half for [`narrow`] to take it.
const TAIL: usize = 4;

/// Whether [`narrow`] computes an edge panel of `width` columns: the half kernel where
/// the first half is whole, then at most `TAIL` single columns.
fn narrow_fits(micro: GemmMicro, width: usize) -> bool {
    let half = micro.nr / 2;
    let rest = if width >= half { width - half } else { width };
    rest <= TAIL && matches!(micro.mr, 4 | 8)
}

/// An edge panel of whole rows and `width < nr` columns without the wasted lanes of a
/// whole panel: the half kernel, then the last columns one at a time. On 7x7 maps
/// (49 = 32 + 16 + 1 pixels, AVX-512) the edge panel cost as much as a whole one.
///
/// # Safety
/// `c` (and the epilogue's residual) cover `mr` rows of `width` columns at stride `ldc`;
/// `a` and `b` as for [`GemmMicro::run`].
#[allow(clippy::too_many_arguments)]
unsafe fn narrow(
    micro: GemmMicro,
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    width: usize,
    ep: &Epilogue,
) {
    let (mr, nr) = (micro.mr, micro.nr);
    let mut done = 0;
    if width >= nr / 2 {
        // SAFETY: the caller's bounds cover the first half.
        unsafe {
            micro.half().run(
                &Operands {
                    k: kc,
                    a,
                    b,
                    ldb: nr,
                    c,
                    ldc,
                },
                ep,
            )
        };
        done = nr / 2;
    }
    // SAFETY: `a` holds `kc * mr` values and `b` `kc * nr`.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, kc * mr),
            std::slice::from_raw_parts(b, kc * nr),
        )
    };
    let fast = fast_columns(mr, kc, (a, b), nr, done..width);
    for j in done..width {
        let mut sums = [0f32; 8];
        match (mr, fast) {
            (8, Some(cols)) => sums = cols[j - done],
            (8, None) => sums = column::<8>(a, b, nr, j),
            _ => sums[..4].copy_from_slice(&column::<4>(a, b, nr, j)),
        }
        let ep = Epilogue {
            residual: if ep.residual.is_null() {
                ep.residual
            } else {
                unsafe { ep.residual.add(j) }
            },
            ..*ep
        };
        for (l, v) in sums[..mr].iter_mut().enumerate() {
            // SAFETY: row `l`, column `j` is inside the caller's bounds.
            unsafe { finish_row(std::slice::from_mut(v), l, c.add(j), ldc, &ep) };
        }
    }
}

/// The last columns `cols` (at most [`TAIL`]) of an 8-row panel's product in AVX2+FMA
/// vectors, where the CPU has them.
fn fast_columns(
    mr: usize,
    kc: usize,
    (a, b): (&[f32], &[f32]),
    nr: usize,
    cols: std::ops::Range<usize>,
) -> Option<[[f32; 8]; TAIL]> {
    #[cfg(target_arch = "x86_64")]
    if mr == 8
        && cols.len() <= TAIL
        && cols.end <= nr
        && a.len() >= kc * 8
        && b.len() >= kc * nr
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        // SAFETY: the features and bounds just checked.
        return Some(unsafe {
            super::gemm_micro_x86::columns8::<TAIL>(kc, a.as_ptr(), b.as_ptr(), nr, cols)
        });
    }
    let _ = (mr, kc, a, b, nr, cols);
    None
}

/// Column `j` of an `MR`-row panel's product: `sum_p a[p][l] b[p][j]`, over four
/// independent chains of sums so the additions overlap.
fn column<const MR: usize>(a: &[f32], b: &[f32], nr: usize, j: usize) -> [f32; MR] {
    let mut acc = [[0f32; MR]; 4];
    let (a4, b4) = (a.chunks_exact(4 * MR), b.chunks_exact(4 * nr));
    let rest = a4
        .remainder()
        .chunks_exact(MR)
        .zip(b4.remainder().chunks_exact(nr));
    for (ap, bp) in a4.zip(b4) {
        for (chain, sums) in acc.iter_mut().enumerate() {
            let bj = bp[chain * nr + j];
            for (s, &al) in sums.iter_mut().zip(&ap[chain * MR..][..MR]) {
                *s += al * bj;
            }
        }
    }
    for (ap, bp) in rest {
        for (s, &al) in acc[0].iter_mut().zip(ap) {
            *s += al * bp[j];
        }
    }
    std::array::from_fn(|l| (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]))
}

/// A panel cut by the last rows or columns: computed in a scratch tile, copied in.
///
/// # Safety
/// `c` (and `residual`) cover `rows` rows of `width` columns at stride `ldc`.
#[allow(clippy::too_many_arguments)]
unsafe fn edge_tile(
    micro: GemmMicro,
    kc: usize,
    a: *const f32,
    b: *const f32,
    (c, residual): (*mut f32, *const f32),
    ldc: usize,
    (rows, width): (usize, usize),
    ep: &Epilogue,
) {
    let (mr, nr) = (micro.mr, micro.nr);
    // Sized for the largest kernel's panel (8 x 32): zeroing a larger scratch on every
    // edge tile cost more than the tile's product on 7x7 maps.
    let mut tile = [0f32; MAX_PANEL];
    let mut res = [0f32; MAX_PANEL];
    assert!(mr * nr <= MAX_PANEL, "gemm: micro-kernel panel too large");
    for l in 0..rows {
        for j in 0..width {
            // SAFETY: inside the caller's rows and columns.
            unsafe {
                if ep.accumulate {
                    tile[l * nr + j] = *c.add(l * ldc + j);
                }
                if !residual.is_null() {
                    res[l * nr + j] = *residual.add(l * ldc + j);
                }
            }
        }
    }
    let ep = Epilogue {
        residual: if residual.is_null() {
            std::ptr::null()
        } else {
            res.as_ptr()
        },
        ..*ep
    };
    // SAFETY: the scratch tiles hold mr x nr values at stride nr; the bias mr.
    let ops = Operands {
        k: kc,
        a,
        b,
        ldb: micro.nr,
        c: tile.as_mut_ptr(),
        ldc: nr,
    };
    unsafe { micro.run(&ops, &ep) };
    for l in 0..rows {
        for j in 0..width {
            unsafe { *c.add(l * ldc + j) = tile[l * nr + j] };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: f32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract())
            .collect()
    }

    /// Products of every shape class (edge rows and columns, several blocks of `k`, one
    /// column, a few last columns) with each epilogue, against the sums written out in f64.
    #[test]
    fn products_match_the_definition_for_every_kernel() {
        let mut micros = vec![gemm_micro::PORTABLE, gemm_micro::best()];
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            micros.push(super::super::gemm_micro_x86::AVX2);
        }
        for micro in micros {
            // Natively, whole panels of up to 4 filter panels read their pixels in place
            // (rows `n` apart) where every filter panel is whole: 8 x 16 x 32, 24 x 40 x 100,
            // 16 x 37 x 196; the rest packed.
            for (m, k, n) in [
                (8, 16, 32),
                (5, 3, 7),
                (13, 600, 49),
                (16, 0, 9),
                (1, 1, 1),
                (24, 40, 100),
                // 196 = 6 x 32 + 4 pixels: four last columns, an odd number of taps.
                (16, 37, 196),
                // More filter panels than FEW_PANELS for every kernel: the block-packed path.
                (64, 300, 70),
            ] {
                let a = values(m * k, 0.3);
                let bias = values(m, 1.1);
                let b = values(k * n, 2.7);
                let ldc = n + 2;
                let residual = values(m * ldc, 4.4);
                for (with_residual, clamp) in [
                    (false, Clamp::None),
                    (true, Clamp::Relu),
                    (false, Clamp::Relu6),
                ] {
                    let packed = PackedA::with_micro(m, k, |i, p| a[i * k + p], Some(&bias), micro);
                    let mut c = vec![7f32; m * ldc];
                    gemm(
                        &packed,
                        &Dense { data: &b, ld: n },
                        n,
                        &mut c,
                        ldc,
                        with_residual.then_some(residual.as_slice()),
                        clamp,
                    );
                    for i in 0..m {
                        for j in 0..ldc {
                            if j >= n {
                                assert_eq!(
                                    c[i * ldc + j],
                                    7.0,
                                    "{micro:?} {m}x{k}x{n}: padding column written"
                                );
                                continue;
                            }
                            let mut want = bias[i] as f64
                                + (0..k)
                                    .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                                    .sum::<f64>();
                            if with_residual {
                                want += residual[i * ldc + j] as f64;
                            }
                            want = match clamp {
                                Clamp::None => want,
                                Clamp::Relu => want.max(0.0),
                                Clamp::Relu6 => want.clamp(0.0, 6.0),
                            };
                            let got = c[i * ldc + j] as f64;
                            assert!(
                                (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                                "{micro:?} {m}x{k}x{n} ({i}, {j}): {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
