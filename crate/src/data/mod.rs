//! Data sets on disk: the IDX reader and Fashion-MNIST as Debian's
//! `dataset-fashion-mnist` package installs it, and the shortcut marker painted on
//! images to build the biased training set.

pub mod idx;
pub mod shortcut;

pub use idx::LabelledImages;
pub use shortcut::Marker;

use crate::error::Result;
use std::path::{Path, PathBuf};

/// Where `apt-get install dataset-fashion-mnist` puts the gzipped IDX files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Fashion-MNIST's ten classes, in label order (Xiao et al. 2017).
pub const FASHION_MNIST_LABELS: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// One of the two standard splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// 60,000 images.
    Train,
    /// 10,000 images.
    Test,
}

/// The image and label files of a split in `dir` (Debian's names, gzipped).
pub fn fashion_mnist_files(dir: &Path, split: Split) -> (PathBuf, PathBuf) {
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    (
        dir.join(format!("{prefix}-images-idx3-ubyte.gz")),
        dir.join(format!("{prefix}-labels-idx1-ubyte.gz")),
    )
}

/// Reads a split of Fashion-MNIST from `dir`; a missing file says which package
/// provides it.
pub fn fashion_mnist(dir: &Path, split: Split) -> Result<LabelledImages> {
    let (images, labels) = fashion_mnist_files(dir, split);
    for f in [&images, &labels] {
        if !f.is_file() {
            return Err(crate::Error::Input(format!(
                "Fashion-MNIST file {} not found; install the data set with \
                 `apt-get install dataset-fashion-mnist` (or pass the folder that holds it)",
                f.display()
            )));
        }
    }
    LabelledImages::read(&images, &labels, FASHION_MNIST_LABELS.len())
}
