//! WebAssembly bindings: the only module that knows wasm-bindgen.
//!
//! A thin face over the core. Every fallible call returns `Result<_, JsError>` carrying
//! the core error's message, so the page can show it as it is; nothing here panics on
//! bad input (and if something does, the panic hook prints it to the console).
//! The page's worker protocol and the bindings still to come are in docs/web.md.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use candle_core::{DType, Tensor};
use image::DynamicImage;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::model::config::LayerConfig;
use crate::model::stats::{histogram, WeightStats};
use crate::model::{ArchSpec, Graph, ModelCard};
use crate::progress::Progress;

// Filters and activation maximization, in their own file (wasm/probes.rs).
mod probes;
// Attribution methods and the sanity check (wasm/attribute.rs).
mod attribute;
// The allocator that notices out-of-memory, and a way to cause it (wasm/memory.rs).
mod memory;
// A JS progress callback as the core's `Progress` (wasm/progress.rs).
mod progress;
// One method's map with its deletion, insertion and sanity scores (wasm/scores.rs).
mod scores;
// Colormaps, overlays, masks, tile grids and the saved picture (wasm/render.rs).
mod render;
// Models whose file holds their graph: ONNX (wasm/imported.rs).
mod imported;
// A model input held in wasm memory between requests (wasm/input.rs).
mod input;
pub use input::Input;

/// Runs once when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

// The threads build's `initThreadPool(n)`: the JS must await it once, after `init()`
// and before any model work, since rayon's global pool can be built only once (a
// parallel loop run earlier would fix it at the calling thread alone).
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

/// Threads our parallel loops run on: the pool `initThreadPool` started in the threads
/// build, 1 in the plain build (rayon then runs everything on the calling thread). The
/// page shows it, so it reports what runs, not what was asked for.
#[wasm_bindgen(js_name = threadCount)]
pub fn thread_count() -> usize {
    rayon::current_num_threads()
}

/// The architectures a weights file without a card can name (`vgg16`, `resnet50`, ...):
/// the VGG family, then torchvision's others. The page offers them as it would `--arch`.
#[wasm_bindgen(js_name = architectures)]
pub fn architectures() -> Vec<String> {
    ArchSpec::named().map(str::to_string).collect()
}

/// Any core (or candle) error as a JS `Error` with the same message.
fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// Plain JS values: structs and maps become objects, never `Map`s.
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_err)
}

/// Parses and validates a model card (JSON text) and answers it with its defaults
/// filled in: `labels` as the full list of names and `preprocessing` as the one the
/// model will get. The page calls this before downloading any weights.
#[wasm_bindgen(js_name = validateCard)]
pub fn validate_card(card_json: &str) -> Result<JsValue, JsError> {
    let card = ModelCard::from_json(card_json).map_err(js_err)?;
    to_js(&resolved(&card))
}

/// The card as the page uses it: every default made explicit.
fn resolved(card: &ModelCard) -> serde_json::Value {
    let mut value = serde_json::to_value(card).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("labels".into(), serde_json::json!(card.labels()));
        obj.insert(
            "preprocessing".into(),
            serde_json::to_value(card.preprocessing()).unwrap_or_default(),
        );
    }
    value
}

/// A loaded model with its card (labels, preprocessing).
#[wasm_bindgen]
pub struct Model {
    inner: Graph,
    card: ModelCard,
}

#[derive(Serialize)]
struct Inspection {
    config: LayerConfig,
    /// `None` for layers without parameters.
    weights: Option<WeightStats>,
}

#[wasm_bindgen]
impl Model {
    /// Loads `weights` (safetensors or a PyTorch `.pth` state dict) for `arch` (a name
    /// such as "vgg16" or "resnet50", or a spec string).
    pub fn load(arch: &str, weights: Vec<u8>) -> Result<Model, JsError> {
        let spec = ArchSpec::parse(arch).map_err(js_err)?;
        let inner = Graph::from_bytes(&spec, weights).map_err(js_err)?;
        let card = ModelCard::for_arch(&spec, "(bytes)");
        Ok(Model { inner, card })
    }

    /// Loads `weights` (safetensors, `.pth` or Keras' `.h5`/`.keras`) described by a model
    /// card (JSON text); the card's `weights` field is where the page fetched them from
    /// and is not read here.
    #[wasm_bindgen(js_name = fromCard)]
    pub fn from_card(card_json: &str, weights: Vec<u8>) -> Result<Model, JsError> {
        Self::carded(card_json, weights)
    }

    /// As `fromCard`, with the weights read into wasm memory piece by piece
    /// (`FileBytes`, consumed; `file` names them in errors): a visitor's 500 MB file
    /// exists once in memory, not also as a JS buffer copied in whole.
    #[wasm_bindgen(js_name = fromCardFile)]
    pub fn from_card_file(
        card_json: &str,
        weights: imported::FileBytes,
        file: &str,
    ) -> Result<Model, JsError> {
        Self::carded(card_json, weights.complete(file)?)
    }
}

impl Model {
    /// A model of `card_json`'s architecture and `weights` (any format the core reads).
    fn carded(card_json: &str, weights: Vec<u8>) -> Result<Model, JsError> {
        let mut card = ModelCard::from_json(card_json).map_err(js_err)?;
        // Keras' VGG weights were trained on Keras' "caffe" preprocessing: chosen for
        // them when the card names none, as the CLI does.
        let format = crate::model::weights::sniff(&weights);
        let inner = Graph::from_bytes(&card.arch, weights).map_err(js_err)?;
        if card.preprocessing.is_none() && format == crate::model::weights::Format::Keras {
            card.preprocessing = Some(crate::model::card::preprocessing_for_weights(
                &card.arch, format,
            ));
        }
        Ok(Model { inner, card })
    }
}

#[wasm_bindgen]
impl Model {
    /// Deterministic test weights for `arch` (the shared fixtures' generator).
    pub fn synthetic(arch: &str, seed: u32) -> Result<Model, JsError> {
        let spec = ArchSpec::parse(arch).map_err(js_err)?;
        let inner = Graph::synthetic(&spec, u64::from(seed)).map_err(js_err)?;
        let card = ModelCard::for_arch(&spec, &format!("synthetic seed {seed}"));
        Ok(Model { inner, card })
    }

    /// The card with its defaults filled in (see `validateCard`).
    pub fn card(&self) -> Result<JsValue, JsError> {
        to_js(&resolved(&self.card))
    }

    /// The layer table and totals, as a plain object.
    pub fn summary(&self) -> Result<JsValue, JsError> {
        let summary = crate::model::summary::summarize_graph(
            self.inner.arch(),
            self.inner.spec(),
            Some(self.size()),
        )
        .map_err(js_err)?;
        to_js(&summary)
    }

    /// `{config, weights}` of one layer: its Keras-style `get_config()` at this model's
    /// input size and, for layers with tensors, their statistics by leaf name
    /// (`weight`, `bias`, `running_mean`, ...: `shape, count, min, max, mean, std,
    /// zero_fraction`), else `null`.
    pub fn inspect(&self, layer: &str) -> Result<JsValue, JsError> {
        let (config, weights) = self
            .inner
            .inspect(layer, Some(self.size()))
            .map_err(js_err)?;
        to_js(&Inspection { config, weights })
    }

    /// Histograms of a layer's tensors by leaf name, each `{min, max, counts}` with
    /// `bins` equal-width bins over [min, max]; `null` for a layer without tensors.
    #[wasm_bindgen(js_name = weightHistogram)]
    pub fn weight_histogram(&self, layer: &str, bins: usize) -> Result<JsValue, JsError> {
        let idx = self.inner.node(layer).map_err(js_err)?;
        let tensors = self.inner.op(idx).tensors();
        if tensors.is_empty() {
            return Ok(JsValue::NULL);
        }
        let bins = bins.clamp(1, 1024);
        let map: std::collections::BTreeMap<&str, _> = tensors
            .into_iter()
            .map(|(leaf, v)| (leaf, histogram(v, bins)))
            .collect();
        to_js(&map)
    }

    /// Input channels the model expects.
    #[wasm_bindgen(getter, js_name = inChannels)]
    pub fn in_channels(&self) -> usize {
        self.inner.arch().in_channels
    }

    /// Number of output classes.
    #[wasm_bindgen(getter)]
    pub fn classes(&self) -> usize {
        self.inner.arch().classes
    }

    /// The side of the square picture the model receives (from the card's
    /// preprocessing; 224 for VGG16).
    #[wasm_bindgen(getter, js_name = inputSize)]
    pub fn input_size(&self) -> usize {
        self.card.preprocessing().input_size() as usize
    }

    /// The class-activation methods' default layer (pytorch-grad-cam's usual target for
    /// the family: `features.29` for VGG16, `layer4.2` for ResNet-50, ...).
    #[wasm_bindgen(getter, js_name = camLayer)]
    pub fn cam_layer(&self) -> String {
        self.inner
            .name(crate::methods::cam::default_layer(&self.inner))
            .to_string()
    }

    /// Names of the layers, in order (torchvision module paths such as "features.0").
    #[wasm_bindgen(js_name = layerNames)]
    pub fn layer_names(&self) -> Vec<String> {
        self.inner
            .spec()
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .collect()
    }

    /// Decodes image `bytes` (PNG, JPEG or WebP) and preprocesses them as the card says.
    /// Answers `{input: Input (kept in wasm memory: pass it to every request, free() it
    /// when done), shape: [1, C, H, W], rgba: Uint8ClampedArray, width, height}`, where
    /// `rgba` is the picture the model sees (after resize and crop, before
    /// normalisation; grey for one-channel models).
    #[wasm_bindgen(js_name = prepareImage)]
    pub fn prepare_image(&self, bytes: &[u8]) -> Result<JsValue, JsError> {
        let img = crate::image::decode(bytes).map_err(js_err)?;
        let pre = self.card.preprocessing();
        let channels = self.inner.arch().in_channels;
        let input = crate::image::preprocess(&img, &pre, channels).map_err(js_err)?;
        let view = crate::image::model_view(&img, &pre, channels).map_err(js_err)?;
        let (width, height) = view.dimensions();
        let rgba = DynamicImage::ImageRgb8(view).to_rgba8().into_raw();

        let out = js_sys::Object::new();
        let set = |key: &str, value: JsValue| {
            js_sys::Reflect::set(&out, &JsValue::from_str(key), &value)
                .map(|_| ())
                .map_err(|_| js_err("could not build the prepared image object"))
        };
        set("shape", to_js(input.dims())?)?;
        set("input", Input::from_tensor(&input)?.into())?;
        set(
            "rgba",
            js_sys::Uint8ClampedArray::from(rgba.as_slice()).into(),
        )?;
        set("width", width.into())?;
        set("height", height.into())?;
        Ok(out.into())
    }

    /// Logits for `input`, flattened row-major.
    pub fn logits(&self, input: &Input) -> Result<Vec<f32>, JsError> {
        Ok(self
            .inner
            .forward(&input.val())
            .map_err(js_err)?
            .data
            .to_vec())
    }

    /// The `k` most likely classes for the first image of `input`, as an array of
    /// `{class, label, prob, logit}`, labelled by the model card.
    pub fn predict(&self, input: &Input, k: usize) -> Result<JsValue, JsError> {
        let logits = self.logits(input)?;
        let classes = self.inner.arch().classes;
        let first = logits
            .get(..classes)
            .ok_or_else(|| js_err("model returned too few logits"))?;
        to_js(&crate::predict::top_k(first, &self.card.labels(), k))
    }

    /// The output of layer `layer` (a name from `layerNames`), flattened row-major.
    pub fn activations(&self, input: &Input, layer: &str) -> Result<Vec<f32>, JsError> {
        let idx = self.inner.node(layer).map_err(js_err)?;
        Ok(self
            .inner
            .forward_to(&input.val(), idx)
            .map_err(js_err)?
            .data
            .to_vec())
    }

    /// The outputs of several layers from one forward pass, concatenated in the order of
    /// `layers` (each flattened row-major; their shapes are the summary's). The pass
    /// stops at the deepest layer asked for and keeps only the outputs asked for.
    /// `progress(done, total)` is called after each layer; if it returns `false` the
    /// run stops with the error "cancelled".
    pub fn trace(
        &self,
        input: &Input,
        layers: Vec<String>,
        progress: Option<js_sys::Function>,
    ) -> Result<Vec<f32>, JsError> {
        let wanted = layers
            .iter()
            .map(|name| self.inner.node(name))
            .collect::<crate::Result<Vec<usize>>>()
            .map_err(js_err)?;
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let x = input.val();
        let js = progress::JsProgress::new(progress);
        // Told after each node up to the deepest asked for (a fused run reports once, at
        // its last node); a callback answering false stops the pass.
        let total = wanted.iter().max().map_or(0, |m| m + 1);
        let values = js.finish(
            self.inner
                .forward_nodes_watched(&x, &wanted, &mut |i| js.report(i + 1, total)),
        )?;
        Ok(values.iter().flat_map(|v| v.data.iter().copied()).collect())
    }
}

impl Model {
    /// (height, width) of the model's input.
    fn size(&self) -> (usize, usize) {
        let s = self.input_size();
        (s, s)
    }
}

fn flat(t: &Tensor) -> Result<Vec<f32>, JsError> {
    t.flatten_all()
        .and_then(|t| t.to_dtype(DType::F32))
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(js_err)
}
