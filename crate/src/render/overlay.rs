//! Heatmaps over the picture the model saw, as pytorch-grad-cam's `show_cam_on_image`
//! draws them: `cam = alpha * colour(map) + (1 - alpha) * image` in [0, 1], divided by
//! its maximum, then `uint8(255 * cam)`.
//!
//! One formula for the CLI and the page. We keep `show_cam_on_image`'s rather than a
//! plain blend because the CLI's pictures are meant to match pytorch-grad-cam's pixel for
//! pixel; the division by the maximum cannot be done by a canvas' `globalAlpha`, so the
//! page never blends: a new opacity asks the worker for new pixels from here.

use super::{Colormap, Rgba};
use crate::error::{Error, Result};
use crate::methods::steps::resize_bilinear;

/// The map's weight in an overlay unless one is given (CLI `--alpha`, the page's opacity):
/// `show_cam_on_image`'s `image_weight` of 0.5.
pub const DEFAULT_ALPHA: f32 = 0.5;

/// How bright the pixels outside an occlusion mask stay (CLI `--view mask` and the page).
pub const MASK_DIM: f32 = 0.3;

fn check(image: &Rgba, map: &[f32]) -> Result<()> {
    if map.len() != image.width * image.height || image.data.len() != 4 * map.len() {
        return Err(Error::Input(format!(
            "the map has {} values but the picture is {}x{}; explain the picture the model saw",
            map.len(),
            image.width,
            image.height
        )));
    }
    Ok(())
}

/// The map alone in colour, `width x height` (for inputs that have no picture). NaN
/// marks a place without a value (the padding of a vector folded into a square) and is
/// drawn white.
pub fn heatmap(map: &[f32], width: usize, height: usize, cmap: Colormap) -> Result<Rgba> {
    if map.len() != width * height {
        return Err(Error::Input(format!(
            "the map has {} values, not {width}x{height}",
            map.len()
        )));
    }
    let data = map
        .iter()
        .flat_map(|v| {
            let [r, g, b] = if v.is_nan() { [255; 3] } else { cmap.rgb(*v) };
            [r, g, b, 255]
        })
        .collect();
    Ok(Rgba {
        width,
        height,
        data,
    })
}

/// `map` (values in [0, 1], one per pixel) in `cmap` over `image` with weight `alpha`.
pub fn overlay(image: &Rgba, map: &[f32], cmap: Colormap, alpha: f32) -> Result<Rgba> {
    check(image, map)?;
    if !(0.0..=1.0).contains(&alpha) {
        return Err(Error::Input(format!(
            "overlay alpha must be in [0, 1], got {alpha}"
        )));
    }
    let mut cam = Vec::with_capacity(3 * map.len());
    for (v, px) in map.iter().zip(image.data.chunks_exact(4)) {
        let heat = cmap.rgb(*v);
        for c in 0..3 {
            cam.push(alpha * heat[c] as f32 / 255.0 + (1.0 - alpha) * px[c] as f32 / 255.0);
        }
    }
    let top = cam
        .iter()
        .copied()
        .fold(0f32, f32::max)
        .max(f32::MIN_POSITIVE);
    let data = cam
        .chunks_exact(3)
        .flat_map(|p| {
            p.iter()
                .map(|v| (255.0 * v / top) as u8)
                .chain([255])
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(Rgba {
        width: image.width,
        height: image.height,
        data,
    })
}

/// `map` (`h x w` values in [0, 1]) stretched to the picture's size by OpenCV's bilinear
/// resize (`INTER_LINEAR`, as CAMs are upsampled), then laid over it as [`overlay`] does:
/// a feature map of a deeper, smaller layer over the input.
pub fn overlay_resized(
    image: &Rgba,
    map: &[f32],
    (h, w): (usize, usize),
    cmap: Colormap,
    alpha: f32,
) -> Result<Rgba> {
    if map.len() != h * w || h == 0 || w == 0 {
        return Err(Error::Input(format!(
            "the map has {} values, not {h}x{w}",
            map.len()
        )));
    }
    if (h, w) == (image.height, image.width) {
        return overlay(image, map, cmap, alpha);
    }
    let stretched = resize_bilinear(map, (h, w), (image.height, image.width));
    overlay(image, &stretched, cmap, alpha)
}

/// The occlusion tutorial's mask view: pixels where `mask` is 1 keep their colour, the
/// rest are dimmed to `dim` of their brightness.
pub fn mask(image: &Rgba, mask: &[f32], dim: f32) -> Result<Rgba> {
    check(image, mask)?;
    let mut out = image.clone();
    for (m, px) in mask.iter().zip(out.data.chunks_exact_mut(4)) {
        if *m < 0.5 {
            for c in px.iter_mut().take(3) {
                *c = (*c as f32 * dim) as u8;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_is_show_cam_on_image() {
        // One white pixel under map value 1 (jet: [128, 0, 0]) at alpha 0.5:
        // cam = 0.5 * [128/255, 0, 0] + 0.5 * [1, 1, 1] = [0.751, 0.5, 0.5]; divided by
        // its max 0.751 -> [1, 0.666, 0.666] -> [255, 169, 169].
        let white = Rgba::from_rgb(1, 1, &[255, 255, 255]);
        let out = overlay(&white, &[1.0], Colormap::Jet, 0.5).unwrap();
        assert_eq!(out.data, [255, 169, 169, 255]);
        assert!(overlay(&white, &[1.0, 0.0], Colormap::Jet, 0.5).is_err());
        assert!(overlay(&white, &[1.0], Colormap::Jet, 1.5).is_err());
    }

    #[test]
    fn mask_dims_outside() {
        let img = Rgba::from_rgb(2, 1, &[200, 100, 40, 200, 100, 40]);
        let out = mask(&img, &[1.0, 0.0], 0.25).unwrap();
        assert_eq!(out.data, [200, 100, 40, 255, 50, 25, 10, 255]);
    }

    #[test]
    fn a_small_map_is_stretched_bilinearly_before_the_overlay() {
        // A 1x2 map [0, 1] over a black 1x4 picture at alpha 1: half-pixel bilinear
        // gives [0, 0.25, 0.75, 1]; gray entries floor(255 v) = [0, 63, 191, 255], each
        // divided by the picture's maximum 255 -> the same levels.
        let black = Rgba::from_rgb(4, 1, &[0; 12]);
        let out = overlay_resized(&black, &[0.0, 1.0], (1, 2), Colormap::Gray, 1.0).unwrap();
        let red: Vec<u8> = out.data.chunks_exact(4).map(|p| p[0]).collect();
        assert_eq!(red, [0, 63, 191, 255]);
        assert!(overlay_resized(&black, &[0.0; 3], (1, 2), Colormap::Gray, 1.0).is_err());
    }

    #[test]
    fn heatmap_draws_missing_values_white() {
        let out = heatmap(&[1.0, f32::NAN], 2, 1, Colormap::Jet).unwrap();
        assert_eq!(out.data, [128, 0, 0, 255, 255, 255, 255, 255]);
    }
}
