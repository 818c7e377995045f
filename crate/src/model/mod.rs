//! The VGG family: architecture specs, layers, weights, the forward and reverse passes.

pub mod arch;
pub mod card;
pub mod conv;
pub mod families;
pub mod graph;
pub(crate) mod cpu;
pub mod formats;
pub mod layers;
pub mod ops;
pub mod params;
pub(crate) mod pool;
pub mod summary;
pub mod synthetic;
pub mod vgg;
pub mod weights;

pub use arch::{ArchSpec, CfgItem};
pub use card::ModelCard;
pub use layers::{Layer, Op, ReluGrad};
pub use vgg::{one_hot, Trace, Vgg};
