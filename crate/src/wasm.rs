//! WebAssembly bindings: the only module that knows wasm-bindgen.
//!
//! A thin face over the core. Every fallible call returns `Result<_, JsError>` carrying
//! the core error's message, so the page can show it as it is; nothing here panics on
//! bad input (and if something does, the panic hook prints it to the console).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use candle_core::{DType, Device, Tensor};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::model::{ArchSpec, Vgg};

/// Runs once when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
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

/// A loaded VGG-family model.
#[wasm_bindgen]
pub struct Model {
    inner: Vgg,
}

#[wasm_bindgen]
impl Model {
    /// Loads safetensors `weights` for `arch` (a name such as "vgg16" or a spec string).
    pub fn load(arch: &str, weights: Vec<u8>) -> Result<Model, JsError> {
        let spec = ArchSpec::parse(arch).map_err(js_err)?;
        let inner = Vgg::from_safetensors_bytes(&spec, weights).map_err(js_err)?;
        Ok(Model { inner })
    }

    /// Deterministic test weights for `arch` (the shared fixtures' generator).
    pub fn synthetic(arch: &str, seed: u32) -> Result<Model, JsError> {
        let spec = ArchSpec::parse(arch).map_err(js_err)?;
        let inner = Vgg::synthetic(&spec, u64::from(seed)).map_err(js_err)?;
        Ok(Model { inner })
    }

    /// The layer table and totals, as a plain object.
    pub fn summary(&self) -> Result<JsValue, JsError> {
        let summary = crate::model::summary::summarize(self.inner.spec(), None).map_err(js_err)?;
        to_js(&summary)
    }

    /// Input channels the model expects.
    #[wasm_bindgen(getter, js_name = inChannels)]
    pub fn in_channels(&self) -> usize {
        self.inner.spec().in_channels
    }

    /// Number of output classes.
    #[wasm_bindgen(getter)]
    pub fn classes(&self) -> usize {
        self.inner.spec().classes
    }

    /// The input side length the architecture was designed for (224 for VGG16).
    #[wasm_bindgen(getter, js_name = inputSize)]
    pub fn input_size(&self) -> usize {
        self.inner.spec().size
    }

    /// Names of the layers, in order (torchvision module paths such as "features.0").
    #[wasm_bindgen(js_name = layerNames)]
    pub fn layer_names(&self) -> Vec<String> {
        self.inner.layers().iter().map(|l| l.name.clone()).collect()
    }

    /// Logits for an NCHW float32 `input` of the given `shape`, flattened row-major.
    pub fn logits(&self, input: &[f32], shape: Vec<usize>) -> Result<Vec<f32>, JsError> {
        let x = input_tensor(input, shape)?;
        flat(&self.inner.forward(&x).map_err(js_err)?)
    }

    /// The `k` most likely classes for the first image of `input`, as an array of
    /// `{class, label, prob, logit}`.
    pub fn predict(&self, input: &[f32], shape: Vec<usize>, k: usize) -> Result<JsValue, JsError> {
        let logits = self.logits(input, shape)?;
        let classes = self.inner.spec().classes;
        let first = logits
            .get(..classes)
            .ok_or_else(|| js_err("model returned too few logits"))?;
        let labels = crate::labels::default_labels(classes);
        to_js(&crate::predict::top_k(first, &labels, k))
    }

    /// The output of layer `layer` (a name from `layerNames`), flattened row-major.
    pub fn activations(
        &self,
        input: &[f32],
        shape: Vec<usize>,
        layer: &str,
    ) -> Result<Vec<f32>, JsError> {
        let idx = self.inner.layer_index(layer).map_err(js_err)?;
        let x = input_tensor(input, shape)?;
        flat(&self.inner.forward_range(&x, 0, idx + 1).map_err(js_err)?)
    }
}

/// A CPU tensor over `input`, checking that `shape` covers it exactly.
fn input_tensor(input: &[f32], shape: Vec<usize>) -> Result<Tensor, JsError> {
    let n: usize = shape.iter().product();
    if n != input.len() {
        return Err(js_err(format!(
            "input: shape {shape:?} needs {n} values, got {}",
            input.len()
        )));
    }
    Tensor::from_slice(input, shape, &Device::Cpu).map_err(js_err)
}

fn flat(t: &Tensor) -> Result<Vec<f32>, JsError> {
    t.flatten_all()
        .and_then(|t| t.to_dtype(DType::F32))
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(js_err)
}
