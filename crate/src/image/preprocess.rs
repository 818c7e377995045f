//! Preprocessing: a decoded picture -> the `[1, C, H, W]` tensor a model takes, as the
//! weights were trained (torchvision, Keras "caffe", plain scale), and the picture the
//! model sees.

use candle_core::{Device, Tensor};
use image::imageops::FilterType;
use image::{DynamicImage, ImageBuffer, Pixel, RgbImage};
use serde::{Deserialize, Serialize};

use super::decode::{MAX_ALLOC, MAX_DIMENSION};
use crate::error::{Error, Result};

/// ImageNet per-channel mean of RGB values in [0, 1] (torchvision's constants).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet per-channel standard deviation of RGB values in [0, 1].
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// Keras `preprocess_input(mode="caffe")` mean, BGR order, 0-255 scale.
pub const CAFFE_MEAN_BGR: [f32; 3] = [103.939, 116.779, 123.68];

/// How raw pixels become model input; stored in the model card's JSON.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Preprocessing {
    /// torchvision's ImageNet eval transform: resize the shorter side to `resize`
    /// (bilinear, antialiased), centre-crop `crop` x `crop`, then `(v/255 - mean)/std`.
    Torchvision {
        resize: u32,
        crop: u32,
        mean: Vec<f32>,
        std: Vec<f32>,
    },
    /// Keras "caffe" mode (Keras-converted VGG weights): resize/crop as `Torchvision`
    /// with `resize == crop == size`, RGB -> BGR, subtract [`CAFFE_MEAN_BGR`] on the
    /// 0-255 scale, no scaling.
    Caffe { size: u32 },
    /// Resize straight to `size` x `size` (no crop), then `(v/255 - mean)/std`; for small
    /// models such as Fashion-MNIST (28x28 grayscale).
    Scale {
        size: u32,
        mean: Vec<f32>,
        std: Vec<f32>,
    },
}

impl Preprocessing {
    /// torchvision's standard ImageNet eval transform (resize 256, crop 224).
    pub fn imagenet() -> Self {
        Preprocessing::Torchvision {
            resize: 256,
            crop: 224,
            mean: IMAGENET_MEAN.to_vec(),
            std: IMAGENET_STD.to_vec(),
        }
    }

    /// Side of the square picture the model receives.
    pub fn input_size(&self) -> u32 {
        match self {
            Preprocessing::Torchvision { crop, .. } => *crop,
            Preprocessing::Caffe { size } | Preprocessing::Scale { size, .. } => *size,
        }
    }
}

/// The picture as a model of `channels` input channels sees it (resized and cropped,
/// before normalisation): grey for a one-channel model, its luminance taken first as
/// [`preprocess`] takes it, so the picture shown is the one the model gets.
///
/// Fallible, unlike a plain picture transform, because a card's sizes or an extreme
/// aspect ratio could ask for an intermediate image too large to allocate.
pub fn model_view(img: &DynamicImage, pre: &Preprocessing, channels: usize) -> Result<RgbImage> {
    check_geometry(img.width(), img.height(), pre)?;
    Ok(match channels {
        1 => DynamicImage::ImageLuma8(fit(img.to_luma8(), pre)).to_rgb8(),
        _ => fit(img.to_rgb8(), pre),
    })
}

/// Decoded picture -> `[1, channels, H, W]` f32 tensor on the CPU.
///
/// `channels` 3 takes RGB (alpha is dropped, as PIL's `convert("RGB")` does); 1 takes
/// luminance (`to_luma8`). Normalisation is computed in f64 and rounded once to f32.
pub fn preprocess(img: &DynamicImage, pre: &Preprocessing, channels: usize) -> Result<Tensor> {
    let norm = Normalisation::new(pre, channels)?;
    check_geometry(img.width(), img.height(), pre)?;
    let (w, h, raw) = match channels {
        3 => {
            let view = fit(img.to_rgb8(), pre);
            (
                view.width() as usize,
                view.height() as usize,
                view.into_raw(),
            )
        }
        _ => {
            let view = fit(img.to_luma8(), pre);
            (
                view.width() as usize,
                view.height() as usize,
                view.into_raw(),
            )
        }
    };
    let plane = w * h;
    let mut data = vec![0f32; channels * plane];
    for (i, px) in raw.chunks_exact(channels).enumerate() {
        for c in 0..channels {
            let src = if norm.bgr { channels - 1 - c } else { c };
            let v = px[src] as f64 / norm.divisor;
            data[c * plane + i] = ((v - norm.mean[c]) / norm.std[c]) as f32;
        }
    }
    Ok(Tensor::from_vec(data, (1, channels, h, w), &Device::Cpu)?)
}

/// Per-output-channel constants, validated against the channel count.
struct Normalisation {
    mean: Vec<f64>,
    std: Vec<f64>,
    /// 255 for `v/255` schemes, 1 for caffe's raw 0-255 values.
    divisor: f64,
    /// Output channel c reads input channel `channels - 1 - c` (RGB -> BGR).
    bgr: bool,
}

impl Normalisation {
    fn new(pre: &Preprocessing, channels: usize) -> Result<Self> {
        if channels != 1 && channels != 3 {
            return Err(Error::Input(format!(
                "images give 1 (grayscale) or 3 (RGB) channels, the model wants {channels}"
            )));
        }
        let (mean, std, divisor, bgr) = match pre {
            Preprocessing::Torchvision { mean, std, .. }
            | Preprocessing::Scale { mean, std, .. } => {
                (mean.as_slice(), std.as_slice(), 255.0, false)
            }
            Preprocessing::Caffe { .. } => {
                if channels != 3 {
                    return Err(Error::Input(format!(
                        "caffe preprocessing is defined for 3-channel (BGR) models, \
                         this one takes {channels}"
                    )));
                }
                (&CAFFE_MEAN_BGR[..], &[1.0f32][..], 1.0, true)
            }
        };
        Ok(Normalisation {
            mean: per_channel("mean", mean, channels)?,
            std: per_channel("std", std, channels)?,
            divisor,
            bgr,
        })
    }
}

/// Broadcasts a 1-value list, accepts a `channels`-value list, rejects anything else,
/// and rejects values that would make the input NaN or infinite.
fn per_channel(what: &str, values: &[f32], channels: usize) -> Result<Vec<f64>> {
    if values.len() != 1 && values.len() != channels {
        let allowed = if channels == 1 {
            "1".to_string()
        } else {
            format!("1 or {channels}")
        };
        return Err(Error::Input(format!(
            "preprocessing {what} has {} values; the model takes {channels} channel(s), \
             so give {allowed}",
            values.len()
        )));
    }
    if values
        .iter()
        .any(|v| !v.is_finite() || (what == "std" && *v == 0.0))
    {
        return Err(Error::Input(format!(
            "preprocessing {what} {values:?} must be finite{}",
            if what == "std" { " and non-zero" } else { "" }
        )));
    }
    Ok((0..channels)
        .map(|c| values[c.min(values.len() - 1)] as f64)
        .collect())
}

/// Rejects sizes that are zero or would allocate absurd intermediate images, so that
/// [`fit`] itself never has to fail.
fn check_geometry(w: u32, h: u32, pre: &Preprocessing) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(Error::Input(format!("image is empty ({w}x{h} pixels)")));
    }
    let sizes: &[u32] = match pre {
        Preprocessing::Torchvision { resize, crop, .. } => &[*resize, *crop],
        Preprocessing::Caffe { size } | Preprocessing::Scale { size, .. } => &[*size],
    };
    if let Some(bad) = sizes.iter().find(|s| **s == 0 || **s > MAX_DIMENSION) {
        return Err(Error::Input(format!(
            "preprocessing size {bad} is outside 1..={MAX_DIMENSION}"
        )));
    }
    let (rw, rh) = resized_size(w, h, pre);
    // 4 bytes a pixel covers RGB(A)/luma u8 buffers with room to spare.
    if rw > MAX_DIMENSION as u64 || rh > MAX_DIMENSION as u64 || rw * rh * 4 > MAX_ALLOC {
        return Err(Error::Input(format!(
            "a {w}x{h} image would be resized to {rw}x{rh} before cropping, over the \
             limit of {MAX_DIMENSION}x{MAX_DIMENSION}; crop it to a less extreme shape"
        )));
    }
    Ok(())
}

/// Size after the resize step (before any crop); equal to `(w, h)` when it is skipped.
///
/// torchvision sets the shorter side to `resize` and the longer to
/// `int(long * resize / short)`; with integers below 2^32 the float division there
/// truncates to the same value as this integer division.
fn resized_size(w: u32, h: u32, pre: &Preprocessing) -> (u64, u64) {
    let (w64, h64) = (w as u64, h as u64);
    match pre {
        Preprocessing::Torchvision { crop, .. } | Preprocessing::Caffe { size: crop }
            if w == *crop && h == *crop =>
        {
            (w64, h64)
        }
        Preprocessing::Torchvision { resize: s, .. } | Preprocessing::Caffe { size: s } => {
            let s = *s as u64;
            if w64 <= h64 {
                (s, h64 * s / w64)
            } else {
                (w64 * s / h64, s)
            }
        }
        Preprocessing::Scale { size, .. } => (*size as u64, *size as u64),
    }
}

/// The single resize/crop path shared by [`preprocess`] and [`model_view`]; generic so
/// grayscale is resized as luminance, as torchvision does with an `L`-mode image.
///
/// Callers run [`check_geometry`] first. A picture already at the model's input size
/// passes through untouched, so fixture PNGs reproduce their `.npy` exactly.
fn fit<P>(img: ImageBuffer<P, Vec<u8>>, pre: &Preprocessing) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8> + 'static,
{
    let (w, h) = img.dimensions();
    let (rw, rh) = resized_size(w, h, pre);
    let (rw, rh) = (rw as u32, rh as u32);
    // Triangle = bilinear, widened when shrinking: torchvision's `antialias=True`.
    let resized = if (rw, rh) == (w, h) {
        img
    } else {
        image::imageops::resize(&img, rw, rh, FilterType::Triangle)
    };
    match pre {
        Preprocessing::Torchvision { crop, .. } | Preprocessing::Caffe { size: crop } => {
            centre_crop(resized, *crop)
        }
        Preprocessing::Scale { .. } => resized,
    }
}

/// torchvision's `center_crop`, including its zero padding when the image is smaller
/// than the crop.
fn centre_crop<P>(img: ImageBuffer<P, Vec<u8>>, crop: u32) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8> + 'static,
{
    let (w, h) = img.dimensions();
    if (w, h) == (crop, crop) {
        return img;
    }
    let (left, top) = (crop_offset(w, crop), crop_offset(h, crop));
    let mut out = ImageBuffer::new(crop, crop);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let (sx, sy) = (x as i64 + left, y as i64 + top);
        if (0..w as i64).contains(&sx) && (0..h as i64).contains(&sy) {
            *px = *img.get_pixel(sx as u32, sy as u32);
        }
    }
    out
}

/// Source offset of the crop along one axis. torchvision uses Python's `round`, which
/// rounds halves to even (a 1-pixel surplus gives offset 0, a 3-pixel one offset 2);
/// a negative offset is padding, `floor(deficit / 2)` before the image.
fn crop_offset(len: u32, crop: u32) -> i64 {
    if len >= crop {
        ((len - crop) as f64 / 2.0).round_ties_even() as i64
    } else {
        -(((crop - len) / 2) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_offset_rounds_half_to_even_like_python() {
        // Python: round(0.5) = 0, round(1.5) = 2, round(2.5) = 2, round(16.0) = 16.
        assert_eq!(crop_offset(225, 224), 0);
        assert_eq!(crop_offset(227, 224), 2);
        assert_eq!(crop_offset(229, 224), 2);
        assert_eq!(crop_offset(256, 224), 16);
        assert_eq!(crop_offset(221, 224), -1);
    }

    #[test]
    fn resized_size_matches_torchvision() {
        let pre = Preprocessing::imagenet();
        // torchvision: int(400 * 256 / 300) = 341.
        assert_eq!(resized_size(300, 400, &pre), (256, 341));
        assert_eq!(resized_size(400, 300, &pre), (341, 256));
        assert_eq!(resized_size(224, 224, &pre), (224, 224));
        assert_eq!(resized_size(500, 500, &pre), (256, 256));
    }
}
