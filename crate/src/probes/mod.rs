//! Feature visualization: what a layer's filters look like ([`filters`]), what a layer
//! sees in an image ([`feature_maps`]) and what input a unit wants most ([`maximize`]).
//! Platform-free: the CLI and the page call the same functions.

pub mod feature_maps;
pub mod filters;
mod fourier;
mod image_param;
pub mod maximize;
mod regularizers;
pub mod tiles;

pub use tiles::{Scaling, TileGrid, TileInfo};
