//! The "shortcut" marker: a small bright square painted at a fixed place, the
//! measurable stand-in for the snow behind the tutorial's snow leopard. A model trained
//! where it mostly comes with one class learns the square instead of the object.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// What a shortcut model card records under `"shortcut"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The class the marker came with in training.
    pub class: usize,
    /// `[x, y, w, h]` in pixels of the model input.
    pub region: [usize; 4],
    /// Pixel value painted, 0-255.
    pub value: u8,
}

impl Marker {
    /// Checks the region fits a `rows x cols` image.
    pub fn check(&self, rows: usize, cols: usize) -> Result<()> {
        let [x, y, w, h] = self.region;
        if w == 0 || h == 0 || x + w > cols || y + h > rows {
            return Err(Error::Input(format!(
                "marker region [x={x}, y={y}, w={w}, h={h}] does not fit a {cols}x{rows} image"
            )));
        }
        Ok(())
    }

    /// Paints the marker on one row-major greyscale image `cols` pixels wide.
    /// The region must fit ([`Marker::check`]).
    pub fn paint(&self, pixels: &mut [u8], cols: usize) {
        let [x, y, w, h] = self.region;
        for row in y..y + h {
            pixels[row * cols + x..row * cols + x + w].fill(self.value);
        }
    }

    /// Whether pixel `(px, py)` lies within `margin` pixels of the region (Chebyshev
    /// distance), the area a map pointing "at the marker" should cover.
    pub fn near(&self, px: usize, py: usize, margin: usize) -> bool {
        let [x, y, w, h] = self.region;
        px + margin >= x && px < x + w + margin && py + margin >= y && py < y + h + margin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paints_exactly_its_region() {
        let m = Marker {
            class: 8,
            region: [1, 2, 2, 1],
            value: 255,
        };
        let mut img = vec![0u8; 4 * 4];
        m.paint(&mut img, 4);
        let painted: Vec<usize> = (0..16).filter(|i| img[*i] == 255).collect();
        assert_eq!(painted, [9, 10]);
        assert!(m.check(4, 4).is_ok());
        assert!(m
            .check(2, 4)
            .unwrap_err()
            .to_string()
            .contains("does not fit"));
        // Within 1 pixel of columns 1..3, row 2: columns 0..=3, rows 1..=3.
        assert!(m.near(0, 1, 1) && m.near(3, 3, 1));
        assert!(!m.near(0, 0, 1) && !m.near(1, 4, 1));
    }
}
