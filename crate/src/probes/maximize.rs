//! Activation maximization (Erhan et al. 2009, "Visualizing Higher-Layer Features of a
//! Deep Network"), with the priors of Olah et al. 2017, "Feature Visualization": gradient
//! ascent on the input picture to raise a class logit or a channel's mean activation.
//!
//! The forward pass stops at the objective's layer and the gradient comes from the
//! core's reverse pass ([`Graph::backward`]), never candle's autograd (wrong through max
//! pooling, see docs/METHODS.md). Several units are optimised at once as one batch.

use super::image_param::ImageParam;
use super::regularizers;
use super::tiles::TileGrid;
use crate::error::{Error, Result};
use crate::image::{Preprocessing, CAFFE_MEAN_BGR};
use crate::model::graph::Val;
use crate::model::{Graph, ReluGrad, Stop};
use crate::progress::Progress;
use crate::rng::Rng;
use serde::Serialize;

/// Largest picture side we optimise (the reverse pass keeps every activation).
pub const MAX_SIZE: usize = 512;
/// Most units in one batch.
pub const MAX_UNITS: usize = 64;

/// What to raise: for a layer with vector output (the classifier, the logits) unit `i`
/// is output `i`; for feature maps (features.N, avgpool) unit `k` is channel `k`'s mean.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Objective {
    pub layer: String,
    pub units: Vec<usize>,
}

impl Objective {
    /// Class logits: units of the model's last layer.
    pub fn classes(model: &Graph, classes: Vec<usize>) -> Objective {
        let layer = model.name(model.output()).to_string();
        Objective {
            layer,
            units: classes,
        }
    }

    /// Mean activations of channels of `layer`.
    pub fn channels(layer: &str, channels: Vec<usize>) -> Objective {
        Objective {
            layer: layer.to_string(),
            units: channels,
        }
    }
}

/// How the model's input is made from a picture in [0, 1]:
/// `x[c] = (picture[c'] - mean[c]) / std[c]`, `c' = c` or, for BGR models, `2 - c`.
#[derive(Clone, Debug, PartialEq)]
pub struct InputSpace {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub bgr: bool,
}

impl InputSpace {
    /// The normalisation a model card's preprocessing applies after resizing.
    pub fn from_preprocessing(pre: &Preprocessing, channels: usize) -> Result<InputSpace> {
        let (mean, std, bgr) = match pre {
            Preprocessing::Torchvision { mean, std, .. }
            | Preprocessing::Scale { mean, std, .. } => (mean.clone(), std.clone(), false),
            // Caffe: x = 255 v - mean255 = (v - mean255 / 255) / (1 / 255).
            Preprocessing::Caffe { .. } => (
                CAFFE_MEAN_BGR.iter().map(|m| m / 255.0).collect(),
                vec![1.0 / 255.0],
                true,
            ),
        };
        let per_channel = |what: &str, v: Vec<f32>| match v.len() {
            1 => Ok(vec![v[0]; channels]),
            n if n == channels => Ok(v),
            n => Err(Error::Input(format!(
                "preprocessing {what} has {n} values for a {channels}-channel model"
            ))),
        };
        let space = InputSpace {
            mean: per_channel("mean", mean)?,
            std: per_channel("std", std)?,
            bgr: bgr && channels == 3,
        };
        if space.std.iter().any(|s| !s.is_finite() || *s == 0.0) {
            return Err(Error::Input(
                "preprocessing std must be finite and non-zero".into(),
            ));
        }
        Ok(space)
    }

    fn source(&self, c: usize) -> usize {
        if self.bgr {
            2 - c
        } else {
            c
        }
    }

    /// Pictures `[n, C, h, w]` in [0, 1] -> model input.
    fn normalise(&self, pictures: &[f32], plane: usize) -> Vec<f32> {
        self.reorder(pictures, plane, true, |ch, v| {
            (v - self.mean[ch]) / self.std[ch]
        })
    }

    /// The adjoint of [`Self::normalise`]: input gradient -> picture gradient.
    fn grad_to_pictures(&self, grad: &[f32], plane: usize) -> Vec<f32> {
        self.reorder(grad, plane, false, |ch, v| v / self.std[ch])
    }

    /// `values` (`[n, C, h, w]`) moved between the pictures' channel order and the
    /// model's (into the model's when `to_model`), each value `v` of model channel `ch`
    /// becoming `f(ch, v)`.
    fn reorder(
        &self,
        values: &[f32],
        plane: usize,
        to_model: bool,
        f: impl Fn(usize, f32) -> f32,
    ) -> Vec<f32> {
        let c = self.mean.len();
        let mut out = vec![0f32; values.len()];
        for (src, dst) in values
            .chunks_exact(c * plane)
            .zip(out.chunks_exact_mut(c * plane))
        {
            for ch in 0..c {
                let (from, to) = if to_model {
                    (self.source(ch), ch)
                } else {
                    (ch, self.source(ch))
                };
                let from = &src[from * plane..][..plane];
                for (d, v) in dst[to * plane..][..plane].iter_mut().zip(from) {
                    *d = f(ch, *v);
                }
            }
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MaximizeOptions {
    /// Picture side in pixels.
    pub size: usize,
    pub steps: usize,
    /// Adam's learning rate (lucid uses 0.05).
    pub lr: f32,
    pub seed: u64,
    /// Each step rolls the picture by up to this many pixels in x and y (tf-keras-vis'
    /// `Jitter`), so the result cannot rely on exact pixel positions.
    pub jitter: usize,
    /// Weight of the total-variation penalty (mean squared neighbour difference of the
    /// model input), against smooth-less noise.
    pub tv: f32,
    /// Weight of the L2 penalty (mean square of the model input), against extreme colours.
    pub l2: f32,
    /// Blur the picture every this many steps (0: never).
    pub blur_every: usize,
    /// Standard deviation of that blur, in pixels.
    pub blur_sigma: f32,
    /// Optimise lucid's decorrelated Fourier parameterisation instead of pixels.
    pub fourier: bool,
}

impl MaximizeOptions {
    /// Defaults for a model: its own input size up to 128 px (VGG16 runs at 128 to stay
    /// fast), 128 steps of Adam at lr 0.05, jitter of 1/16 of the side, no penalties.
    pub fn for_model(model: &Graph) -> MaximizeOptions {
        let min = model.spec().min_size();
        let size = model.arch().size.min(128).max(min);
        MaximizeOptions {
            size,
            steps: 128,
            lr: 0.05,
            seed: 0,
            jitter: size / 16,
            tv: 0.0,
            l2: 0.0,
            blur_every: 0,
            blur_sigma: 0.5,
            fourier: false,
        }
    }

    fn check(&self, model: &Graph) -> Result<()> {
        let min = model.spec().min_size();
        if self.size < min {
            return Err(Error::Input(format!(
                "image size {} is too small: {} needs at least {min} px",
                self.size,
                model.arch()
            )));
        }
        if self.size > MAX_SIZE {
            return Err(Error::Input(format!(
                "image size {} is over the limit of {MAX_SIZE} px",
                self.size
            )));
        }
        if self.jitter >= self.size {
            return Err(Error::Input(format!(
                "jitter {} must be smaller than the image size {}",
                self.jitter, self.size
            )));
        }
        for (name, v) in [("learning rate", self.lr), ("blur sigma", self.blur_sigma)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::Input(format!(
                    "{name} must be a positive number, got {v}"
                )));
            }
        }
        for (name, v) in [("tv weight", self.tv), ("l2 weight", self.l2)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::Input(format!(
                    "{name} must be zero or positive, got {v}"
                )));
            }
        }
        Ok(())
    }
}

/// What a step saw, shown to the watcher of [`maximize`] after every step (the page draws
/// the pictures live).
#[derive(Debug)]
pub struct Step<'a> {
    /// Steps done so far (1 after the first).
    pub step: usize,
    pub steps: usize,
    /// The objective of each unit at this step's (jittered) picture, before the update.
    pub objective: &'a [f32],
    /// The pictures evaluated at this step, `[units, C, size, size]` in [0, 1].
    pub pictures: &'a [f32],
}

#[derive(Clone, Debug, Serialize)]
pub struct Maximized {
    pub layer: String,
    pub units: Vec<usize>,
    /// Picture channels (3 = RGB, 1 = gray) and side.
    pub channels: usize,
    pub size: usize,
    /// Each unit's objective at the initial picture and at the final one (no jitter).
    pub objective_start: Vec<f32>,
    pub objective_end: Vec<f32>,
    /// Steps taken (fewer than asked when cancelled).
    pub steps: usize,
    pub cancelled: bool,
    /// `[units, C, size, size]` in [0, 1].
    #[serde(skip)]
    pub pictures: Vec<f32>,
}

impl Maximized {
    /// The pictures as a grid, one tile per unit, drawn as they are (0..1 is black..white).
    pub fn grid(&self) -> Result<TileGrid> {
        TileGrid::unscaled(
            format!("{} maximised, units {:?}", self.layer, self.units),
            self.pictures.clone(),
            self.units.clone(),
            [self.channels, self.size, self.size],
        )
    }
}

/// Adam (Kingma & Ba 2015), lucid's optimiser, taking steps up the gradient.
struct Adam {
    lr: f32,
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Adam {
    const B1: f32 = 0.9;
    const B2: f32 = 0.999;
    const EPS: f32 = 1e-8;

    fn new(lr: f32, n: usize) -> Adam {
        Adam {
            lr,
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    fn ascend(&mut self, params: &mut [f32], grad: &[f32]) {
        self.t += 1;
        let (c1, c2) = (1.0 - Self::B1.powi(self.t), 1.0 - Self::B2.powi(self.t));
        for (((p, g), m), v) in params
            .iter_mut()
            .zip(grad)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            *m = Self::B1 * *m + (1.0 - Self::B1) * g;
            *v = Self::B2 * *v + (1.0 - Self::B2) * g * g;
            *p += self.lr * (*m / c1) / ((*v / c2).sqrt() + Self::EPS);
        }
    }
}

/// The objective's layer index and its output per unit, checked against the model.
struct Target {
    layer: usize,
    units: Vec<usize>,
}

impl Target {
    fn new(model: &Graph, objective: &Objective, size: usize) -> Result<Target> {
        let layer = model.node(&objective.layer)?;
        if objective.units.is_empty() {
            return Err(Error::Input(
                "give at least one class or channel to maximise".into(),
            ));
        }
        if objective.units.len() > MAX_UNITS {
            return Err(Error::Input(format!(
                "{} units at once is over the limit of {MAX_UNITS}",
                objective.units.len()
            )));
        }
        let shape = model.spec().shapes((size, size))?[layer].clone();
        let count = shape.first().copied().unwrap_or(0);
        let (what, whats) = if layer == model.output() {
            ("class", "classes")
        } else if shape.len() == 1 {
            ("unit", "units")
        } else {
            ("channel", "channels")
        };
        if let Some(bad) = objective.units.iter().find(|u| **u >= count) {
            return Err(Error::Input(format!(
                "{what} {bad} is out of range: `{}` has {count} {whats} (0..{})",
                objective.layer,
                count.saturating_sub(1)
            )));
        }
        Ok(Target {
            layer,
            units: objective.units.clone(),
        })
    }

    /// Each unit's value in the layer output `out` (`[n, F]` or `[n, C, h, w]`), and the
    /// gradient of their sum with respect to `out`.
    fn score(&self, out: &Val) -> (Vec<f32>, Vec<f32>) {
        let dims = &out.shape;
        let (n, per_item) = (dims[0], dims[1..].iter().product::<usize>());
        let plane = per_item / dims[1];
        let values = &out.data;
        let mut seed = vec![0f32; values.len()];
        let mut scores = Vec::with_capacity(n);
        for (i, &unit) in self.units.iter().enumerate() {
            let start = i * per_item + unit * plane;
            let span = &values[start..start + plane];
            scores.push((span.iter().map(|v| *v as f64).sum::<f64>() / plane as f64) as f32);
            seed[start..start + plane].fill(1.0 / plane as f32);
        }
        (scores, seed)
    }
}

/// Gradient ascent on the pictures. After every step `watch` sees it, then `progress`
/// hears `(steps done, steps)`; if it answers [`Error::Cancelled`] the run stops and
/// answers the pictures so far, with `cancelled` set (other errors are returned).
pub fn maximize(
    model: &Graph,
    objective: &Objective,
    input: &InputSpace,
    opts: &MaximizeOptions,
    progress: &dyn Progress,
    mut watch: impl FnMut(&Step),
) -> Result<Maximized> {
    let spec = model.arch();
    opts.check(model)?;
    let c = spec.in_channels;
    if input.mean.len() != c {
        return Err(Error::Input(format!(
            "the input normalisation has {} channel(s), the model takes {c}",
            input.mean.len()
        )));
    }
    let target = Target::new(model, objective, opts.size)?;
    let (n, s) = (target.units.len(), opts.size);
    let plane = s * s;
    let as_val = |x: Vec<f32>| Val::new(x, vec![n, c, s, s]);
    let evaluate = |pictures: &[f32]| -> Result<Vec<f32>> {
        let x = as_val(input.normalise(pictures, plane));
        Ok(target.score(&model.forward_to(&x, target.layer)?).0)
    };

    let mut rng = Rng::new(opts.seed);
    let param = ImageParam::new(opts.fourier, n, c, s, s)?;
    let mut params = param.init(&mut rng);
    let mut adam = Adam::new(opts.lr, params.len());
    let objective_start = evaluate(&param.pictures(&params)?)?;
    let (mut steps, mut cancelled) = (0, false);
    while steps < opts.steps {
        let pictures = param.pictures(&params)?;
        let x = input.normalise(&pictures, plane);
        let j = opts.jitter as u64;
        let (dy, dx) = if j > 0 {
            let mut draw = || rng.below(2 * j + 1) as isize - j as isize;
            (draw(), draw())
        } else {
            (0, 0)
        };
        let trace = model.trace(&as_val(regularizers::roll(&x, s, s, dy, dx)), target.layer)?;
        let out = model.value(&trace, crate::model::graph::Src::Node(target.layer))?;
        let (scores, seed) = target.score(&out);
        let g = model.backward(&trace, target.layer, seed, Stop::Input, ReluGrad::Plain)?;
        drop(trace);
        let mut gx = regularizers::roll(&g.data, s, s, -dy, -dx);
        // Ascent on objective - tv * TV - l2 * L2: the penalties' gradients are subtracted.
        for (xi, gi) in x
            .chunks_exact(c * plane)
            .zip(gx.chunks_exact_mut(c * plane))
        {
            if opts.tv > 0.0 {
                regularizers::total_variation(xi, s, s, -opts.tv, gi);
            }
            if opts.l2 > 0.0 {
                regularizers::l2(xi, -opts.l2, gi);
            }
        }
        let grad = param.backward(&pictures, &input.grad_to_pictures(&gx, plane))?;
        adam.ascend(&mut params, &grad);
        steps += 1;
        if opts.blur_every > 0 && steps % opts.blur_every == 0 {
            param.blur(&mut params, opts.blur_sigma);
        }
        watch(&Step {
            step: steps,
            steps: opts.steps,
            objective: &scores,
            pictures: &pictures,
        });
        match progress.report(steps, opts.steps) {
            Ok(()) => {}
            Err(Error::Cancelled) => {
                cancelled = steps < opts.steps;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    let pictures = param.pictures(&params)?;
    let objective_end = evaluate(&pictures)?;
    Ok(Maximized {
        layer: objective.layer.clone(),
        units: target.units,
        channels: c,
        size: s,
        objective_start,
        objective_end,
        steps,
        cancelled,
        pictures,
    })
}
