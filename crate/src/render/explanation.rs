//! The picture of an explanation that a person saves: the map over the picture the model
//! saw (alone, for an input that has no picture), enlarged by whole pixels to a readable
//! size, with a colour bar; an occlusion mask keeps the windows that matter and dims the
//! rest, without a bar. `convscope explain --png` writes it and the page's "Save PNG"
//! saves it, both from [`picture`], so the two files hold the same pixels.

use super::overlay::{self, MASK_DIM};
use super::{colorbar, Colormap, Rgba};
use crate::error::{Error, Result};

/// What is laid over the picture: a map in [0, 1] shown in colour, or a 0/1 mask.
#[derive(Clone, Copy, Debug)]
pub enum Shown<'a> {
    Heat(&'a [f32]),
    Mask(&'a [f32]),
}

/// How the map is drawn: colormap, the map's weight in the overlay, and the enlargement
/// (`None`: the smallest whole factor that brings the shorter side to [`MIN_SIDE`]).
#[derive(Clone, Copy, Debug)]
pub struct Look {
    pub cmap: Colormap,
    pub alpha: f32,
    pub zoom: Option<usize>,
}

/// The shorter side of a saved picture, at least, when no zoom is given: a 28-pixel
/// Fashion-MNIST map becomes 224 pixels, VGG16's 224 stays as it is.
pub const MIN_SIDE: usize = 224;

/// The picture: `shown` over `seen` (or alone, `width x height` from `size` = `(h, w)`,
/// when there is no picture), zoomed, with a colour bar unless it is a mask.
pub fn picture(
    seen: Option<&Rgba>,
    shown: Shown,
    (h, w): (usize, usize),
    look: Look,
) -> Result<Rgba> {
    if look.zoom == Some(0) {
        return Err(Error::Input("the zoom must be at least 1".into()));
    }
    let picture = match (seen, shown) {
        (Some(seen), Shown::Mask(mask)) => overlay::mask(seen, mask, MASK_DIM)?,
        (Some(seen), Shown::Heat(map)) => overlay::overlay(seen, map, look.cmap, look.alpha)?,
        (None, Shown::Heat(map) | Shown::Mask(map)) => overlay::heatmap(map, w, h, look.cmap)?,
    };
    let picture = picture.zoom(look.zoom.unwrap_or_else(|| picture.factor_for(MIN_SIDE)));
    Ok(match shown {
        Shown::Mask(_) => picture,
        Shown::Heat(_) => colorbar::with_colorbar(&picture, look.cmap),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOK: Look = Look {
        cmap: Colormap::Jet,
        alpha: 0.5,
        zoom: Some(3),
    };

    #[test]
    fn the_overlay_zoomed_with_its_bar() {
        let seen = Rgba::from_rgb(2, 1, &[255, 255, 255, 0, 0, 0]);
        let map = [1.0, 0.0];
        let out = picture(Some(&seen), Shown::Heat(&map), (1, 2), LOOK).unwrap();
        let plain = overlay::overlay(&seen, &map, Colormap::Jet, 0.5).unwrap();
        let want = colorbar::with_colorbar(&plain.zoom(3), Colormap::Jet);
        assert_eq!(out, want);
        // The white pixel under jet's top colour, as in overlay's own test.
        assert_eq!(out.data[..4], [255, 169, 169, 255]);
    }

    #[test]
    fn a_mask_dims_the_rest_and_has_no_bar() {
        let seen = Rgba::from_rgb(2, 1, &[200, 100, 40, 200, 100, 40]);
        let out = picture(Some(&seen), Shown::Mask(&[1.0, 0.0]), (1, 2), LOOK).unwrap();
        assert_eq!((out.width, out.height), (6, 3));
        assert_eq!(out.data[4 * 3..4 * 4], [60, 30, 12, 255]); // 0.3 of 200, 100, 40
    }

    #[test]
    fn without_a_picture_the_map_alone_reaches_224_pixels() {
        let map = [0.5; 28 * 28];
        let look = Look { zoom: None, ..LOOK };
        let out = picture(None, Shown::Heat(&map), (28, 28), look).unwrap();
        assert_eq!(out.height, 224);
        assert!(picture(
            None,
            Shown::Heat(&map),
            (28, 28),
            Look {
                zoom: Some(0),
                ..LOOK
            }
        )
        .is_err());
    }
}
