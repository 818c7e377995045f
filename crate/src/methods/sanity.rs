//! Model-parameter randomisation test (Adebayo et al., "Sanity Checks for Saliency Maps",
//! NeurIPS 2018), cascading from the top: re-initialise the layers one by one from the
//! logits down to the first convolution, recompute the map after each step, and report
//! the Spearman rank correlation of its display map with the original one. A method whose
//! map barely changes while the model is destroyed is explaining the image, not the model.

use super::catalogue::{CheckRun, CheckSpec, Choice, DefaultValue, Kind, Max, OptionSpec, Report};
use super::steps::spearman;
use super::{Forward, Method, Target};
use crate::error::{Error, Result};
use crate::model::ops::{Op, Params};
use crate::model::Graph;
use crate::progress::Progress;
use crate::rng::Rng;
use candle_core::Tensor;
use serde::Serialize;
use std::collections::HashMap;

pub const CHECK: CheckSpec = CheckSpec {
    name: "sanity",
    title: "Sanity check",
    about: "The model's layers re-initialised from the top, one more at each step, and the Spearman rank correlation of the method's map with the original after each (Adebayo et al. 2018): a map that hardly changes explains the image, not the model.",
    order: 10,
    options: &[OptionSpec {
        name: "init-seed",
        kind: Kind::Int { min: 0, max: Max::Unbounded },
        default: DefaultValue::Int(0),
        unit: "",
        help: "seed of the re-initialised weights (the same seed, the same randomised models)",
        below_min: None,
    }],
    run: |run: &CheckRun| {
        let report = cascading(
            run.model,
            run.input,
            run.method,
            run.target,
            run.args.whole("init-seed")?,
            run.progress,
        )?;
        Ok(Report {
            json: serde_json::to_value(&report)
                .map_err(|e| Error::Input(format!("cannot encode the sanity report: {e}")))?,
            text: report.text(),
        })
    },
};

/// The map after re-initialising every parameterised layer from the top through `layer`.
#[derive(Clone, Debug, Serialize)]
pub struct SanityStep {
    pub layer: String,
    /// Spearman rank correlation with the original display map (1 = unchanged ranking).
    pub spearman: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SanityReport {
    pub method: String,
    pub class: usize,
    pub seed: u64,
    pub steps: Vec<SanityStep>,
}

impl SanityReport {
    /// The report as a table for a terminal.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{} of class {}: Spearman rank correlation with the original map\nre-initialised from the top through\n",
            self.method, self.class
        );
        for step in &self.steps {
            out.push_str(&format!("  {:<14} {:>7.3}\n", step.layer, step.spearman));
        }
        out
    }
}

/// New tensors of a convolution's or linear layer's shapes, drawn uniformly from
/// `+-sqrt(6 / fan_in)` (weights) and `+-1 / sqrt(fan_in)` (biases), the ranges of the
/// fixtures' generator (Kaiming-uniform), so a re-initialised layer keeps the
/// activations' scale. `None` for nodes without such weights (norms keep theirs).
fn reinitialised(op: &Op, rng: &mut Rng) -> Option<Params> {
    let (weight, bias, out) = match op {
        Op::Conv(c) => (&c.weight, c.bias.as_ref(), c.cfg.out_channels),
        Op::Linear { weight, bias, .. } => (weight, Some(bias), bias.len()),
        _ => return None,
    };
    let fan_in = weight.len() / out.max(1);
    let mut draw = |n: usize, bound: f64| -> Vec<f32> {
        (0..n)
            .map(|_| ((2.0 * rng.uniform() - 1.0) * bound) as f32)
            .collect()
    };
    let mut params = vec![draw(weight.len(), (6.0 / fan_in as f64).sqrt())];
    if let Some(b) = bias {
        params.push(draw(b.len(), 1.0 / (fan_in as f64).sqrt()));
    }
    Some(params)
}

/// Runs the cascading randomisation for `method` on the image `x`. The class is
/// fixed from the original model (as in the paper), and the layers are drawn from one
/// [`Rng`] seeded with `seed`, top first, so a seed names the same randomised models.
/// `progress` hears `(maps done, maps)` before each map (the original's, then one per
/// re-initialised layer).
pub fn cascading(
    model: &Graph,
    x: &Tensor,
    method: &Choice,
    target: Target,
    seed: u64,
    progress: &dyn Progress,
) -> Result<SanityReport> {
    let name = method.spec.name;
    let method = method.build_for(model, x)?;
    let maps = 1 + (0..model.len())
        .filter(|&node| matches!(model.op(node), Op::Conv(_) | Op::Linear { .. }))
        .count();
    progress.report(0, maps)?;
    let fwd = Forward::for_method(model, x, &*method)?;
    let class = fwd.class(target)?;
    let original = method.attribute(&fwd, class)?.display(fwd.size())?;
    drop(fwd);
    let on_step = |k: usize| progress.report(1 + k, maps);
    let steps = randomised(
        model,
        x,
        &*method,
        (class, &original),
        seed,
        usize::MAX,
        (&on_step, &crate::progress::Unwatched),
    )?;
    Ok(SanityReport {
        method: name.to_string(),
        class,
        seed,
        steps,
    })
}

/// The first step of [`cascading`] alone, for a map already made: the Spearman
/// correlation of `original` (the method's display map of `x` for `class` on `model`)
/// with its map after re-initialising the top layer (the logits' layer). The score a
/// comparison of methods shows: near 1, the map ignores what the model learned there.
/// `progress` hears the method's own batches on the randomised model.
pub fn top_layer(
    model: &Graph,
    x: &Tensor,
    method: &dyn Method,
    class: usize,
    original: &[f32],
    seed: u64,
    progress: &dyn Progress,
) -> Result<f64> {
    let on_step = |_: usize| progress.report(0, 1);
    let steps = randomised(model, x, method, (class, original), seed, 1, (&on_step, progress))?;
    steps
        .first()
        .map(|s| s.spearman)
        .ok_or_else(|| Error::Input("the model has no layer with weights to re-initialise".into()))
}

/// The steps of the cascade through the top `depth` parameterised layers: each layer
/// re-initialised in turn (drawn from one [`Rng`] of `seed`, top first), the method's map
/// recomputed for `class` and ranked against `original`. `on_step(k)` is called before
/// step `k`; `batches` hears the method's own batches on each randomised model.
fn randomised(
    model: &Graph,
    x: &Tensor,
    method: &dyn Method,
    (class, original): (usize, &[f32]),
    seed: u64,
    depth: usize,
    (on_step, batches): (&dyn Fn(usize) -> Result<()>, &dyn Progress),
) -> Result<Vec<SanityStep>> {
    let mut rng = Rng::new(seed);
    let mut replaced = HashMap::new();
    let mut steps = Vec::new();
    for node in (0..model.len()).rev() {
        if steps.len() == depth {
            break;
        }
        let Some(params) = reinitialised(model.op(node), &mut rng) else {
            continue;
        };
        on_step(steps.len())?;
        let shaped = model.param_shapes(node).into_iter().zip(params).collect();
        replaced.insert(model.name(node).to_string(), shaped);
        let randomised = model.with_params(&replaced)?;
        let fwd = Forward::for_method(&randomised, x, method)?
            .with_progress(|d, t| batches.report(d, t));
        let map = method.attribute(&fwd, class)?.display(fwd.size())?;
        steps.push(SanityStep {
            layer: model.name(node).to_string(),
            spearman: spearman(original, &map),
        });
    }
    Ok(steps)
}
