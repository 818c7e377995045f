//! One error type for the whole core. Every variant names the input at fault, so the
//! CLI and the page can show the message as it is.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// The architecture name or spec string could not be understood.
    #[error("architecture spec: {0}")]
    Spec(String),

    /// The weights file is not a readable safetensors file.
    #[error("weights file: {0}")]
    WeightsFile(String),

    /// A tensor the architecture needs is absent from the weights.
    #[error("weights: missing tensor `{name}` (expected shape {expected:?})")]
    MissingTensor { name: String, expected: Vec<usize> },

    /// The weights hold tensors the architecture has no place for.
    #[error("weights: unexpected tensor(s) {names} not used by architecture {arch} (are these weights for another model?)")]
    ExtraTensors { names: String, arch: String },

    /// An ONNX model that cannot be read, or that uses what the engine does not run.
    #[error("onnx: {0}")]
    Onnx(String),

    /// A tensor exists but has the wrong shape.
    #[error("weights: tensor `{name}` has shape {found:?}, expected {expected:?} (are these weights for another architecture?)")]
    TensorShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },

    /// Several tensors do not fit: most likely weights of another architecture.
    #[error("weights do not fit architecture {arch}: {detail}")]
    ArchMismatch { arch: String, detail: String },

    /// A tensor is stored in a type we cannot compute with.
    #[error("weights: tensor `{name}` has dtype {dtype}, expected F32, F16 or BF16")]
    TensorDtype { name: String, dtype: String },

    /// The image bytes could not be decoded or are outside the limits.
    #[error("image: {0}")]
    Image(String),

    /// An input tensor does not fit the model.
    #[error("input: {0}")]
    Input(String),

    /// A layer name that the model does not have.
    #[error("unknown layer `{name}`; this model's layers are {known}")]
    UnknownLayer { name: String, known: String },

    /// A model card that is malformed or points at something missing.
    #[error("model card: {0}")]
    Card(String),

    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },

    /// A `.npy` file that is not a float32/float64 array of the expected rank.
    #[error("npy: {0}")]
    Npy(String),

    /// The caller's progress callback asked to stop.
    #[error("cancelled")]
    Cancelled,

    /// An error inside candle; should not happen for inputs that passed our checks.
    #[error("tensor computation: {0}")]
    Candle(#[from] candle_core::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
