//! Occlusion (Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks",
//! 2014): cover one window of the input at a time with `fill` (all channels, in normalised
//! space: 0 is the dataset's mean colour) and record how much the class score drops.
//! Windows start at multiples of `stride` and lie fully inside the image, so the grid is
//! `((H - window) / stride + 1, (W - window) / stride + 1)`. The occluded copies run in
//! batches through [`Incremental`], which recomputes only what each window can change.
//!
//! Besides the drops, the grid keeps the occluded probabilities for the tutorial's views
//! (the heatmap of the class probability with each window covered, as plotted with
//! `vmax` = the unoccluded probability, and the mask of windows whose probability falls
//! below a share of it, the option `mask-threshold`).

use super::catalogue::{DefaultValue, Kind, Max, MethodSpec, OptionSpec};
use super::incremental::{Incremental, Rect};
use super::{batch_size, head_logits, Attribution, Forward, Method};
use crate::error::{Error, Result};
use crate::predict::softmax;
use candle_core::{Device, Tensor};

/// Window and stride refuse 0 alike.
const AT_LEAST_A_PIXEL: Option<&str> =
    Some("occlusion window and stride must be at least {min} pixel, got {option} {value}");

pub const METHOD: MethodSpec = MethodSpec {
    name: "occlusion",
    title: "Occlusion",
    about: "How much the class score drops when a window of the image is covered, window by window (Zeiler and Fergus 2014).",
    order: 90,
    layer: false,
    options: &[
        OptionSpec {
            name: "window",
            kind: Kind::Int { min: 1, max: Max::InputSide },
            default: DefaultValue::Described("a 16th of the input's side, at least 4 px"),
            unit: "px",
            help: "side of the square window covered",
            below_min: AT_LEAST_A_PIXEL,
        },
        OptionSpec {
            name: "stride",
            kind: Kind::Int { min: 1, max: Max::Unbounded },
            default: DefaultValue::Described("the window"),
            unit: "px",
            help: "step from one window to the next",
            below_min: AT_LEAST_A_PIXEL,
        },
        OptionSpec {
            name: "fill",
            kind: Kind::Float { min: None },
            default: DefaultValue::Float(0.0),
            unit: "",
            help: "value of the covered pixels after normalisation (0 = the dataset's mean colour)",
            below_min: None,
        },
        OptionSpec {
            name: "score",
            kind: Kind::Choice(&Score::NAMES),
            default: DefaultValue::Choice("logit"),
            unit: "",
            help: "whose drop is measured: the class logit or its softmax probability",
            below_min: None,
        },
        OptionSpec {
            name: "mask-threshold",
            kind: Kind::Float { min: Some(0.0) },
            default: DefaultValue::Float(0.85),
            unit: "",
            help: "the mask keeps the windows whose covering leaves the class less than this share of its unoccluded probability",
            below_min: None,
        },
    ],
    build: |args| {
        let (h, w) = args.input;
        let window = args.count_or("window", || default_window(h.min(w)))?;
        Ok(Box::new(Occlusion {
            window,
            stride: args.count_or("stride", || window)?,
            fill: args.float("fill")? as f32,
            score: Score::parse(args.choice("score")?)?,
            threshold: args.float("mask-threshold")? as f32,
        }))
    },
};

/// Occlusion's default window: a 16th of the input (14 px at 224, a 16x16 grid), but at
/// least 4 pixels (or the whole input, if smaller): a 1-pixel window over a 28-pixel
/// Fashion-MNIST image covers too little to move any class.
pub fn default_window(size: usize) -> usize {
    (size / 16).max(4).min(size.max(1))
}

/// Which score the drop is measured in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Score {
    /// The raw logit of the class.
    Logit,
    /// Its softmax probability.
    Prob,
}

impl Score {
    /// The names of [`Score::Logit`] and [`Score::Prob`].
    pub const NAMES: [&'static str; 2] = ["logit", "prob"];

    pub fn parse(s: &str) -> Result<Score> {
        match s {
            "logit" => Ok(Score::Logit),
            "prob" => Ok(Score::Prob),
            other => Err(Error::Input(format!(
                "unknown occlusion score `{other}`; use logit or prob"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// Options: see [`METHOD`].
#[derive(Clone, Copy, Debug)]
pub struct Occlusion {
    /// Side of the square window, in input pixels.
    pub window: usize,
    pub stride: usize,
    /// The value written into every channel of the window (normalised space).
    pub fill: f32,
    pub score: Score,
    /// The mask's share of the unoccluded probability ([`OcclusionGrid::mask`]).
    pub threshold: f32,
}

/// The ways to look at a sweep: the drops (the attribution), the tutorial's heatmap of
/// occluded probabilities, or its mask of the windows the class depends on.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum View {
    #[default]
    Drop,
    Prob,
    /// Windows whose occluded probability is below the grid's threshold share of the
    /// unoccluded one.
    Mask,
}

impl View {
    /// `drop`, `prob` or `mask`.
    pub fn parse(name: &str) -> Result<View> {
        match name {
            "drop" => Ok(View::Drop),
            "prob" => Ok(View::Prob),
            "mask" => Ok(View::Mask),
            other => Err(Error::Input(format!(
                "unknown occlusion view `{other}`; use drop, prob or mask"
            ))),
        }
    }
}

/// The result of an occlusion sweep over a `rows x cols` grid of windows.
#[derive(Clone, Debug)]
pub struct OcclusionGrid {
    pub rows: usize,
    pub cols: usize,
    pub window: usize,
    pub stride: usize,
    /// Input height and width.
    pub size: (usize, usize),
    pub score: Score,
    /// The mask's share of the unoccluded probability.
    pub threshold: f32,
    /// Logit and probability of the class without occlusion.
    pub base_logit: f32,
    pub base_prob: f32,
    /// Logit and probability of the class with each window covered, row-major.
    pub logits: Vec<f32>,
    pub probs: Vec<f32>,
}

impl OcclusionGrid {
    /// `score(x) - score(x occluded)` per window, in the chosen score.
    pub fn drops(&self) -> Vec<f32> {
        match self.score {
            Score::Logit => self.logits.iter().map(|v| self.base_logit - v).collect(),
            Score::Prob => self.probs.iter().map(|v| self.base_prob - v).collect(),
        }
    }

    /// The tutorial's normalised heatmap: each window's occluded probability as a share
    /// of the unoccluded one (1 = covering it changes nothing).
    pub fn relative_probs(&self) -> Vec<f32> {
        let base = self.base_prob.max(f32::MIN_POSITIVE);
        self.probs.iter().map(|p| p / base).collect()
    }

    /// The tutorial's mask: 1 for windows whose relative probability is below the
    /// threshold (the regions the class depends on), 0 elsewhere.
    pub fn mask(&self) -> Vec<f32> {
        self.relative_probs()
            .iter()
            .map(|p| (*p < self.threshold) as u8 as f32)
            .collect()
    }

    /// The grid a view shows: drops, occluded probabilities, or the 0/1 mask.
    pub fn view(&self, view: View) -> Vec<f32> {
        match view {
            View::Drop => self.drops(),
            View::Prob => self.probs.clone(),
            View::Mask => self.mask(),
        }
    }

    /// The view per pixel in [0, 1]: drops with negative ones (covering helped the class)
    /// as 0, min-max normalised; probabilities as a share of the unoccluded one (the
    /// tutorial's colour scale, `vmax` = that probability), clipped; the mask as 0/1.
    pub fn display(&self, view: View) -> Vec<f32> {
        match view {
            View::Drop => {
                let mut m = self.to_pixels(&self.drops());
                super::steps::relu(&mut m);
                super::steps::min_max(&m)
            }
            View::Prob => {
                let rel = self.relative_probs();
                self.to_pixels(&rel)
                    .iter()
                    .map(|v| v.clamp(0.0, 1.0))
                    .collect()
            }
            View::Mask => self.to_pixels(&self.mask()),
        }
    }

    /// A grid as a `[rows, cols]` tensor.
    pub fn tensor(&self, grid: Vec<f32>) -> Result<Tensor> {
        Ok(Tensor::from_vec(
            grid,
            (self.rows, self.cols),
            &Device::Cpu,
        )?)
    }

    /// A per-pixel map of a grid, as captum's `Occlusion` spreads it: each pixel gets the
    /// mean value of the windows covering it (0 where none does). `H * W` values.
    pub fn to_pixels(&self, grid: &[f32]) -> Vec<f32> {
        let (h, w) = self.size;
        let (mut sum, mut count) = (vec![0f64; h * w], vec![0u32; h * w]);
        for r in 0..self.rows {
            for c in 0..self.cols {
                let (y, x) = (r * self.stride, c * self.stride);
                for yy in y..y + self.window {
                    for xx in x..x + self.window {
                        sum[yy * w + xx] += grid[r * self.cols + c] as f64;
                        count[yy * w + xx] += 1;
                    }
                }
            }
        }
        sum.iter()
            .zip(&count)
            .map(|(s, n)| if *n > 0 { (s / *n as f64) as f32 } else { 0.0 })
            .collect()
    }
}

impl Occlusion {
    /// The windows' top-left corners as a `rows x cols` grid, checked against the input.
    fn windows(&self, (h, w): (usize, usize)) -> Result<(usize, usize)> {
        METHOD.check("window", self.window, (h, w))?;
        METHOD.check("stride", self.stride, (h, w))?;
        METHOD.check("fill", self.fill, (h, w))?;
        METHOD.check("mask-threshold", self.threshold, (h, w))?;
        let (rows, cols) = (
            (h - self.window) / self.stride + 1,
            (w - self.window) / self.stride + 1,
        );
        crate::limits::check_passes(
            rows.saturating_mul(cols),
            &format!(
                "occlusion with window {} and stride {} on the {h}x{w} input ({rows}x{cols} windows)",
                self.window, self.stride
            ),
            "use a larger stride or window",
        )?;
        Ok((rows, cols))
    }

    pub fn grid(&self, fwd: &Forward, class: usize) -> Result<OcclusionGrid> {
        let size = fwd.size();
        let (rows, cols) = self.windows(size)?;
        let base = fwd.logits()?;
        let rects: Vec<Rect> = (0..rows * cols)
            .map(|i| Rect {
                y: (i / cols) * self.stride,
                x: (i % cols) * self.stride,
                h: self.window,
                w: self.window,
            })
            .collect();
        let engine = Incremental::new(fwd);
        let batch = batch_size(engine.bytes_per_copy(self.window, self.window));
        let mut features = Vec::with_capacity(rects.len().div_ceil(batch));
        for (i, chunk) in rects.chunks(batch).enumerate() {
            fwd.report(i * batch, rects.len())?;
            features.push(engine.features(chunk, self.fill)?);
        }
        let (mut logits, mut probs) = (Vec::new(), Vec::new());
        for row in head_logits(fwd.model(), &features)? {
            logits.push(row[class]);
            probs.push(softmax(&row)[class]);
        }
        Ok(OcclusionGrid {
            rows,
            cols,
            window: self.window,
            stride: self.stride,
            size,
            score: self.score,
            threshold: self.threshold,
            base_logit: base[class],
            base_prob: softmax(&base)[class],
            logits,
            probs,
        })
    }
}

impl Method for Occlusion {
    fn attribute(&self, fwd: &Forward, class: usize) -> Result<Attribution> {
        Ok(Attribution::Occlusion(self.grid(fwd, class)?))
    }
}

#[cfg(test)]
mod tests {
    use super::default_window;

    #[test]
    fn occlusion_window_is_a_sixteenth_of_the_input_but_at_least_4_pixels() {
        // (input side, window); never more than the input.
        for (side, window) in [(224, 14), (384, 24), (32, 4), (28, 4), (3, 3)] {
            assert_eq!(default_window(side), window, "input of side {side}");
        }
    }
}
