//! Keras weights files, read from their bytes: Keras 2's HDF5 layout (the
//! `keras.applications` files such as `vgg16_weights_tf_dim_ordering_tf_kernels.h5`),
//! Keras 3's `.weights.h5`, and the `.keras` archive around it. HDF5 is read by the
//! pure-Rust `hdf5-pure` crate, so the page can read what a user picks; the layers are
//! matched to a VGG graph by their Keras names (see `vgg`).

mod archive;
pub mod convert;
mod h5;
pub mod layout;
pub mod vgg;

use crate::error::Result;
use h5::H5;
pub use h5::SIGNATURE;
pub use layout::{Layer, Layout, Var};

/// An opened Keras weights file and the layers that hold weights.
pub struct KerasFile {
    h5: H5,
    pub layout: Layout,
    /// Whether the file was a `.keras` archive.
    pub archive: bool,
    pub layers: Vec<Layer>,
}

/// Whether the bytes are a Keras weights file: HDF5, or a `.keras` zip archive.
pub fn is_keras(bytes: &[u8]) -> bool {
    bytes.starts_with(SIGNATURE) || archive::looks_like_keras(bytes)
}

/// Opens a Keras weights file (HDF5 or `.keras`) and lists its layers; values are read
/// later, layer by layer, once their shapes are known to fit.
pub fn read(bytes: Vec<u8>) -> Result<KerasFile> {
    let (range, archive) = if bytes.starts_with(SIGNATURE) {
        (0..bytes.len(), false)
    } else {
        (archive::weights_range(&bytes)?, true)
    };
    let h5 = H5::open(bytes, range.start, range.end)?;
    let (layout, layers) = layout::layers(&h5)?;
    Ok(KerasFile {
        h5,
        layout,
        archive,
        layers,
    })
}

impl KerasFile {
    /// A variable's values as f32, in Keras' layout.
    pub fn values(&self, var: &Var) -> Result<Vec<f32>> {
        let count = var
            .shape
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .unwrap_or(usize::MAX);
        self.h5.values(&var.path, var.float, count)
    }
}
