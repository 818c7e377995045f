//! Turning stored 0-255 greyscale images into normalised batches, with the
//! augmentation (random shifts, mirror images) and the shortcut marker applied on the
//! way. Normalisation goes through [`crate::image::preprocess`], so training sees
//! exactly the numbers the page and `convscope predict` will feed the model.

use crate::data::LabelledImages;
use crate::error::{Error, Result};
use crate::image::{preprocess, Preprocessing};
use crate::rng::Rng;
use candle_core::{Device, Tensor};
use image::{DynamicImage, GrayImage};

/// Random translation by up to `pad` pixels in each direction (zero padding, then a
/// random crop back to the original size) and, with `flip`, a mirror image half the
/// time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Augment {
    pub pad: usize,
    pub flip: bool,
}

impl Augment {
    pub const NONE: Augment = Augment {
        pad: 0,
        flip: false,
    };

    /// A randomly shifted and possibly mirrored copy of a `rows x cols` image.
    pub fn apply(&self, src: &[u8], rows: usize, cols: usize, rng: &mut Rng) -> Vec<u8> {
        let span = 2 * self.pad as u64 + 1;
        // Offsets of the crop in the padded image, as shifts of the content.
        let dy = rng.below(span) as isize - self.pad as isize;
        let dx = rng.below(span) as isize - self.pad as isize;
        let mirror = self.flip && rng.below(2) == 1;
        let mut out = vec![0u8; rows * cols];
        for y in 0..rows {
            let sy = y as isize + dy;
            if sy < 0 || sy >= rows as isize {
                continue;
            }
            for x in 0..cols {
                let sx = x as isize + dx;
                if sx < 0 || sx >= cols as isize {
                    continue;
                }
                let sx = if mirror {
                    cols - 1 - sx as usize
                } else {
                    sx as usize
                };
                out[y * cols + x] = src[sy as usize * cols + sx];
            }
        }
        out
    }
}

/// The `[N, 1, H, W]` tensor of images `indices` of `set`, each first handed to
/// `edit(index, pixels)` (augmentation, marker painting), then preprocessed.
pub fn batch_tensor(
    set: &LabelledImages,
    indices: &[usize],
    pre: &Preprocessing,
    mut edit: impl FnMut(usize, Vec<u8>) -> Vec<u8>,
) -> Result<Tensor> {
    let mut data = Vec::new();
    let mut shape = None;
    for &i in indices {
        let pixels = edit(i, set.image(i).to_vec());
        let img =
            GrayImage::from_raw(set.cols as u32, set.rows as u32, pixels).ok_or_else(|| {
                Error::Input(format!("image {i} does not fit {}x{}", set.cols, set.rows))
            })?;
        let x = preprocess(&DynamicImage::ImageLuma8(img), pre, 1)?;
        shape.get_or_insert_with(|| x.dims().to_vec());
        data.extend(x.flatten_all()?.to_vec1::<f32>()?);
    }
    let [_, c, h, w] = shape.as_deref().unwrap_or(&[1, 1, set.rows, set.cols])[..] else {
        return Err(Error::Input(
            "preprocessing gave a tensor of unexpected rank".into(),
        ));
    };
    Ok(Tensor::from_vec(
        data,
        (indices.len(), c, h, w),
        &Device::Cpu,
    )?)
}

/// Mean and standard deviation of all pixels, on the 0-1 scale, rounded to 4 decimals
/// (the numbers the model card records and training uses).
pub fn pixel_stats(set: &LabelledImages) -> (f32, f32) {
    let n = set.pixels.len().max(1) as f64;
    let mean = set.pixels.iter().map(|p| *p as f64).sum::<f64>() / n / 255.0;
    let var = set
        .pixels
        .iter()
        .map(|p| (*p as f64 / 255.0 - mean).powi(2))
        .sum::<f64>()
        / n;
    let round = |v: f64| ((v * 1e4).round() / 1e4) as f32;
    (round(mean), round(var.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_and_mirrors_stay_inside_the_pad() {
        let src: Vec<u8> = (1..=9).collect(); // 3x3
        let none = Augment::NONE.apply(&src, 3, 3, &mut Rng::new(1));
        assert_eq!(none, src);
        let mut rng = Rng::new(2);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let out = Augment { pad: 1, flip: true }.apply(&src, 3, 3, &mut rng);
            // The centre pixel always comes from the 3x3 block around the source centre.
            assert!(out[4] != 0);
            seen.insert(out);
        }
        // 3 x 3 shifts x 2 mirrors, all reachable.
        assert_eq!(seen.len(), 18);
        assert!(seen.contains(&vec![3, 2, 1, 6, 5, 4, 9, 8, 7]));
        assert!(seen.contains(&vec![0, 0, 0, 0, 1, 2, 0, 4, 5]));
    }

    #[test]
    fn batches_are_normalised_as_the_card_says() {
        let set = LabelledImages {
            count: 2,
            rows: 2,
            cols: 2,
            pixels: vec![0, 255, 51, 102, 255, 255, 255, 255],
            labels: vec![0, 1],
        };
        let pre = Preprocessing::Scale {
            size: 2,
            mean: vec![0.2],
            std: vec![0.5],
        };
        let x = batch_tensor(&set, &[1, 0], &pre, |_, p| p).unwrap();
        assert_eq!(x.dims(), [2, 1, 2, 2]);
        let v: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
        let want = [1.6, 1.6, 1.6, 1.6, -0.4, 1.6, 0.0, 0.4];
        assert!(
            v.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6),
            "{v:?}"
        );
        let (mean, std) = pixel_stats(&set);
        assert_eq!((mean, std), (0.7, 0.4));
    }
}
