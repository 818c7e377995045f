//! A model input kept in wasm memory. The worker prepares its image once
//! (`Model.prepareImage`) and hands this object to every request after that (logits,
//! predictions, layer outputs, each method and check), so the preprocessed tensor never
//! travels out to JS and back in again for each one.

use candle_core::{Device, Tensor};
use wasm_bindgen::prelude::*;

use super::js_err;
use crate::model::graph::Val;

/// NCHW float32 values with their shape, held in wasm memory until `free()`.
#[wasm_bindgen]
pub struct Input {
    val: Val,
}

#[wasm_bindgen]
impl Input {
    /// An input from NCHW `values` (copied once into wasm memory); `shape` must cover
    /// them exactly.
    #[wasm_bindgen(constructor)]
    pub fn new(values: &[f32], shape: Vec<usize>) -> Result<Input, JsError> {
        let n: usize = shape.iter().product();
        if n != values.len() {
            return Err(js_err(format!(
                "input: shape {shape:?} needs {n} values, got {}",
                values.len()
            )));
        }
        Ok(Input {
            val: Val::new(values.to_vec(), shape),
        })
    }

    /// `[N, C, H, W]`.
    #[wasm_bindgen(getter)]
    pub fn shape(&self) -> Vec<usize> {
        self.val.shape.clone()
    }

    /// The values, copied out.
    pub fn values(&self) -> Vec<f32> {
        self.val.data.to_vec()
    }
}

impl Input {
    pub(crate) fn from_tensor(t: &Tensor) -> Result<Input, JsError> {
        let values = super::flat(t)?;
        Ok(Input {
            val: Val::new(values, t.dims().to_vec()),
        })
    }

    /// The engine's value (shares the values, no copy).
    pub(crate) fn val(&self) -> Val {
        self.val.clone()
    }

    /// A candle tensor over a copy of the values (the methods' entry point).
    pub(crate) fn tensor(&self) -> Result<Tensor, JsError> {
        Tensor::from_slice(
            self.val.data.as_slice(),
            self.val.shape.as_slice(),
            &Device::Cpu,
        )
        .map_err(js_err)
    }
}
