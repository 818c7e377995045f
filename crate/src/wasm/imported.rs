//! Models a visitor brings as a file whose graph comes with it: ONNX. The page has no
//! file system, so the external-data file and the model card come as arguments, and
//! the preprocessing, when no card gives it, is the page's choice (the CLI uses the
//! core's default and says so on stderr; the page offers a select instead).

use super::probes::with;
use super::{js_err, to_js, Model};
use crate::image::Preprocessing;
use crate::model::card::{default_preprocessing, preprocessing_for_weights};
use crate::model::formats::onnx;
use crate::model::weights::Format;
use crate::model::{ArchSpec, Graph, ModelCard};
use wasm_bindgen::prelude::*;

/// A file's bytes, written into wasm memory piece by piece as the worker reads the file:
/// a large model then exists once in memory (here), not also as a JS buffer that is
/// copied in whole.
#[wasm_bindgen]
pub struct FileBytes {
    bytes: Vec<u8>,
    size: usize,
}

#[wasm_bindgen]
impl FileBytes {
    /// Room for a file of `size` bytes, or an error saying it does not fit.
    #[wasm_bindgen(constructor)]
    pub fn new(size: usize) -> Result<FileBytes, JsError> {
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(size).map_err(|_| {
            js_err(format!(
                "a file of {} MB does not fit in this page's memory",
                size >> 20
            ))
        })?;
        Ok(FileBytes { bytes, size })
    }

    /// Appends the next piece of the file.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsError> {
        if self.bytes.len() + chunk.len() > self.size {
            return Err(js_err("the file grew while it was read"));
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// Bytes written so far.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.bytes.len()
    }
}

impl FileBytes {
    /// The bytes, once all of them were written.
    pub(super) fn complete(self, what: &str) -> Result<Vec<u8>, JsError> {
        if self.bytes.len() != self.size {
            return Err(js_err(format!(
                "{what}: only {} of its {} bytes could be read",
                self.bytes.len(),
                self.size
            )));
        }
        Ok(self.bytes)
    }
}

#[wasm_bindgen]
impl Model {
    /// Reads an ONNX model: `bytes` the `.onnx` file (a `FileBytes`, consumed), `file` its
    /// name; `external` the
    /// external-data file it names, if any (`external_name` its name); `card_json` a
    /// model card chosen beside it (name, labels, preprocessing, input; its `arch` and
    /// `weights` are ignored); `preprocessing` the page's choice when the card gives none:
    /// "imagenet" (the core's default), "caffe" (Keras) or "scale" (to [0, 1]).
    /// Answers `{model, notes, preprocessingFromCard, labelsFromCard}`.
    #[wasm_bindgen(js_name = fromOnnx)]
    pub fn from_onnx(
        bytes: FileBytes,
        file: &str,
        external_name: Option<String>,
        external: Option<FileBytes>,
        card_json: Option<String>,
        preprocessing: Option<String>,
    ) -> Result<JsValue, JsError> {
        let bytes = bytes.complete(file)?;
        let external = match external {
            Some(e) => Some(e.complete(external_name.as_deref().unwrap_or("the data file"))?),
            None => None,
        };
        let choice = preprocessing.unwrap_or_else(|| "imagenet".into());
        // Checked first, so a typo in the page never costs a parse of a large file.
        let choose = chooser(&choice)?;
        // A model whose weights live in another file, given without it, is refused before
        // any work with what to do (the core would name the first tensor it misses).
        if external.is_none() {
            let wanted = onnx::external_locations(&bytes).map_err(js_err)?;
            if !wanted.is_empty() {
                return Err(js_err(format!(
                    "{file} keeps its weights in the external file {}: choose that file together with the .onnx (both at once in the file picker, or drop both)",
                    wanted.join(", ")
                )));
            }
        }
        let name = file.strip_suffix(".onnx").unwrap_or(file);
        let given: Vec<(&str, &[u8])> = match (&external_name, &external) {
            (Some(n), Some(b)) => vec![(n.as_str(), b.as_slice())],
            (None, Some(b)) => vec![("", b.as_slice())],
            _ => Vec::new(),
        };
        let (inner, notes) = Graph::from_onnx(&bytes, name, &given).map_err(js_err)?;
        drop(given);
        drop((bytes, external));
        let mut card =
            ModelCard::for_imported(inner.arch(), file, card_json.as_deref()).map_err(js_err)?;
        // Where preprocessing and labels come from, for the page to say (else the page's
        // choice, and class numbers or ImageNet's names).
        let from_card = (card.preprocessing.is_some(), card.labels.is_some());
        if card.preprocessing.is_none() {
            card.preprocessing = Some(choose(&card.arch));
        }
        // The answer: the reader's notes, where preprocessing and labels came from, the model.
        let out = with(js_sys::Object::new().into(), "notes", to_js(&notes)?)?;
        let out = with(out, "preprocessingFromCard", from_card.0.into())?;
        let out = with(out, "labelsFromCard", from_card.1.into())?;
        with(out, "model", Model { inner, card }.into())
    }
}

/// The page's preprocessing choices, by name, for a model's spec.
fn chooser(choice: &str) -> Result<fn(&ArchSpec) -> Preprocessing, JsError> {
    Ok(match choice {
        "imagenet" => default_preprocessing,
        "caffe" => |spec| preprocessing_for_weights(spec, Format::Keras),
        "scale" => |spec| Preprocessing::Scale {
            size: spec.size as u32,
            mean: vec![0.0],
            std: vec![1.0],
        },
        other => {
            return Err(js_err(format!(
                "unknown preprocessing `{other}` (imagenet, caffe or scale)"
            )))
        }
    })
}
