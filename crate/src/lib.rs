//! convscope: look inside convolutional networks (the VGG family, ResNet, MobileNet,
//! EfficientNet, DenseNet, ConvNeXt, and ONNX or Keras files of them).
//!
//! One platform-free core (the layer graph and its formats, the reverse pass, images,
//! methods, faithfulness scores, probes, rendering, training) with two thin faces: the
//! `convscope` command line (`src/bin/convscope/`) and the WebAssembly bindings
//! (`src/wasm.rs` and `src/wasm/`, compiled only for `wasm32`). Definitions and
//! conventions: `docs/METHODS.md`.

// No unwrap/expect in library code: every failure on user data is an `Error` that names
// it (tests may unwrap). The CLI and the wasm bindings deny them again, with `panic!`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod data;
pub mod error;
pub mod faithfulness;
pub mod image;
pub mod labels;
pub mod limits;
pub mod methods;
pub mod model;
pub mod npy;
pub mod predict;
pub mod probes;
pub mod progress;
pub mod render;
pub mod rng;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};
