//! Attribution methods: which input pixels, or which places in a layer, made the model
//! give its score to a class.
//!
//! The shape follows the libraries people check their maps with: captum's one verb,
//! [`Method::attribute`]`(forward, class)`, and pytorch-grad-cam's `BaseCAM`, where a
//! class-activation method only supplies channel weights ([`cam`]). Every method runs
//! on one shared [`Forward`] pass, so several methods on one image pay for one forward
//! pass. The steps they share (ReLU, min-max, resizing, display maps) live once in
//! [`steps`]. Each method's file also describes it for the [`catalogue`], through which
//! the CLI and the page choose a method by name with options. Definitions and
//! tolerances: docs/METHODS.md.

pub mod cam;
pub mod catalogue;
pub mod incremental;
pub mod steps;
// One module per file that defines a method or a check (saliency.rs, grad_cam.rs,
// occlusion.rs, sanity.rs, ...), declared by crate/build.rs: see catalogue.rs.
include!(concat!(env!("OUT_DIR"), "/catalogue_modules.rs"));

pub use catalogue::{build, choose, Choice, Options};
pub use occlusion::{OcclusionGrid, Score, View};

use crate::error::{Error, Result};
use crate::model::graph::{Src, Val};
use crate::model::{Graph, NodeId, ReluGrad, Stop, Trace};
use crate::progress::{Progress, Unwatched};
use candle_core::Tensor;

/// Which class's score to explain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// The class with the highest logit (the first one on ties), as pytorch-grad-cam.
    #[default]
    Top,
    Class(usize),
}

/// What a method returns.
#[derive(Debug)]
pub enum Attribution {
    /// `[C, H, W]`, the input's shape: saliency, guided backprop, integrated gradients,
    /// SmoothGrad, guided Grad-CAM. Signed.
    Input(Tensor),
    /// `[h, w]` at the chosen layer, not normalised: Grad-CAM, Grad-CAM++, Score-CAM.
    Layer(Tensor),
    /// The grid of score drops, with the tutorial's probability views.
    Occlusion(OcclusionGrid),
}

impl Attribution {
    /// The numbers a method computes: the `[C, H, W]` input map, the raw `[h, w]` layer
    /// map, or the `[rows, cols]` grid of score drops.
    pub fn raw(&self) -> Result<Tensor> {
        match self {
            Attribution::Input(t) | Attribution::Layer(t) => Ok(t.clone()),
            Attribution::Occlusion(g) => g.tensor(g.drops()),
        }
    }

    /// Input-sized numbers: input maps as they are; a layer map as pytorch-grad-cam's
    /// `[H, W]` output ([`steps::full_map`]); occlusion drops spread over the pixels each
    /// window covers (`[H, W]`, [`OcclusionGrid::to_pixels`]).
    pub fn full(&self, size: (usize, usize)) -> Result<Tensor> {
        let map = match self {
            Attribution::Input(t) => return Ok(t.clone()),
            Attribution::Layer(t) => {
                steps::full_map(&t.flatten_all()?.to_vec1()?, t.dims2()?, size)
            }
            Attribution::Occlusion(g) => g.to_pixels(&g.drops()),
        };
        Ok(Tensor::from_vec(map, size, &candle_core::Device::Cpu)?)
    }

    /// The `H * W` map in [0, 1] a person looks at: signed input maps as absolute value,
    /// channel maximum, clipped at the 99th percentile; layer maps as their full map;
    /// occlusion drops per pixel, negative drops (covering helped the class) as 0,
    /// min-max normalised.
    pub fn display(&self, size: (usize, usize)) -> Result<Vec<f32>> {
        match self {
            Attribution::Input(t) => Ok(steps::input_display(
                &t.flatten_all()?.to_vec1()?,
                t.dims()[0],
            )),
            Attribution::Layer(_) => Ok(self.full(size)?.flatten_all()?.to_vec1()?),
            Attribution::Occlusion(g) => Ok(g.display(occlusion::View::Drop)),
        }
    }
}

/// An attribution method: captum's `attribute(input, target)`, with the input's forward
/// pass already done.
pub trait Method {
    fn attribute(&self, fwd: &Forward, class: usize) -> Result<Attribution>;

    /// The node from which on the method reads the traced pass, where it reads nothing
    /// before it (the class-activation maps' layer): its pass is traced from there
    /// ([`Forward::for_method`]).
    fn reads_from(&self) -> Option<NodeId> {
        None
    }
}

/// Bytes a batched method may hold for one batch of copies (activations and their
/// temporaries); bounds memory natively and in the browser.
pub const BATCH_BYTES: usize = 256 << 20;

/// Copies per call of the classifier head when a method runs many (occlusion,
/// Score-CAM): enough that its weights are read once for many copies, while the head's
/// input stays small (VGG16's is 100 KB a copy).
const HEAD_BATCH: usize = 256;

/// Logits `[copies][classes]` of many copies from their features (the output of
/// [`Graph::features_end`], one tensor per batch, in order), the head run on at least
/// [`HEAD_BATCH`] copies a call (fewer only for the last).
pub fn head_logits(model: &Graph, features: &[Tensor]) -> Result<Vec<Vec<f32>>> {
    let mut rows = Vec::new();
    let mut group = Vec::new();
    for (k, f) in features.iter().enumerate() {
        group.push(f.clone());
        let copies: usize = group.iter().map(|t: &Tensor| t.dims()[0]).sum();
        if copies >= HEAD_BATCH || k + 1 == features.len() {
            let logits = model.head(Val::from_tensor(&Tensor::cat(&group, 0)?)?)?;
            rows.extend(logits.data.chunks(logits.shape[1]).map(<[f32]>::to_vec));
            group.clear();
        }
    }
    Ok(rows)
}

/// The output of the features ([`Graph::features_end`]) for a batch of inputs.
pub fn features(model: &Graph, xs: &Tensor) -> Result<Tensor> {
    model
        .forward_to(&Val::from_tensor(xs)?, model.features_end())?
        .to_tensor()
}

/// A gradient seed of the logits' shape: 1 at `target` in every batch row, 0 elsewhere.
pub fn one_hot(shape: &[usize], target: usize) -> Result<Vec<f32>> {
    let [n, classes] = shape else {
        return Err(Error::Input(format!(
            "logits of shape {shape:?} are not [N, classes]"
        )));
    };
    if target >= *classes {
        return Err(Error::Input(format!(
            "target class {target} is out of range: the model has {classes} classes (0..{})",
            classes - 1
        )));
    }
    let mut v = vec![0f32; n * classes];
    for row in 0..*n {
        v[row * classes + target] = 1.0;
    }
    Ok(v)
}

/// One forward pass of one image with every node's output kept. The methods reuse it:
/// saliency, guided backprop and the CAMs need no other pass, and occlusion reuses its
/// activations outside each window.
pub struct Forward<'m> {
    model: &'m Graph,
    trace: Trace,
    input: Tensor,
    /// Told `(done, total)` as a long method (occlusion, Score-CAM, SmoothGrad, IG)
    /// starts each batch; an `Err` (cancelled) stops the method with that error.
    progress: Box<dyn Progress + 'm>,
}

impl<'m> Forward<'m> {
    /// Runs `model` on `x` (`[1, C, H, W]`), keeping every node's output.
    pub fn new(model: &'m Graph, x: &Tensor) -> Result<Self> {
        Self::traced_from(model, x, None)
    }

    /// The pass `method` needs: traced only from the node it reads from where it says
    /// one ([`Method::reads_from`], [`Graph::trace_after`]), else [`Self::new`]'s.
    pub fn for_method(model: &'m Graph, x: &Tensor, method: &dyn Method) -> Result<Self> {
        Self::traced_from(model, x, method.reads_from())
    }

    /// `x`'s pass, traced from `start` on where given ([`Graph::trace_after`]).
    fn traced_from(model: &'m Graph, x: &Tensor, start: Option<NodeId>) -> Result<Self> {
        let v = model.one_image(x, |n| {
            format!("explanations take one image at a time, got a batch of {n}")
        })?;
        let out = model.output();
        let trace = match start {
            Some(start) => model.trace_after(&v, start, out)?,
            None => model.trace(&v, out)?,
        };
        Ok(Forward {
            model,
            trace,
            input: x.clone(),
            progress: Box::new(Unwatched),
        })
    }

    /// The same pass, reporting the progress of the methods run on it to `progress`.
    pub fn with_progress(mut self, progress: impl Progress + 'm) -> Self {
        self.progress = Box::new(progress);
        self
    }

    /// Reports `done` of `total` batches; the watcher's `Err` (cancelled) to stop.
    pub fn report(&self, done: usize, total: usize) -> Result<()> {
        self.progress.report(done, total)
    }

    pub fn model(&self) -> &'m Graph {
        self.model
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The input, `[1, C, H, W]`.
    pub fn input(&self) -> &Tensor {
        &self.input
    }

    /// Input height and width.
    pub fn size(&self) -> (usize, usize) {
        let d = &self.trace.input.shape;
        (d[2], d[3])
    }

    /// The value of node `node` (batch of one), computed now if the pass skipped it.
    pub fn value(&self, node: NodeId) -> Result<Val> {
        self.model.value(&self.trace, Src::Node(node))
    }

    /// Output of node `node` (batch of one).
    pub fn output(&self, node: NodeId) -> Result<Tensor> {
        self.value(node)?.to_tensor()
    }

    /// The logits of the image.
    pub fn logits(&self) -> Result<Vec<f32>> {
        Ok(self.value(self.model.output())?.data.to_vec())
    }

    /// The class index a [`Target`] names, checked against the model's classes.
    pub fn class(&self, target: Target) -> Result<usize> {
        let logits = self.logits()?;
        match target {
            Target::Top => {
                Ok(logits
                    .iter()
                    .enumerate()
                    .fold(0, |best, (i, v)| if *v > logits[best] { i } else { best }))
            }
            Target::Class(c) if c < logits.len() => Ok(c),
            Target::Class(c) => Err(Error::Input(format!(
                "target class {c} is out of range: the model has {} classes (0..{})",
                logits.len(),
                logits.len() - 1
            ))),
        }
    }

    fn seed(&self, class: usize) -> Result<Vec<f32>> {
        one_hot(self.trace.shape(self.model.output()), class)
    }

    /// `d logit[class] / d input`, `[1, C, H, W]`, with the given ReLU rule.
    pub fn input_gradient(&self, class: usize, relu: ReluGrad) -> Result<Tensor> {
        let g = self.model.backward(
            &self.trace,
            self.model.output(),
            self.seed(class)?,
            Stop::Input,
            relu,
        )?;
        g.to_tensor()
    }

    /// `d logit[class] / d (output of node)`, the output's shape.
    pub fn layer_gradient(&self, class: usize, node: NodeId) -> Result<Tensor> {
        let g = self.model.backward(
            &self.trace,
            self.model.output(),
            self.seed(class)?,
            Stop::Node(node),
            ReluGrad::Plain,
        )?;
        g.to_tensor()
    }

    /// Bytes of the kept outputs: what a traced copy of this image costs.
    pub fn trace_bytes(&self) -> usize {
        self.trace.bytes()
    }

    /// Bytes of the largest single activation.
    pub fn largest_activation_bytes(&self) -> usize {
        self.trace.largest_bytes()
    }
}

/// Copies per batch so that a batch of items of `item_bytes` stays within [`BATCH_BYTES`].
pub fn batch_size(item_bytes: usize) -> usize {
    (BATCH_BYTES / item_bytes.max(1)).max(1)
}

/// `d logit[class] / d x` for every row of a batch `xs` (`[B, C, H, W]`): the rows do not
/// interact, so one reverse pass of the summed scores gives each row its own gradient.
pub fn batch_input_gradient(
    model: &Graph,
    xs: &Tensor,
    class: usize,
    relu: ReluGrad,
) -> Result<Tensor> {
    let trace = model.trace(&Val::from_tensor(xs)?, model.output())?;
    let seed = one_hot(trace.shape(model.output()), class)?;
    model
        .backward(&trace, model.output(), seed, Stop::Input, relu)?
        .to_tensor()
}

/// Sum over rows of `weights[i] * d logit[class] / d inputs[i]`, the inputs made by
/// `make(i)` and run in batches that fit [`BATCH_BYTES`]: the shared loop of integrated
/// gradients and SmoothGrad. Returns `[1, C, H, W]`.
pub fn weighted_gradient_sum(
    fwd: &Forward,
    class: usize,
    weights: &[f64],
    mut make: impl FnMut(usize) -> Result<Tensor>,
) -> Result<Tensor> {
    let batch = batch_size(fwd.trace_bytes() * 2);
    let mut total = fwd.input().zeros_like()?;
    for start in (0..weights.len()).step_by(batch) {
        fwd.report(start, weights.len())?;
        let end = (start + batch).min(weights.len());
        let xs = (start..end).map(&mut make).collect::<Result<Vec<_>>>()?;
        let grads =
            batch_input_gradient(fwd.model(), &Tensor::cat(&xs, 0)?, class, ReluGrad::Plain)?;
        for (row, w) in weights[start..end].iter().enumerate() {
            total = (total + (grads.narrow(0, row, 1)? * *w)?)?;
        }
    }
    Ok(total)
}
