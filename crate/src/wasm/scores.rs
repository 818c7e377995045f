//! The comparison view's binding: `Model.score` runs one method of the catalogue on an
//! image and scores its map by deletion and insertion ([`crate::faithfulness`], METHODS.md
//! "Which map to trust"), and on request by the sanity check's first step
//! ([`sanity::top_layer`]): one row of `convscope compare --json` with the map the page
//! draws. The page calls it once per method, so each tile shows as soon as it is ready.
//!
//! `progress(done, 1, stage)` hears this method's share of its work (below 1) with the
//! stage it is in, "map", "scores" or "sanity", then `(1, 1)` at the end; answering
//! `false` stops the run ("cancelled"). The sanity score is ranked against the map just
//! made, so only the randomised model runs again, its batches on the same bar.

use std::cell::Cell;

use js_sys::{Float32Array, Float64Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::attribute::{kind_of, Chosen};
use super::probes::with;
use super::progress::JsProgress;
use super::{js_err, to_js, Input, Model};
use crate::faithfulness::score::Scores;
use crate::faithfulness::Metric;
use crate::methods::{sanity, Forward, Target};
use crate::predict::softmax;

/// Where a run is, and the share of the method's progress bar each stage covers (a
/// guess: on the embedded model the map and its curves take about as long).
#[derive(Clone, Copy)]
enum Stage {
    Map,
    Scores,
    Sanity,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Map => "map",
            Stage::Scores => "scores",
            Stage::Sanity => "sanity",
        }
    }

    /// The stage's span of the bar, `[from, to)`; without the sanity score the scores
    /// run to the end.
    fn span(self, sanity: bool) -> (f64, f64) {
        match (self, sanity) {
            (Stage::Map, _) => (0.0, 0.5),
            (Stage::Scores, false) => (0.5, 1.0),
            (Stage::Scores, true) => (0.5, 0.8),
            (Stage::Sanity, _) => (0.8, 1.0),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScoreMeta<'a> {
    method: &'a str,
    title: &'static str,
    /// "input", "layer" or "occlusion", as `Model.attribute` says.
    kind: &'static str,
    class: usize,
    label: String,
    /// The class's softmax probability on the unchanged image (the curves' first value).
    prob: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<String>,
    width: usize,
    height: usize,
    step: usize,
    deletion_auc: Option<f64>,
    insertion_auc: Option<f64>,
    /// `null` unless asked for.
    sanity: Option<f64>,
}

#[wasm_bindgen]
impl Model {
    /// Runs `method` (a name of the catalogue, with its `options` as for
    /// `Model.attribute`) on `input` of `shape` `[1, C, H, W]` for class `target`
    /// (default: the top class) and scores its map, one row per pixel row a step (the
    /// CLI's default). With `sanity`, also the Spearman correlation of its map with the
    /// map after re-initialising the top layer (seed 0, as `compare --sanity`). Answers
    /// `{method, title, kind, class, label, prob, layer? (methods at a layer), width,
    /// height, step, deletionAuc, insertionAuc, sanity (null unless asked), display:
    /// Float32Array (H * W in [0, 1], the single views' map), deletion, insertion:
    /// Float64Array (the curves, n + 1 probabilities each)}`.
    // attribute's arguments plus the sanity flag, positional as JS calls them.
    #[allow(clippy::too_many_arguments)]
    pub fn score(
        &self,
        method: &str,
        input: &Input,
        target: Option<u32>,
        options: JsValue,
        sanity: bool,
        progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let Chosen {
            choice,
            method: chosen,
            x,
            layer,
        } = self.choose(method, options, input)?;
        let js = JsProgress::new(progress);
        let stage = Cell::new(Stage::Map);
        // Every report, the method's batches and the curves' images alike, as a share of
        // this method's bar, with the stage's name for the page's words. It borrows only,
        // so it is Copy: the Forward gets one and the stage changes below call another.
        let report = |done: usize, total: usize| {
            let (from, to) = stage.get().span(sanity);
            let share = done as f64 / total.max(1) as f64;
            js.attach(vec![JsValue::from_str(stage.get().name())]);
            js.call((from + (to - from) * share).min(0.99), 1.0)
        };
        let fwd = Forward::for_method(&self.inner, &x, chosen.as_ref())
            .map_err(js_err)?
            .with_progress(report);
        let target = target.map_or(Target::Top, |c| Target::Class(c as usize));
        let class = fwd.class(target).map_err(js_err)?;
        let prob = softmax(&fwd.logits().map_err(js_err)?)
            .get(class)
            .map_or(f64::NAN, |&p| p as f64);
        js.finish(report(0, 1))?;
        let result = js.finish(chosen.attribute(&fwd, class))?;
        let size = fwd.size();
        let display = result.display(size).map_err(js_err)?;
        stage.set(Stage::Scores);
        js.finish(report(0, 1))?;
        let scores = js.finish(Scores::of(&fwd, &result, class, &Metric::ALL, None))?;
        drop(fwd);
        let sanity = if sanity {
            stage.set(Stage::Sanity);
            js.finish(report(0, 1))?;
            // Against the map just made, on the randomised model only; the stage's bar
            // moves with the method's batches there.
            let spearman =
                sanity::top_layer(&self.inner, &x, &*chosen, class, &display, 0, &report);
            Some(js.finish(spearman)?)
        } else {
            None
        };
        js.end()?;

        let meta = to_js(&ScoreMeta {
            method,
            title: choice.spec.title,
            kind: kind_of(&result),
            class,
            label: self.label(class),
            prob,
            layer,
            width: size.1,
            height: size.0,
            step: scores.step,
            deletion_auc: scores.auc(Metric::Deletion),
            insertion_auc: scores.auc(Metric::Insertion),
            sanity,
        })?;
        let curve = |metric: Metric| -> JsValue {
            scores.curve(metric).map_or(JsValue::NULL, |c| {
                Float64Array::from(c.scores.as_slice()).into()
            })
        };
        let out = with(
            meta,
            "display",
            Float32Array::from(display.as_slice()).into(),
        )?;
        let out = with(out, "deletion", curve(Metric::Deletion))?;
        with(out, "insertion", curve(Metric::Insertion))
    }
}
