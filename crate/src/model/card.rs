//! Model cards: one JSON file that names the architecture, the weights, the labels and
//! the preprocessing, so `--model card.json` stands in for `--arch/--weights` everywhere.
//!
//! ```json
//! {"name": "VGG16 (timm vgg16.tv_in1k)", "arch": "vgg16", "weights": "vgg16.safetensors",
//!  "labels": "imagenet", "preprocessing": {"kind": "torchvision", "resize": 256, "crop": 224,
//!  "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}, "input": [3, 224, 224]}
//! ```
//! Other fields (accuracy, dataset, training command, ...) are kept as they are.

use super::arch::ArchSpec;
use super::weights::Format;
use crate::error::{Error, Result};
use crate::image::{Preprocessing, IMAGENET_MEAN, IMAGENET_STD};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Labels {
    /// A named built-in list: `"imagenet"`.
    Named(String),
    List(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub name: String,
    pub arch: ArchSpec,
    /// Path of the safetensors file, relative to the card (or a URL in the browser).
    pub weights: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preprocessing: Option<Preprocessing>,
    /// `[C, H, W]` the model expects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<usize>>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The preprocessing a model gets when its card says none: torchvision's ImageNet
/// transform scaled to the input size for colour models, plain 0-1 scaling otherwise.
pub fn default_preprocessing(spec: &ArchSpec) -> Preprocessing {
    let size = spec.size as u32;
    if spec.in_channels == 3 {
        Preprocessing::Torchvision {
            resize: (size * 256 + 112) / 224,
            crop: size,
            mean: IMAGENET_MEAN.to_vec(),
            std: IMAGENET_STD.to_vec(),
        }
    } else {
        Preprocessing::Scale {
            size,
            mean: vec![0.0],
            std: vec![1.0],
        }
    }
}

/// The preprocessing a model gets when its card says none, knowing its weights' format:
/// Keras' VGG weights (`keras.applications`) expect Keras' "caffe" mode (BGR, ImageNet
/// means subtracted on the 0-255 scale, no scaling) at the model's input size; other
/// weights [`default_preprocessing`].
pub fn preprocessing_for_weights(spec: &ArchSpec, format: Format) -> Preprocessing {
    match format {
        Format::Keras if spec.in_channels == 3 => Preprocessing::Caffe {
            size: spec.size as u32,
        },
        _ => default_preprocessing(spec),
    }
}

impl ModelCard {
    /// A card for a bare architecture and weights (what `--arch/--weights` means).
    pub fn for_arch(spec: &ArchSpec, weights: &str) -> ModelCard {
        ModelCard {
            name: spec.to_string(),
            arch: spec.clone(),
            weights: weights.into(),
            labels: None,
            preprocessing: None,
            input: None,
            extra: Default::default(),
        }
    }

    /// The card of a model whose graph came with its file (`--model model.onnx`):
    /// `card`, the text of the card beside it if there is one, gives its name, labels,
    /// preprocessing and input (an `arch` or `weights` there is ignored: the file is both).
    pub fn for_imported(spec: &ArchSpec, file: &str, card: Option<&str>) -> Result<ModelCard> {
        #[derive(Deserialize)]
        struct Beside {
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            labels: Option<Labels>,
            #[serde(default)]
            preprocessing: Option<Preprocessing>,
            #[serde(default)]
            input: Option<Vec<usize>>,
            #[serde(flatten)]
            extra: serde_json::Map<String, serde_json::Value>,
        }
        let mut out = ModelCard::for_arch(spec, file);
        out.name = spec.name.clone();
        if let Some(text) = card {
            let b: Beside = serde_json::from_str(text).map_err(|e| Error::Card(e.to_string()))?;
            out.name = b.name.unwrap_or(out.name);
            (out.labels, out.preprocessing, out.input, out.extra) =
                (b.labels, b.preprocessing, b.input, b.extra);
            out.extra.remove("arch");
            out.extra.remove("weights");
        }
        out.validate()?;
        Ok(out)
    }

    /// Where the preprocessing and labels come from, in words (for the CLI and the page
    /// to state when a model arrives without a card).
    pub fn describe_defaults(&self) -> String {
        let pre = match self.preprocessing() {
            Preprocessing::Torchvision { resize, crop, .. } if self.preprocessing.is_none() => {
                format!("ImageNet mean/std, resized to {resize} and centre-cropped to {crop} (the model's input size)")
            }
            Preprocessing::Scale { size, .. } if self.preprocessing.is_none() => {
                format!("pixels scaled to 0-1 at {size}x{size}")
            }
            _ => "the card's preprocessing".into(),
        };
        let labels = match (&self.labels, self.arch.classes) {
            (Some(_), _) => "the card's labels".to_string(),
            (None, 1000) => "ImageNet's class names".to_string(),
            (None, n) => format!("class numbers (0..{})", n.saturating_sub(1)),
        };
        format!("{pre}; {labels}")
    }

    /// Parses and validates a card.
    pub fn from_json(text: &str) -> Result<ModelCard> {
        let card: ModelCard = serde_json::from_str(text).map_err(|e| Error::Card(e.to_string()))?;
        card.validate()?;
        Ok(card)
    }

    fn validate(&self) -> Result<()> {
        if self.weights.trim().is_empty() {
            return Err(Error::Card("`weights` is empty".into()));
        }
        if let Some(Labels::Named(name)) = &self.labels {
            if name != "imagenet" {
                return Err(Error::Card(format!(
                    "unknown label set `{name}`; use \"imagenet\" or a list of names"
                )));
            }
        }
        if let Some(Labels::List(list)) = &self.labels {
            if list.len() != self.arch.classes {
                return Err(Error::Card(format!(
                    "{} labels for a model with {} classes",
                    list.len(),
                    self.arch.classes
                )));
            }
        }
        if let Some(input) = &self.input {
            if input.len() != 3
                || input[0] != self.arch.in_channels
                || input[1] < self.arch.min_input_size()
                || input[2] < self.arch.min_input_size()
            {
                return Err(Error::Card(format!(
                    "`input` {input:?} does not fit the architecture (expects [{}, H, W] with H, W >= {})",
                    self.arch.in_channels,
                    self.arch.min_input_size()
                )));
            }
        }
        if let Some(p) = &self.preprocessing {
            let (mean, std) = match p {
                Preprocessing::Torchvision { mean, std, .. }
                | Preprocessing::Scale { mean, std, .. } => (mean.len(), std.len()),
                Preprocessing::Caffe { .. } => (3, 3),
            };
            let c = self.arch.in_channels;
            if !(mean == 1 || mean == c) || !(std == 1 || std == c) {
                return Err(Error::Card(format!(
                    "preprocessing mean/std need 1 or {c} values, got {mean} and {std}"
                )));
            }
            if p.input_size() == 0 {
                return Err(Error::Card("preprocessing size is 0".into()));
            }
        }
        Ok(())
    }

    pub fn labels(&self) -> Vec<String> {
        match &self.labels {
            Some(Labels::List(list)) => list.clone(),
            _ => crate::labels::default_labels(self.arch.classes),
        }
    }

    pub fn preprocessing(&self) -> Preprocessing {
        self.preprocessing
            .clone()
            .unwrap_or_else(|| default_preprocessing(&self.arch))
    }

    /// Reads a card file; its `weights` path is resolved against the card's folder.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(path: &std::path::Path) -> Result<(ModelCard, std::path::PathBuf)> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let card = ModelCard::from_json(&text).map_err(|e| match e {
            Error::Card(m) => Error::Card(format!("{}: {m}", path.display())),
            other => other,
        })?;
        let weights = path
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(&card.weights);
        if !weights.is_file() {
            return Err(Error::Card(format!(
                "{}: weights file `{}` does not exist (looked for {})",
                path.display(),
                card.weights,
                weights.display()
            )));
        }
        Ok((card, weights))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_round_trips_and_keeps_extra_fields() {
        let text = r#"{"name":"t","arch":"cfg=8,M;in=1;pool=2;hidden=4;classes=2","weights":"w.safetensors",
            "labels":["a","b"],"input":[1,28,28],"accuracy":0.93}"#;
        let card = ModelCard::from_json(text).unwrap();
        assert_eq!(card.arch.in_channels, 1);
        assert_eq!(card.extra["accuracy"], 0.93);
        let again = ModelCard::from_json(&serde_json::to_string(&card).unwrap()).unwrap();
        assert_eq!(again, card);
        assert_eq!(card.labels(), ["a", "b"]);
    }

    #[test]
    fn bad_cards_name_the_problem() {
        for (text, needle) in [
            (
                r#"{"name":"t","arch":"vgg17","weights":"w"}"#,
                "unknown architecture",
            ),
            (
                r#"{"name":"t","arch":"tiny","weights":"w","labels":["a"]}"#,
                "1 labels for a model with 10 classes",
            ),
            (
                r#"{"name":"t","arch":"tiny","weights":"w","input":[1,32,32]}"#,
                "does not fit",
            ),
            (
                r#"{"name":"t","arch":"tiny","weights":""}"#,
                "`weights` is empty",
            ),
            (r#"{"name":"t","arch":"tiny"}"#, "missing field `weights`"),
            (
                r#"{"name":"t","arch":"tiny","weights":"w","labels":"coco"}"#,
                "unknown label set",
            ),
            ("not json", "expected"),
        ] {
            let err = ModelCard::from_json(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: `{err}` lacks `{needle}`");
        }
    }

    #[test]
    fn an_imported_model_takes_labels_and_preprocessing_from_the_card_beside_it() {
        let mut spec = ArchSpec::parse("tiny").unwrap();
        spec.classes = 2;
        let bare = ModelCard::for_imported(&spec, "m.onnx", None).unwrap();
        assert_eq!(
            (bare.weights.as_str(), bare.labels(), bare.preprocessing()),
            (
                "m.onnx",
                vec!["class 0".to_string(), "class 1".into()],
                default_preprocessing(&spec)
            )
        );
        assert!(
            bare.describe_defaults().contains("ImageNet mean/std")
                && bare.describe_defaults().contains("class numbers (0..1)")
        );
        let text = r#"{"name": "cats", "arch": "ignored", "labels": ["cat", "dog"], "preprocessing": {"kind": "scale", "size": 32, "mean": [0.5], "std": [0.5]}, "accuracy": 0.9}"#;
        let card = ModelCard::for_imported(&spec, "m.onnx", Some(text)).unwrap();
        assert_eq!(
            (card.name.as_str(), card.labels()),
            ("cats", vec!["cat".to_string(), "dog".into()])
        );
        assert_eq!(
            card.preprocessing(),
            Preprocessing::Scale {
                size: 32,
                mean: vec![0.5],
                std: vec![0.5]
            }
        );
        assert_eq!(card.extra.keys().collect::<Vec<_>>(), ["accuracy"]);
        let e = ModelCard::for_imported(&spec, "m.onnx", Some(r#"{"labels": ["one"]}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 labels for a model with 2 classes"), "{e}");
    }
}
