//! Image decoding and preprocessing: bytes -> picture -> the `[1, C, H, W]` tensor a
//! model takes.
//!
//! [`decode`] guesses the format from the bytes (browsers and users mislabel files), turns
//! photos upright as their EXIF orientation says, and runs under fixed limits, so a
//! hostile or broken file yields an `Error::Image` that says what is wrong instead of a
//! panic or an out-of-memory abort in the tab.
//!
//! [`preprocess`] reproduces what the weights were trained with (torchvision's ImageNet
//! eval transform, Keras "caffe" mode, or a plain resize), because a model fed
//! differently normalised pixels gives confident nonsense. One resize/crop path serves
//! both the tensor and [`model_view`], so the picture the page shows is exactly the one
//! the model saw.

mod decode;
mod preprocess;

pub use decode::{decode, decode_file, limits, MAX_ALLOC, MAX_DIMENSION};
pub use preprocess::{
    model_view, preprocess, Preprocessing, CAFFE_MEAN_BGR, IMAGENET_MEAN, IMAGENET_STD,
};
