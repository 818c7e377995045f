//! convscope: look inside VGG-family convolutional networks.
//!
//! One platform-free core (model, weights, reverse pass, images, predictions) with two
//! thin faces: the `convscope` command line (`src/bin/convscope.rs`) and the
//! WebAssembly bindings (`src/wasm.rs`, compiled only for `wasm32`).

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
