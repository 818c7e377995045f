//! Bindings of the attribution methods ([`crate::methods`]): one export for every method,
//! chosen by name through [`methods::build`], the place the CLI chooses them too.
//!
//! The methods have no progress hook in the core, so `progress(done, total)` is called
//! once before the run (0 of 1) and once after it (1 of 1); answering `false` to the
//! first call stops before any work. The page cancels a long run by ending its worker.

use js_sys::Float32Array;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::probes::{options_from, with};
use super::progress::JsProgress;
use super::{flat, input_tensor, js_err, to_js, Model};
use crate::methods::cam::layer_for_cam;
use crate::methods::{self, Attribution, Forward, Options, Score, Target};

/// The share of the unoccluded probability under which a window counts as needed (the
/// tutorial's mask).
const MASK_THRESHOLD: f32 = 0.85;

/// `options` of [`Model::attribute`]: the fields of [`methods::Options`]; a method refuses
/// the ones it does not take (by `methods::build`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct AttributeArgs {
    layer: Option<String>,
    steps: Option<usize>,
    samples: Option<usize>,
    noise: Option<f32>,
    seed: Option<u64>,
    window: Option<usize>,
    stride: Option<usize>,
    fill: Option<f32>,
    score: Option<String>,
}

impl AttributeArgs {
    const KEYS: &[&str] = &[
        "layer", "steps", "samples", "noise", "seed", "window", "stride", "fill", "score",
    ];

    fn options(self) -> Result<Options, JsError> {
        Ok(Options {
            layer: self.layer,
            steps: self.steps,
            samples: self.samples,
            noise: self.noise,
            seed: self.seed,
            window: self.window,
            stride: self.stride,
            fill: self.fill,
            score: self
                .score
                .as_deref()
                .map(Score::parse)
                .transpose()
                .map_err(js_err)?,
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttributeMeta<'a> {
    method: &'a str,
    class: usize,
    label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<String>,
    raw_shape: &'a [usize],
    width: usize,
    height: usize,
}

#[derive(Serialize)]
struct OcclusionMeta {
    rows: usize,
    cols: usize,
    window: usize,
    stride: usize,
    #[serde(rename = "baseProb")]
    base_prob: f32,
    threshold: f32,
}

#[wasm_bindgen]
impl Model {
    /// Runs the attribution method `method` (a name of `methods::METHOD_NAMES`) on the
    /// image `input` of `shape` `[1, C, H, W]` for class `target` (default: the top
    /// class). `options`: `{layer?, steps?, samples?, noise?, seed?, window?, stride?,
    /// fill?, score?: "logit"|"prob"}`, each only for the methods that take it. Answers
    /// `{method, class, label, layer? (CAM methods), raw: Float32Array, rawShape ([C, H,
    /// W] or [h, w], or [rows, cols] for occlusion), display: Float32Array (H * W in [0,
    /// 1]), width, height}`; occlusion adds `{grid (the drops, = raw), rows, cols,
    /// window, stride, baseProb, threshold, probs (occluded probability as a share of the
    /// unoccluded one, per window), mask (H * W, 1 where that share is below 0.85)}`.
    pub fn attribute(
        &self,
        method: &str,
        input: &[f32],
        shape: Vec<usize>,
        target: Option<u32>,
        options: JsValue,
        progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let args: AttributeArgs = options_from(options, "attribute options", AttributeArgs::KEYS)?;
        let options = args.options()?;
        let chosen = methods::build(method, &self.inner, &options).map_err(js_err)?;
        // The methods that work at a layer (the CAMs) name the one they used.
        let layer = if methods::select::takes(method).contains(&"layer") {
            let idx = layer_for_cam(&self.inner, options.layer.as_deref()).map_err(js_err)?;
            Some(self.inner.layers()[idx].name.clone())
        } else {
            None
        };
        let x = input_tensor(input, shape)?;
        let js = JsProgress::new(progress);
        // Batched methods report each batch (a bar that moves during occlusion), as a
        // share kept below 1: the page says "drawing" at 1.
        let batches =
            |done: usize, total: usize| js.call((done as f64 / total.max(1) as f64).min(0.99), 1.0);
        let fwd = Forward::new(&self.inner, &x)
            .map_err(js_err)?
            .with_progress(batches);
        let target = target.map_or(Target::Top, |c| Target::Class(c as usize));
        let class = fwd.class(target).map_err(js_err)?;
        js.finish(js.call(0.0, 1.0))?;
        let result = js.finish(chosen.attribute(&fwd, class))?;
        let size = fwd.size();
        let raw = result.raw().map_err(js_err)?;
        let display = result.display(size).map_err(js_err)?;
        js.end()?;

        let label = self
            .card
            .labels()
            .get(class)
            .cloned()
            .unwrap_or_else(|| format!("class {class}"));
        let meta = to_js(&AttributeMeta {
            method,
            class,
            label,
            layer,
            raw_shape: raw.dims(),
            width: size.1,
            height: size.0,
        })?;
        let raw = Float32Array::from(flat(&raw)?.as_slice());
        let out = with(meta, "raw", raw.clone().into())?;
        let out = with(
            out,
            "display",
            Float32Array::from(display.as_slice()).into(),
        )?;
        let Attribution::Occlusion(grid) = &result else {
            return Ok(out);
        };
        let extra = to_js(&OcclusionMeta {
            rows: grid.rows,
            cols: grid.cols,
            window: grid.window,
            stride: grid.stride,
            base_prob: grid.base_prob,
            threshold: MASK_THRESHOLD,
        })?;
        js_sys::Object::assign(
            out.unchecked_ref::<js_sys::Object>(),
            extra.unchecked_ref::<js_sys::Object>(),
        );
        let out = with(out, "grid", raw.into())?;
        let out = with(
            out,
            "probs",
            Float32Array::from(grid.relative_probs().as_slice()).into(),
        )?;
        with(
            out,
            "mask",
            Float32Array::from(grid.display(methods::View::Mask(MASK_THRESHOLD)).as_slice()).into(),
        )
    }
}

#[wasm_bindgen]
impl Model {
    /// The sanity check (`methods::sanity::cascading`, Adebayo et al. 2018): the layers
    /// re-initialised from the top one by one (drawn from `seed`), and the Spearman rank
    /// correlation of `method`'s display map with the original after each. `options` as
    /// for [`Model::attribute`]. Answers `{method, class, seed, steps: [{layer,
    /// spearman}]}`; progress 0 before and 1 after (no hook in the core).
    pub fn sanity(
        &self,
        method: &str,
        input: &[f32],
        shape: Vec<usize>,
        target: Option<u32>,
        options: JsValue,
        seed: u32,
        progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let args: AttributeArgs = options_from(options, "sanity options", AttributeArgs::KEYS)?;
        let options = args.options()?;
        let x = input_tensor(input, shape)?;
        let target = target.map_or(Target::Top, |c| Target::Class(c as usize));
        let js = JsProgress::new(progress);
        let result = js.finish(methods::sanity::cascading(
            &self.inner,
            &x,
            method,
            &options,
            target,
            u64::from(seed),
            &js,
        ))?;
        js.end()?;
        to_js(&result)
    }
}
