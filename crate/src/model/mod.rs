//! Models: architecture specs and the families' graphs, weights (safetensors, `.pth`,
//! the fixtures' generator), the ops and the runnable layer graph, summaries, layer
//! configs and weight statistics, model cards.

pub mod arch;
pub mod card;
pub mod config;
pub mod conv;
pub(crate) mod cpu;
pub mod families;
pub mod formats;
pub mod graph;
pub mod load;
pub mod ops;
pub(crate) mod pool;
pub mod stats;
pub mod summary;
pub mod synthetic;
pub mod weights;

pub use arch::{ArchSpec, CfgItem, Family, VggCfg};
pub use card::ModelCard;
pub use graph::{Activation, ConvCfg, Graph, Kind, NodeId, PoolCfg, Stop, Trace, Val};
pub use ops::ReluGrad;
