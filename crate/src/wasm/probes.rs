//! Bindings of the feature-visualization probes ([`crate::probes`]): filter grids, and
//! activation maximization reporting every step to a JS callback (the page shows the
//! picture live and may stop the run). Options arrive as plain JS objects.

use js_sys::{Float32Array, Uint8ClampedArray};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::progress::JsProgress;
use super::{js_err, to_js, Model};
use crate::image::Preprocessing;
use crate::probes::filters::{filters, FilterOptions};
use crate::probes::maximize::{maximize, InputSpace, MaximizeOptions, Objective};
use crate::probes::{Scaling, TileInfo};
use crate::render::grid::{self, Layout};
use crate::render::Colormap;

/// `options` of [`Model::filters`].
#[derive(Deserialize, Default)]
#[serde(default)]
struct FilterArgs {
    /// Input channel to show (default: RGB for a three-channel layer, else 0).
    channel: Option<usize>,
    /// "channel" (each tile its own range, the page's "per map") or "shared".
    scaling: Option<String>,
    /// A colormap's name (`render::Colormap`) for one-channel tiles; default gray.
    colormap: Option<String>,
}

impl FilterArgs {
    const KEYS: &[&str] = &["channel", "scaling", "colormap"];
}

/// What the page needs besides the pixels: the caption, each tile's scaling (raw =
/// lo + level / 255 * (hi - lo)) and where the tiles are.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FilterGrid<'a> {
    width: u32,
    height: u32,
    caption: String,
    scaling: &'static str,
    channels: usize,
    tile_width: usize,
    tile_height: usize,
    tiles: &'a [TileInfo],
    layout: Layout,
}

/// `options` of [`Model::maximize`]: any field of [`MaximizeOptions`], camelCase; the
/// model's defaults ([`Model::maximize_defaults`]) fill the rest.
#[derive(Deserialize, Serialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct MaximizeArgs {
    size: Option<usize>,
    steps: Option<usize>,
    lr: Option<f32>,
    seed: Option<u64>,
    jitter: Option<usize>,
    tv: Option<f32>,
    l2: Option<f32>,
    blur_every: Option<usize>,
    blur_sigma: Option<f32>,
    fourier: Option<bool>,
}

impl MaximizeArgs {
    const KEYS: &[&str] = &[
        "size",
        "steps",
        "lr",
        "seed",
        "jitter",
        "tv",
        "l2",
        "blurEvery",
        "blurSigma",
        "fourier",
    ];

    fn from_options(o: &MaximizeOptions) -> MaximizeArgs {
        MaximizeArgs {
            size: Some(o.size),
            steps: Some(o.steps),
            lr: Some(o.lr),
            seed: Some(o.seed),
            jitter: Some(o.jitter),
            tv: Some(o.tv),
            l2: Some(o.l2),
            blur_every: Some(o.blur_every),
            blur_sigma: Some(o.blur_sigma),
            fourier: Some(o.fourier),
        }
    }

    /// The defaults with the given fields replaced; a new size brings its own jitter
    /// (1/16 of the side, as the defaults and the CLI have it) unless one is given.
    fn over(self, mut o: MaximizeOptions) -> MaximizeOptions {
        if let Some(size) = self.size {
            (o.size, o.jitter) = (size, size / 16);
        }
        o.steps = self.steps.unwrap_or(o.steps);
        o.lr = self.lr.unwrap_or(o.lr);
        o.seed = self.seed.unwrap_or(o.seed);
        o.jitter = self.jitter.unwrap_or(o.jitter);
        o.tv = self.tv.unwrap_or(o.tv);
        o.l2 = self.l2.unwrap_or(o.l2);
        o.blur_every = self.blur_every.unwrap_or(o.blur_every);
        o.blur_sigma = self.blur_sigma.unwrap_or(o.blur_sigma);
        o.fourier = self.fourier.unwrap_or(o.fourier);
        o
    }
}

/// `objective` of [`Model::maximize`].
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum ObjectiveArg {
    /// Class logits of the model's output.
    Class { classes: Vec<usize> },
    /// Mean activations of channels of a layer (units of a vector layer).
    Channel { layer: String, channels: Vec<usize> },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MaximizeResult<'a> {
    layer: &'a str,
    units: &'a [usize],
    channels: usize,
    size: usize,
    objective_start: &'a [f32],
    objective_end: &'a [f32],
    steps: usize,
    cancelled: bool,
}

#[wasm_bindgen]
impl Model {
    /// The kernels of conv layer `layer` as one picture, one tile per output channel
    /// (`probes::filters`, drawn by `render::grid`). `options`: `{channel?, scaling?:
    /// "channel"|"shared", colormap?: a name}`. Answers `{rgba:
    /// Uint8ClampedArray, width, height, caption, scaling, channels, tileWidth,
    /// tileHeight, tiles: [{index, lo, hi, mean}], layout: {columns, zoom, gap,
    /// background}}`.
    pub fn filters(&self, layer: &str, options: JsValue) -> Result<JsValue, JsError> {
        let args: FilterArgs = options_from(options, "filters options", FilterArgs::KEYS)?;
        let scaling = Scaling::parse(args.scaling.as_deref().unwrap_or("channel"))
            .map_err(|e| js_err(format!("filters options: {e}")))?;
        let cmap = args
            .colormap
            .as_deref()
            .map_or(Ok(Colormap::Gray), Colormap::parse)
            .map_err(|e| js_err(format!("filters options: {e}")))?;
        let opts = FilterOptions {
            channel: args.channel,
            scaling,
            bgr: matches!(self.card.preprocessing(), Preprocessing::Caffe { .. }),
        };
        let tiles = filters(&self.inner, layer, &opts).map_err(js_err)?;
        let layout = tiles.layout();
        let picture =
            grid::render(&tiles.as_tiles(), &layout, |v| cmap.nearest(v)).map_err(js_err)?;
        let meta = to_js(&FilterGrid {
            width: picture.width(),
            height: picture.height(),
            caption: tiles.caption(),
            scaling: match tiles.scaling {
                Scaling::PerTile => "channel",
                Scaling::Shared => "shared",
            },
            channels: tiles.channels,
            tile_width: tiles.width,
            tile_height: tiles.height,
            tiles: &tiles.tiles,
            layout,
        })?;
        let rgba = Uint8ClampedArray::from(picture.as_raw().as_slice());
        with(meta, "rgba", rgba.into())
    }

    /// The options [`Model::maximize`] uses when none are given, for this model:
    /// `{size, steps, lr, seed, jitter, tv, l2, blurEvery, blurSigma, fourier}`.
    #[wasm_bindgen(js_name = maximizeDefaults)]
    pub fn maximize_defaults(&self) -> Result<JsValue, JsError> {
        to_js(&MaximizeArgs::from_options(&MaximizeOptions::for_model(
            &self.inner,
        )))
    }

    /// Activation maximization (`probes::maximize`): gradient ascent on pictures that
    /// raise `objective`, `{kind: "class", classes: [n]}` or `{kind: "channel", layer,
    /// channels: [k]}` (one picture per class or channel, in one batch). `options`: see
    /// `maximizeDefaults`. `progress(step, steps, objective: Float32Array (per unit),
    /// pictures: Float32Array [units, C, size, size])` is called after every step;
    /// returning `false` stops the run, which then answers what it has with
    /// `cancelled: true`. Answers `{layer, units, channels, size, objectiveStart,
    /// objectiveEnd, steps, cancelled, pictures: Float32Array}` (pictures in [0, 1]).
    pub fn maximize(
        &self,
        objective: JsValue,
        options: JsValue,
        progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        if objective.is_undefined() || objective.is_null() {
            return Err(js_err(
                "objective: give {kind: \"class\", classes: [n]} or {kind: \"channel\", layer, channels: [k]}",
            ));
        }
        let objective = serde_wasm_bindgen::from_value(objective)
            .map_err(|e| js_err(format!("objective: {}", message_of(&e.into()))))?;
        let objective = match objective {
            ObjectiveArg::Class { classes } => Objective::classes(&self.inner, classes),
            ObjectiveArg::Channel { layer, channels } => Objective::channels(&layer, channels),
        };
        let args: MaximizeArgs = options_from(options, "maximize options", MaximizeArgs::KEYS)?;
        let opts = args.over(MaximizeOptions::for_model(&self.inner));
        let space = InputSpace::from_preprocessing(&self.card.preprocessing(), self.in_channels())
            .map_err(js_err)?;
        // Each step's report carries its objective and pictures (the live view).
        let js = JsProgress::new(progress);
        let result = js.finish(maximize(
            &self.inner,
            &objective,
            &space,
            &opts,
            &js,
            |step| {
                js.attach(vec![
                    Float32Array::from(step.objective).into(),
                    Float32Array::from(step.pictures).into(),
                ])
            },
        ))?;
        let meta = to_js(&MaximizeResult {
            layer: &result.layer,
            units: &result.units,
            channels: result.channels,
            size: result.size,
            objective_start: &result.objective_start,
            objective_end: &result.objective_end,
            steps: result.steps,
            cancelled: result.cancelled,
        })?;
        with(
            meta,
            "pictures",
            Float32Array::from(result.pictures.as_slice()).into(),
        )
    }
}

/// A plain JS object (or nothing: the defaults) as `T`, errors naming `what`. Keys
/// outside `keys` are refused (serde_wasm_bindgen reads only the fields it knows, so a
/// misspelt option would otherwise be ignored without a word).
pub(super) fn options_from<T: DeserializeOwned + Default>(
    value: JsValue,
    what: &str,
    keys: &[&str],
) -> Result<T, JsError> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    if let Some(object) = value.dyn_ref::<js_sys::Object>() {
        for key in js_sys::Object::keys(object).iter() {
            let key = key.as_string().unwrap_or_default();
            if !keys.contains(&key.as_str()) {
                return Err(js_err(format!(
                    "{what}: unknown field `{key}`, expected one of {}",
                    keys.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| js_err(format!("{what}: {}", message_of(&e.into()))))
}

/// The message of a thrown JS value (an `Error`'s message, or the value as text).
pub(super) fn message_of(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

/// `object` with `key` set to `value` (typed arrays go in this way, not through serde,
/// which would make them plain arrays).
pub(super) fn with(object: JsValue, key: &str, value: JsValue) -> Result<JsValue, JsError> {
    js_sys::Reflect::set(&object, &JsValue::from_str(key), &value)
        .map_err(|_| js_err(format!("could not set {key} on the result")))?;
    Ok(object)
}
