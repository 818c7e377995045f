//! Incremental inference for locally changed copies of an input (Krypton: Nakandala,
//! Kumar and Papakonstantinou, "Incremental and Approximate Inference for Faster
//! Occlusion-based Deep CNN Explanations", SIGMOD 2019).
//!
//! A copy that differs from the traced input only inside a rectangle differs, after each
//! local layer (3x3 conv, ReLU, 2x2 max pool), only inside that rectangle's footprint,
//! which grows by one pixel a side per conv and halves per pool. So each layer
//! recomputes just the footprint, from the base pass's activations around it, while the
//! footprint stays a small part of the map; the remaining layers then run whole on the
//! patched maps. Exact, not approximate: only values that cannot change are reused.
//! A batch's copies share one array sized for its largest footprint, but each computes
//! only its own (the conv kernels skip the tiles outside it): footprints differ by a few
//! pixels with a window's offset from the pooling grid and at the border, and sizing
//! every copy by the largest cost ~25% more work in blocks 4 and 5.

use super::Forward;
use crate::error::{Error, Result};
use crate::model::graph::{PoolCfg, Src, Val};
use crate::model::ops::Op;
use crate::model::Activation;
use candle_core::Tensor;
use rayon::prelude::*;
use std::cell::OnceCell;

/// Beyond this share of a layer's map (a batch's mean footprint), recomputing the
/// footprints is no cheaper than the whole layer (crops overlap, tiles round up, copying
/// costs), so the rest runs whole. Measured on VGG16's 16x16 occlusion grid, one
/// thread, with each copy computing its own footprint: 0.5 took 4.8 s, 0.75 4.5 s, 0.9
/// 4.6 s (whole `convscope explain` runs, model set-up included).
const FULL_FRACTION: f64 = 0.75;

/// A rectangle of a `[C, H, W]` map: rows `y..y + h`, columns `x..x + w`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub y: usize,
    pub x: usize,
    pub h: usize,
    pub w: usize,
}

/// A base map, flattened, with its `(C, H, W)`.
type BaseMap<'a> = (&'a [f32], (usize, usize, usize));

/// The traced input's activations, flattened on first use, shared by every batch.
pub struct Incremental<'f, 'm> {
    fwd: &'f Forward<'m>,
    base: Vec<OnceCell<Vec<f32>>>,
}

/// A batch of copies at one layer: copy `b` equals the base map except inside
/// `rects[b]`, whose values are the top-left `rects[b].h x rects[b].w` of `values[b]`
/// (`[C, size.0, size.1]`: one size for the batch, the largest rectangle's, so that the
/// batch is one array; the rest of each copy's block is scratch).
struct Patches {
    rects: Vec<Rect>,
    size: (usize, usize),
    values: Vec<f32>,
}

/// The padding of the 3x3 "same" convolutions this engine patches.
const PADDING: usize = 1;

/// Whether `op` is a 2x2, stride-2 max pool in floor mode (VGG's).
fn is_vgg_pool(p: &PoolCfg) -> bool {
    p.kernel == (2, 2) && p.stride == (2, 2) && p.padding == (0, 0) && !p.ceil_mode
}

/// Where a change inside `r` can reach in the layer's `oh x ow` output; `None` for
/// layers this engine does not patch (those that mix the whole map, and any shape but
/// VGG's 3x3 convolutions, ReLUs and 2x2 pools): the rest then runs whole.
fn footprint(op: &Op, r: Rect, oh: usize, ow: usize) -> Option<Rect> {
    let grow = |lo: usize, len: usize, max: usize| {
        let a = lo.saturating_sub(PADDING);
        (a, (lo + len + PADDING).min(max) - a)
    };
    let halve = |lo: usize, len: usize, max: usize| {
        let a = (lo / 2).min(max - 1);
        (a, ((lo + len - 1) / 2).clamp(a, max - 1) + 1 - a)
    };
    let ((y, h), (x, w)) = match op {
        Op::Conv(c) if c.winograd().is_some() => (grow(r.y, r.h, oh), grow(r.x, r.w, ow)),
        Op::Act(Activation::Relu) | Op::Identity => ((r.y, r.h), (r.x, r.w)),
        Op::MaxPool(p) if is_vgg_pool(p) => (halve(r.y, r.h, oh), halve(r.x, r.w, ow)),
        _ => return None,
    };
    Some(Rect { y, x, h, w })
}

/// Footprints of a batch, each its own (so a copy computes only what can change in it),
/// and the largest height and width: the batch's block size.
fn footprints(
    op: &Op,
    rects: &[Rect],
    oh: usize,
    ow: usize,
) -> Option<(Vec<Rect>, (usize, usize))> {
    let fp = rects
        .iter()
        .map(|r| footprint(op, *r, oh, ow))
        .collect::<Option<Vec<_>>>()?;
    let h = fp.iter().map(|r| r.h).max()?;
    let w = fp.iter().map(|r| r.w).max()?;
    Some((fp, (h, w)))
}

impl<'f, 'm> Incremental<'f, 'm> {
    pub fn new(fwd: &'f Forward<'m>) -> Self {
        let n = fwd.model().len();
        Incremental {
            fwd,
            base: (0..n).map(|_| OnceCell::new()).collect(),
        }
    }

    /// The base input of layer `i`, `[C, H, W]` flattened, with its dims.
    fn base(&self, i: usize) -> Result<BaseMap<'_>> {
        let src = if i == 0 { Src::Input } else { Src::Node(i - 1) };
        let t = self.fwd.model().value(self.fwd.trace(), src)?;
        let [_, c, h, w] = t.shape[..] else {
            return Err(Error::Input(format!(
                "incremental inference needs maps, got {:?}",
                t.shape
            )));
        };
        if self.base[i].get().is_none() {
            let _ = self.base[i].set(t.data.to_vec());
        }
        let v = self.base[i].get().map_or(&[][..], |v| v.as_slice());
        Ok((v, (c, h, w)))
    }

    /// The output of the features ([`crate::model::Graph::features_end`]), `[B, ...]`, of copies of the traced
    /// input in which every channel of `rects[b]` is set to `fill`.
    /// The head runs apart ([`super::head_logits`]) so that it sees many copies at once:
    /// its first linear layer reads 400 MB of VGG16 weights per call, whatever the batch.
    pub fn features(&self, rects: &[Rect], fill: f32) -> Result<Tensor> {
        let c = self.fwd.input().dims()[1];
        let size = (
            rects.iter().map(|r| r.h).max().unwrap_or(0),
            rects.iter().map(|r| r.w).max().unwrap_or(0),
        );
        let mut patches = Patches {
            rects: rects.to_vec(),
            size,
            values: vec![fill; rects.len() * c * size.0 * size.1],
        };
        let model = self.fwd.model();
        let end = model.features_end();
        let mut i = 0;
        while let Some((next, size)) = self.plan(i, &patches.rects) {
            patches = self.step(i, patches, next, size)?;
            i += 1;
        }
        let full = self.patched(i, &patches)?;
        let out = if i == 0 {
            model.forward_to(&full, end)?
        } else {
            model.forward_from(i - 1, full, end)?
        };
        out.to_tensor()
    }

    /// The footprints at layer `i`'s output and the batch's block size, or `None` where
    /// the rest should run whole.
    fn plan(&self, i: usize, rects: &[Rect]) -> Option<(Vec<Rect>, (usize, usize))> {
        let model = self.fwd.model();
        // Patches travel only along a chain (a residual sum would need the other path).
        if !model.spec().is_chain() || i >= model.head_start() {
            return None;
        }
        let [_, _, oh, ow] = self.fwd.trace().shape(i)[..] else {
            return None;
        };
        let (next, size) = footprints(model.op(i), rects, oh, ow)?;
        // Each copy computes its own footprint, so the mean is what the step costs.
        let mean = next.iter().map(|r| r.h * r.w).sum::<usize>() as f64 / next.len() as f64;
        (mean <= FULL_FRACTION * (oh * ow) as f64).then_some((next, size))
    }

    /// Runs layer `i` on the footprints `next` only, into blocks of `(h, w)`.
    fn step(
        &self,
        i: usize,
        p: Patches,
        next: Vec<Rect>,
        (h, w): (usize, usize),
    ) -> Result<Patches> {
        let op = self.fwd.model().op(i);
        let values = match op {
            Op::Conv(conv) => {
                // The footprint plus the kernel's halo, zero outside the map ("same" padding).
                let origins: Vec<(isize, isize)> = next
                    .iter()
                    .map(|r| {
                        (
                            r.y as isize - PADDING as isize,
                            r.x as isize - PADDING as isize,
                        )
                    })
                    .collect();
                let (ch, cw) = (h + 2 * PADDING, w + 2 * PADDING);
                let x = self.crops(i, &p, &origins, (ch, cw))?;
                let extents: Vec<(usize, usize)> = next.iter().map(|r| (r.h, r.w)).collect();
                let Some(k) = conv.winograd() else {
                    return Err(Error::Input(
                        "incremental inference reached a convolution it cannot patch".into(),
                    ));
                };
                k.forward_valid_within(&x, next.len(), (ch, cw), &extents)
            }
            Op::MaxPool(_) => {
                let origins: Vec<(isize, isize)> = next
                    .iter()
                    .map(|r| (2 * r.y as isize, 2 * r.x as isize))
                    .collect();
                let x = self.crops(i, &p, &origins, (2 * h, 2 * w))?;
                crate::model::ops::pooling::max_pool2x2_values(&x, 2 * h, 2 * w)
            }
            // ReLU (and dropout, the identity) act elementwise: same rectangle.
            _ => {
                let mut v = p.values;
                if matches!(op, Op::Act(Activation::Relu)) {
                    super::steps::relu(&mut v);
                }
                v
            }
        };
        Ok(Patches {
            rects: next,
            size: (h, w),
            values,
        })
    }

    /// Whole input maps of layer `i`, `[B, C, H, W]`, each the base with its patch.
    fn patched(&self, i: usize, p: &Patches) -> Result<Val> {
        let (_, (c, h, w)) = self.base(i)?;
        let values = self.crops(i, p, &vec![(0, 0); p.rects.len()], (h, w))?;
        Ok(Val::new(values, vec![p.rects.len(), c, h, w]))
    }

    /// For each copy `b`, the `ch x cw` window at `origins[b]` of layer `i`'s input map
    /// (zeros outside the map), with copy `b`'s patch laid over it: `[B, C, ch, cw]`
    /// values.
    fn crops(
        &self,
        i: usize,
        p: &Patches,
        origins: &[(isize, isize)],
        (ch, cw): (usize, usize),
    ) -> Result<Vec<f32>> {
        let (base, (c, h, w)) = self.base(i)?;
        let b = origins.len();
        let mut out = vec![0f32; b * c * ch * cw];
        // Copies are independent: one per task (a VGG16 batch copies ~25 MB per layer).
        let copies = out.par_chunks_mut(c * ch * cw).zip(origins).zip(&p.rects);
        copies.enumerate().for_each(|(k, ((crop, (oy, ox)), r))| {
            let (ph, pw) = p.size;
            let patch = &p.values[k * c * ph * pw..(k + 1) * c * ph * pw];
            // Columns of the crop that fall inside the map.
            let x0 = (-ox).max(0) as usize;
            let x1 = ((w as isize - ox).min(cw as isize)).max(0) as usize;
            for ch_i in 0..c {
                let plane = &base[ch_i * h * w..(ch_i + 1) * h * w];
                let dst = &mut crop[ch_i * ch * cw..(ch_i + 1) * ch * cw];
                for row in 0..ch {
                    let sy = oy + row as isize;
                    if sy < 0 || sy >= h as isize || x0 >= x1 {
                        continue;
                    }
                    let sy = sy as usize;
                    let src_x = (ox + x0 as isize) as usize;
                    dst[row * cw + x0..row * cw + x1]
                        .copy_from_slice(&plane[sy * w + src_x..sy * w + src_x + (x1 - x0)]);
                    // The patch's part of this row, if any.
                    if sy >= r.y && sy < r.y + r.h {
                        let lo = (r.x as isize).max(ox + x0 as isize);
                        let hi = ((r.x + r.w) as isize).min(ox + x1 as isize);
                        if lo < hi {
                            let pr = &patch[(ch_i * ph + sy - r.y) * pw..];
                            let (plo, phi) =
                                ((lo - r.x as isize) as usize, (hi - r.x as isize) as usize);
                            let (dlo, dhi) = ((lo - ox) as usize, (hi - ox) as usize);
                            dst[row * cw + dlo..row * cw + dhi].copy_from_slice(&pr[plo..phi]);
                        }
                    }
                }
            }
        });
        Ok(out)
    }

    /// Bytes one copy needs at its largest step, for a rectangle of `h x w` (planned at
    /// the centre of the input, where footprints are largest): the batch-size guide.
    pub fn bytes_per_copy(&self, h: usize, w: usize) -> usize {
        let (ih, iw) = self.fwd.size();
        let mut rects = vec![Rect {
            y: (ih - h) / 2,
            x: (iw - w) / 2,
            h,
            w,
        }];
        let mut i = 0;
        let mut largest = 0;
        while let Some((next, _)) = self.plan(i, &rects) {
            let c_in = if i == 0 {
                self.fwd.trace().input.shape[1]
            } else {
                self.fwd.trace().shape(i - 1)[1]
            };
            let c_out = self.fwd.trace().shape(i)[1];
            let r = next[0];
            largest = largest.max(c_in * (r.h + 2) * (r.w + 2) * 9 + c_out * r.h * r.w);
            rects = next;
            i += 1;
        }
        // The rest runs whole: the input map and a few temporaries of each later layer.
        let model = self.fwd.model();
        let rest = (i.saturating_sub(1)..model.len())
            .map(|j| self.fwd.trace().shape(j).iter().product::<usize>())
            .max()
            .unwrap_or(0);
        4 * largest.max(4 * rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(y: usize, x: usize, h: usize, w: usize) -> Rect {
        Rect { y, x, h, w }
    }

    /// A 1-channel 3x3 "same" convolution, VGG's shape.
    fn vgg_conv() -> Op {
        let cfg = crate::model::ConvCfg::square(1, 1, 3, 1, 1).bias(true);
        Op::Conv(crate::model::ops::conv::Conv::new(cfg, vec![0.0; 9], Some(vec![0.0])).unwrap())
    }

    #[test]
    fn footprints_grow_by_the_halo_and_halve_at_pools() {
        let conv = vgg_conv();
        assert_eq!(footprint(&conv, r(3, 4, 2, 2), 8, 8), Some(r(2, 3, 4, 4)));
        assert_eq!(footprint(&conv, r(0, 6, 2, 2), 8, 8), Some(r(0, 5, 3, 3)));
        assert_eq!(
            footprint(&Op::Act(Activation::Relu), r(3, 4, 2, 2), 8, 8),
            Some(r(3, 4, 2, 2))
        );
        let pool = Op::MaxPool(PoolCfg::square(2, 2, 0));
        // A pool maps rows 3..5 to 1..3 (rows 2-3 -> 1, row 4 -> 2).
        assert_eq!(footprint(&pool, r(3, 4, 2, 2), 4, 4), Some(r(1, 2, 2, 1)));
        // Floor mode: the last odd row feeds no output; the footprint stays in the map.
        assert_eq!(footprint(&pool, r(4, 0, 1, 1), 2, 2), Some(r(1, 0, 1, 1)));
        assert_eq!(footprint(&Op::Adaptive((1, 1)), r(0, 0, 1, 1), 1, 1), None);
        // Shapes other than VGG's are not patched.
        assert_eq!(
            footprint(&Op::MaxPool(PoolCfg::square(3, 2, 1)), r(0, 0, 1, 1), 4, 4),
            None
        );
        assert_eq!(
            footprint(&Op::Act(Activation::Silu), r(0, 0, 1, 1), 4, 4),
            None
        );
    }

    #[test]
    fn each_copy_keeps_its_own_footprint_and_the_batch_the_largest_size() {
        // At the border a footprint is clipped: it stays clipped (no work outside it),
        // while the batch's block size is the largest footprint's.
        let conv = vgg_conv();
        let rects = [r(0, 0, 2, 2), r(3, 3, 2, 2)];
        let (fp, size) = footprints(&conv, &rects, 8, 8).unwrap();
        assert_eq!(fp, [r(0, 0, 3, 3), r(2, 2, 4, 4)]);
        assert_eq!(size, (4, 4));
    }
}
