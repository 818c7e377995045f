//! Bindings of the attribution methods and their checks ([`crate::methods`]), through
//! the method catalogue ([`crate::methods::catalogue`]): `catalogue()` answers it (the
//! page builds its menus and forms from it), `Model.attribute` runs a method chosen by
//! name and `Model.check` a check of one (the sanity check), their JS options objects
//! read against the catalogue, which refuses a bad value before any work with the words
//! the CLI uses.
//!
//! `progress(done, total)` is called with 0 of 1 before a method runs, with the share of
//! its batches done (below 1) for the batched methods, and with 1 of 1 at the end; a
//! check reports each of its steps. Answering `false` stops the run ("cancelled").

use js_sys::{Array, Float32Array, Object};
use serde::Serialize;
use serde_json::Value as Json;
use wasm_bindgen::prelude::*;

use super::probes::{message_of, with};
use super::progress::JsProgress;
use super::{flat, js_err, to_js, Input, Model};
use crate::methods::catalogue::{self, CheckRun, Kind, OptionSpec, Options, LAYER};
use crate::methods::{Attribution, Forward, Target, View};

/// The method catalogue, `convscope methods --json`'s object (see
/// `methods::catalogue::to_json`).
#[wasm_bindgen(js_name = catalogue)]
pub fn method_catalogue() -> Result<JsValue, JsError> {
    to_js(&catalogue::to_json())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttributeMeta<'a> {
    method: &'a str,
    /// "input" (`[C, H, W]` maps), "layer" (`[h, w]` maps) or "occlusion".
    kind: &'static str,
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
    /// Runs the attribution method `method` (a name of the catalogue) on the image
    /// `input` of `shape` `[1, C, H, W]` for class `target` (default: the top class).
    /// `options`: the method's options of the catalogue by name (numbers, or words for
    /// a choice), and `layer` for a method that works at one. Answers `{method, kind,
    /// class, label, layer? (methods at a layer), raw: Float32Array, rawShape ([C, H, W]
    /// or [h, w], or [rows, cols] for occlusion), display: Float32Array (H * W in [0,
    /// 1]), width, height}`; occlusion adds `{grid (the drops, = raw), rows, cols,
    /// window, stride, baseProb, threshold, probs (occluded probability as a share of the
    /// unoccluded one, per window), mask (H * W, 1 where that share is below the
    /// threshold)}`.
    pub fn attribute(
        &self,
        method: &str,
        input: &Input,
        target: Option<u32>,
        options: JsValue,
        progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let Chosen {
            method: chosen,
            x,
            layer,
            ..
        } = self.choose(method, options, input)?;
        let js = JsProgress::new(progress);
        // Batched methods report each batch (a bar that moves during occlusion), as a
        // share kept below 1: the page says "drawing" at 1.
        let batches =
            |done: usize, total: usize| js.call((done as f64 / total.max(1) as f64).min(0.99), 1.0);
        let fwd = Forward::for_method(&self.inner, &x, chosen.as_ref())
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

        let meta = to_js(&AttributeMeta {
            method,
            kind: kind_of(&result),
            class,
            label: self.label(class),
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
            threshold: grid.threshold,
        })?;
        Object::assign(
            out.unchecked_ref::<Object>(),
            extra.unchecked_ref::<Object>(),
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
            Float32Array::from(grid.display(View::Mask).as_slice()).into(),
        )
    }

    /// Runs the check `name` of the catalogue (`"sanity"`: `methods::sanity`, Adebayo et
    /// al. 2018) on `method` with its `options` (as for [`Model::attribute`]) for the
    /// image and `target`; `checkOptions` are the check's own options. Answers the
    /// check's report (the sanity check's: `{method, class, seed, steps: [{layer,
    /// spearman}]}`, as `convscope sanity --json`).
    // attribute's arguments plus the check's name and options, positional as JS calls them.
    #[allow(clippy::too_many_arguments)]
    pub fn check(
        &self,
        name: &str,
        method: &str,
        input: &Input,
        target: Option<u32>,
        options: JsValue,
        check_options: JsValue,
        progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let options = method_options(method, options)?;
        let choice = catalogue::choose(method, &options).map_err(js_err)?;
        let spec = catalogue::check(name).map_err(js_err)?;
        let specs: Vec<&OptionSpec> = spec.options.iter().collect();
        let own = js_options(check_options, &format!("{name} options"), &specs, false)?;
        let (spec, values) = catalogue::choose_check(name, &own).map_err(js_err)?;
        let x = input.tensor()?;
        // The method's values are checked against this image before anything runs.
        choice.build_for(&self.inner, &x).map_err(js_err)?;
        let (_, _, h, w) = x.dims4().map_err(js_err)?;
        let args = values.args(&self.inner, (h, w)).map_err(js_err)?;
        let js = JsProgress::new(progress);
        let report = js.finish((spec.run)(&CheckRun {
            model: &self.inner,
            input: &x,
            method: &choice,
            target: target.map_or(Target::Top, |c| Target::Class(c as usize)),
            args,
            progress: &js,
        }))?;
        js.end()?;
        to_js(&report.json)
    }
}

/// The JS options of `method`: keys of the catalogue's method options (refused if no
/// method has them), each value typed as its option wants.
pub(super) fn method_options(method: &str, options: JsValue) -> Result<Options, JsError> {
    let methods = catalogue::methods();
    // The method's own options first, so that a key it does not take reaches the
    // catalogue's "does not apply" with the type another method gives it.
    let own = methods.iter().filter(|m| m.name == method);
    let others = methods.iter().filter(|m| m.name != method);
    let specs: Vec<&OptionSpec> = own.chain(others).flat_map(|m| m.options).collect();
    js_options(options, "attribute options", &specs, true)
}

/// A plain JS object (or nothing: no options) as [`Options`]: keys outside `specs` (and
/// [`LAYER`] if `layer`) are refused (a misspelt option would otherwise be ignored);
/// numbers for numeric options, strings for choices and the layer.
fn js_options(
    value: JsValue,
    what: &str,
    specs: &[&OptionSpec],
    layer: bool,
) -> Result<Options, JsError> {
    let mut options = Options::default();
    if value.is_undefined() || value.is_null() {
        return Ok(options);
    }
    let Some(object) = value.dyn_ref::<Object>() else {
        return Err(js_err(format!("{what}: expected an object of options")));
    };
    for entry in Object::entries(object).iter() {
        let pair: Array = entry.unchecked_into();
        let key = pair.get(0).as_string().unwrap_or_default();
        let given = pair.get(1);
        if given.is_undefined() {
            continue;
        }
        let number = match specs.iter().find(|s| s.name == key) {
            Some(spec) => !matches!(spec.kind, Kind::Choice(_)),
            None if layer && key == LAYER => false,
            None => {
                let mut known: Vec<&str> = specs.iter().map(|s| s.name).collect();
                if layer {
                    known.insert(0, LAYER);
                }
                known.dedup();
                return Err(js_err(format!(
                    "{what}: unknown field `{key}`, expected one of {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        };
        let value = match (number, given.as_f64(), given.as_string()) {
            (true, Some(x), _) => number_json(x),
            (false, _, Some(s)) => Json::String(s),
            _ => {
                return Err(js_err(format!(
                    "{what}: `{key}` must be {}, got {}",
                    if number { "a number" } else { "a string" },
                    js_sys::JSON::stringify(&given)
                        .ok()
                        .and_then(|s| s.as_string())
                        .unwrap_or_else(|| message_of(&given))
                )))
            }
        };
        options.set(&key, value);
    }
    Ok(options)
}

/// A JS number as the CLI would have typed it: whole numbers without a fraction (so
/// that a refusal quotes `1`, not `1.0`), the rest as they are; NaN and infinities as
/// words, which the catalogue refuses as not finite.
fn number_json(x: f64) -> Json {
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        Json::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or_else(|| Json::String(x.to_string()), Json::Number)
    }
}

/// A method chosen by name for the page's image: the catalogue's choice, the method
/// built for the model, the image as a tensor and the layer's name (methods at one).
pub(super) struct Chosen {
    pub choice: catalogue::Choice,
    pub method: Box<dyn crate::methods::Method>,
    pub x: candle_core::Tensor,
    pub layer: Option<String>,
}

impl Model {
    /// The method `method` with the page's `options`, built for `input`.
    pub(super) fn choose(
        &self,
        method: &str,
        options: JsValue,
        input: &Input,
    ) -> Result<Chosen, JsError> {
        let options = method_options(method, options)?;
        let choice = catalogue::choose(method, &options).map_err(js_err)?;
        let x = input.tensor()?;
        let built = choice.build_for(&self.inner, &x).map_err(js_err)?;
        let layer = choice
            .layer_index(&self.inner)
            .map_err(js_err)?
            .map(|i| self.inner.name(i).to_string());
        Ok(Chosen {
            choice,
            method: built,
            x,
            layer,
        })
    }

    /// The class's label from the model card ("class N" without one).
    pub(super) fn label(&self, class: usize) -> String {
        self.card
            .labels()
            .get(class)
            .cloned()
            .unwrap_or_else(|| format!("class {class}"))
    }
}

/// What kind of map an attribution is, in the page's words.
pub(super) fn kind_of(a: &Attribution) -> &'static str {
    match a {
        Attribution::Input(_) => "input",
        Attribution::Layer(_) => "layer",
        Attribution::Occlusion(_) => "occlusion",
    }
}
