//! The layer graph: a network as named nodes in a topological order (`spec`), built by
//! the families' builders (`builder`), each node computing one operation (`kind`); bound
//! to its weights it runs forward and backward (`network`), plain passes running
//! inverted residuals' expansions and depthwise convolutions together (`chain`).

pub mod builder;
mod chain;
pub mod kind;
pub mod network;
pub mod spec;

pub use kind::{Activation, ConvCfg, Kind, PoolCfg};
pub use network::{Graph, ShapedParams, Stop, Trace, Val};
pub use spec::{GraphSpec, NodeId, NodeSpec, Src, StateEntry};
