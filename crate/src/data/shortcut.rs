//! The "shortcut" marker: a small square painted at a fixed place, the measurable
//! stand-in for the snow behind the tutorial's snow leopard. A model trained where it
//! mostly comes with one class learns the square instead of the object.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How a marker fills its region.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pattern {
    /// Every pixel `value`.
    #[default]
    Solid,
    /// `value` where the pixel's column + row inside the region is even, 0 elsewhere
    /// (the region's top-left pixel is `value`). A solid bright square excites the
    /// same "bright here" channels as the (bright) garment, so a model's Grad-CAM
    /// spreads over the garment too; a 1-pixel checkerboard appears nowhere in
    /// Fashion-MNIST, so the channels that learn it fire on it alone.
    Checkerboard,
}

/// What a shortcut model card records under `"shortcut"`. Cards without `pattern`
/// mean a solid square.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The class the marker came with in training.
    pub class: usize,
    /// `[x, y, w, h]` in pixels of the model input.
    pub region: [usize; 4],
    /// Pixel value painted, 0-255.
    pub value: u8,
    #[serde(default)]
    pub pattern: Pattern,
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
        for row in 0..h {
            for col in 0..w {
                pixels[(y + row) * cols + x + col] = match self.pattern {
                    Pattern::Solid => self.value,
                    Pattern::Checkerboard if (row + col) % 2 == 0 => self.value,
                    Pattern::Checkerboard => 0,
                };
            }
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

    fn marker(class: usize, region: [usize; 4], value: u8, pattern: Pattern) -> Marker {
        Marker {
            class,
            region,
            value,
            pattern,
        }
    }

    /// A `cols x rows` image of `background` with `m` painted on it.
    fn painted(m: &Marker, (cols, rows): (usize, usize), background: u8) -> Vec<u8> {
        let mut img = vec![background; cols * rows];
        m.paint(&mut img, cols);
        img
    }

    #[test]
    fn paints_exactly_its_region() {
        let m = marker(8, [1, 2, 2, 1], 255, Pattern::Solid);
        let img = painted(&m, (4, 4), 0);
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

    #[test]
    fn checkerboard_starts_with_value_at_the_top_left() {
        let m = marker(0, [1, 1, 3, 2], 200, Pattern::Checkerboard);
        let img = painted(&m, (5, 4), 7);
        #[rustfmt::skip]
        let want = [
            7,   7, 7,   7, 7,
            7, 200, 0, 200, 7,
            7,   0, 200, 0, 7,
            7,   7, 7,   7, 7,
        ];
        assert_eq!(img, want);
    }

    #[test]
    fn a_card_without_a_pattern_means_a_solid_square() {
        let m: Marker =
            serde_json::from_str(r#"{"class": 8, "region": [0, 0, 4, 4], "value": 255}"#).unwrap();
        assert_eq!(m.pattern, Pattern::Solid);
        let m: Marker = serde_json::from_str(
            r#"{"class": 8, "region": [0, 0, 4, 4], "value": 255, "pattern": "checkerboard"}"#,
        )
        .unwrap();
        assert_eq!(m.pattern, Pattern::Checkerboard);
    }
}
