//! Arguments shared by the subcommands: which model, which input; and loading them.

use candle_core::Tensor;
use clap::Args;
use convscope::model::card::preprocessing_for_weights;
use convscope::model::weights::{self, Format};
use convscope::model::{ArchSpec, Graph, ModelCard};
use convscope::{image, npy, Error, Result};
use std::path::{Path, PathBuf};

/// Which model: an architecture with weights, or a model card.
#[derive(Args, Clone)]
pub struct ModelArgs {
    /// vgg11, vgg13, vgg16, vgg19, tiny, or a spec such as
    /// `cfg=8,M,16,M,32,M;in=3;pool=2;hidden=32;classes=10`
    #[arg(long, conflicts_with = "model")]
    pub arch: Option<String>,
    /// weights: safetensors (torchvision or timm names; f32, f16 or bf16), a PyTorch .pth,
    /// or Keras' VGG weights (.h5, .weights.h5, .keras; read with Keras' "caffe"
    /// preprocessing unless a model card says otherwise)
    #[arg(long, requires = "arch", conflicts_with = "synthetic")]
    pub weights: Option<PathBuf>,
    /// use the reference fixtures' deterministic weights for this seed instead of a file
    #[arg(long, requires = "arch")]
    pub synthetic: Option<u64>,
    /// a model card JSON (arch, weights, labels, preprocessing), or an ONNX model file
    /// (`.onnx`; its labels and preprocessing from a card of the same name beside it, if any)
    #[arg(long)]
    pub model: Option<PathBuf>,
}

/// A model, an input and the layer whose output for it is wanted.
#[derive(Args, Clone)]
pub struct LayerArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long)]
    pub layer: String,
}

/// What to feed the model.
#[derive(Args, Clone)]
pub struct InputArgs {
    /// a PNG, JPEG or WebP picture (preprocessed as the model card says)
    #[arg(long, conflicts_with = "input")]
    pub image: Option<PathBuf>,
    /// a preprocessed 1xCxHxW float32 .npy
    #[arg(long)]
    pub input: Option<PathBuf>,
}

pub fn spec_and_card(
    arch: &Option<String>,
    model: &Option<PathBuf>,
) -> Result<(ModelCard, Option<PathBuf>)> {
    match (arch, model) {
        (_, Some(path)) => ModelCard::load(path).map(|(card, weights)| (card, Some(weights))),
        (Some(arch), None) => Ok((ModelCard::for_arch(&ArchSpec::parse(arch)?, ""), None)),
        (None, None) => Err(Error::Input(
            "say which model: --arch NAME (with --weights FILE) or --model CARD.json".into(),
        )),
    }
}

/// The ONNX file `--model` names, if it names one (by its `.onnx` extension).
pub fn onnx_path(model: &Option<PathBuf>) -> Option<&Path> {
    model.as_deref().filter(|p| {
        p.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
    })
}

/// An ONNX model with its card: the card beside it (`model.json` for `model.onnx`) gives
/// labels and preprocessing; without one, the defaults, said on stderr with what the
/// reader assumed.
pub fn load_onnx(path: &Path) -> Result<(Graph, ModelCard)> {
    let (graph, notes) = Graph::from_onnx_file(path)?;
    let beside = path.with_extension("json");
    let text = match beside.is_file() {
        true => Some(std::fs::read_to_string(&beside).map_err(|e| Error::io(&beside, e))?),
        false => None,
    };
    let card = ModelCard::for_imported(graph.arch(), &path.display().to_string(), text.as_deref())
        .map_err(|e| match text {
            Some(_) => Error::Card(format!("{}: {e}", beside.display())),
            None => e,
        })?;
    for note in notes {
        eprintln!("convscope: {}: {note}", path.display());
    }
    if text.is_none() {
        eprintln!(
            "convscope: {}: no model card beside it ({}): {}",
            path.display(),
            beside.display(),
            card.describe_defaults()
        );
    }
    Ok((graph, card))
}

pub fn load(args: &ModelArgs) -> Result<(Graph, ModelCard)> {
    if let Some(path) = onnx_path(&args.model) {
        return load_onnx(path);
    }
    let (mut card, card_weights) = spec_and_card(&args.arch, &args.model)?;
    let model = match (card_weights.or(args.weights.clone()), args.synthetic) {
        (Some(path), _) => {
            let model = Graph::from_file(&card.arch, &path)?;
            if card.preprocessing.is_none() && weights::sniff_file(&path)? == Format::Keras {
                card.preprocessing = Some(preprocessing_for_weights(&card.arch, Format::Keras));
                eprintln!("convscope: Keras weights: Keras' \"caffe\" preprocessing (BGR, ImageNet means subtracted, no scaling)");
            }
            model
        }
        (None, Some(seed)) => Graph::synthetic(&card.arch, seed)?,
        (None, None) => {
            return Err(Error::Input(format!(
            "{} needs weights: --weights FILE (.safetensors, .pth, or Keras' .h5/.weights.h5/.keras), --synthetic SEED, or --model CARD.json",
            card.arch
        )))
        }
    };
    Ok((model, card))
}

pub fn read_input(args: &InputArgs, card: &ModelCard) -> Result<Tensor> {
    match (&args.image, &args.input) {
        (Some(path), _) => image::preprocess(
            &image::decode_file(path)?,
            &card.preprocessing(),
            card.arch.in_channels,
        ),
        (None, Some(path)) => {
            let x = npy::read(path)?;
            if x.rank() == 3 {
                Ok(x.unsqueeze(0)?) // accept [C,H,W] too
            } else {
                Ok(x)
            }
        }
        (None, None) => Err(Error::Input(
            "give an input: --image PICTURE or --input TENSOR.npy".into(),
        )),
    }
}

pub fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Input(format!("cannot encode JSON: {e}")))
}

/// [`check_output`] of an output the user may leave out, when given.
pub fn check_optional_output(path: &Option<PathBuf>, what: &str) -> Result<()> {
    match path {
        Some(path) => check_output(path, what),
        None => Ok(()),
    }
}

/// Refuses an output path that cannot be written, before any work is done: its folder
/// must exist and it must not be a folder itself.
pub fn check_output(path: &Path, what: &str) -> Result<()> {
    if path.is_dir() {
        return Err(Error::Input(format!(
            "{what} {} is a folder; give a file name",
            path.display()
        )));
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(Error::Input(format!(
            "{what} {}: the folder {} does not exist",
            path.display(),
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// clap parser of a count that must be at least 1 (`--top`, `--steps`): 0 would make a
/// command that silently does nothing.
pub fn at_least_one(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<i128>() {
        Ok(n) if n >= 1 => usize::try_from(n).map_err(|_| format!("{n} is too large")),
        Ok(n) => Err(format!("must be at least 1, got {n}")),
        Err(_) => Err(format!("must be a whole number of at least 1, got `{s}`")),
    }
}

/// clap parser of a class index: a negative one is named as such (clap alone would take
/// `-1` for an option and suggest `-- -1`); the upper bound is checked with the model.
pub fn class_index(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<i128>() {
        Ok(n) if n >= 0 => usize::try_from(n).map_err(|_| format!("class {n} is too large")),
        Ok(n) => Err(format!(
            "a class is an index from 0 to the number of classes - 1, got {n}"
        )),
        Err(_) => Err(format!("a class is a whole number from 0, got `{s}`")),
    }
}
