//! Tiles of values in [0, 1] laid out as one RGBA picture: filter grids, feature maps and
//! maximised images, in the CLI and on the page, all come out of here, so every grid in
//! the project looks alike.
//!
//! One-channel values take the colormap entry of their 8-bit level `round(255 * clamp(v,
//! 0, 1))` ([`level`]), which is what a test inverts to read numbers back from a picture.

use crate::error::{Error, Result};
use image::{Rgba, RgbaImage};

pub use super::colormap::level;

/// Largest picture we draw, in pixels (a 16k x 16k grid is far beyond any real layer).
const MAX_PIXELS: usize = 1 << 28;

/// Black (0) to white (1): the gray colormap's entry at [`level`].
pub fn grayscale(v: f32) -> [u8; 3] {
    super::Colormap::Gray.nearest(v)
}

/// `count` tiles stored one after another, each `channels x height x width` (row-major,
/// channel-major as tensors are). One channel goes through a colormap, three are RGB.
#[derive(Clone, Copy, Debug)]
pub struct Tiles<'a> {
    pub values: &'a [f32],
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Tiles<'_> {
    fn tile_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    pub fn count(&self) -> usize {
        self.values.len().checked_div(self.tile_len()).unwrap_or(0)
    }
}

/// Where tiles go: `columns` per row, each pixel drawn as a `zoom` x `zoom` block,
/// `gap` pixels of `background` between tiles and `margin` around the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Layout {
    pub columns: usize,
    pub zoom: usize,
    pub gap: usize,
    pub margin: usize,
    pub background: [u8; 4],
}

impl Layout {
    /// A near-square grid whose tiles are at least 64 pixels on a side when zoom can
    /// make them so (a 3x3 kernel is drawn 21x larger), with a dark grey gap that grows
    /// with the zoom so that blocky tiles stay apart (1 pixel, 3 at zoom 21).
    pub fn auto(count: usize, height: usize, width: usize) -> Layout {
        let side = height.max(width).max(1);
        let zoom = (64 / side).max(1);
        let gap = 1 + zoom / 8;
        Layout {
            columns: (count as f64).sqrt().ceil().max(1.0) as usize,
            zoom,
            gap,
            margin: gap,
            background: [40, 40, 40, 255],
        }
    }

    /// Tiles at their own size, `gap` pixels apart with no margin, in about as many
    /// columns as make the grid square (`ceil(sqrt(count * height / width))`): the page's
    /// feature maps, maximised pictures and 3D textures.
    pub fn packed(
        count: usize,
        height: usize,
        width: usize,
        gap: usize,
        background: [u8; 4],
    ) -> Layout {
        let ratio = height as f64 / width.max(1) as f64;
        Layout {
            columns: (count as f64 * ratio).sqrt().ceil().max(1.0) as usize,
            zoom: 1,
            gap,
            margin: 0,
            background,
        }
    }

    /// Top-left pixel of tile `index`.
    pub fn origin(&self, index: usize, height: usize, width: usize) -> (usize, usize) {
        let (row, col) = (index / self.columns, index % self.columns);
        (
            self.margin + col * (width * self.zoom + self.gap),
            self.margin + row * (height * self.zoom + self.gap),
        )
    }

    /// Picture size `(width, height)` for `count` tiles.
    pub fn size(&self, count: usize, height: usize, width: usize) -> (usize, usize) {
        let rows = count.div_ceil(self.columns).max(1);
        let cols = self.columns.min(count).max(1);
        (
            2 * self.margin + cols * (width * self.zoom + self.gap) - self.gap,
            2 * self.margin + rows * (height * self.zoom + self.gap) - self.gap,
        )
    }
}

/// Draws the tiles; one-channel tiles through `colormap` ([`grayscale`], or
/// `|v| cmap.nearest(v)` for a [`super::Colormap`]), three-channel tiles as RGB.
pub fn render(
    tiles: &Tiles,
    layout: &Layout,
    colormap: impl Fn(f32) -> [u8; 3],
) -> Result<RgbaImage> {
    let (c, h, w) = (tiles.channels, tiles.height, tiles.width);
    if c != 1 && c != 3 {
        return Err(Error::Input(format!(
            "tiles have {c} channels; a grid draws 1 (colormap) or 3 (RGB)"
        )));
    }
    if h == 0 || w == 0 || !tiles.values.len().is_multiple_of(tiles.tile_len()) {
        return Err(Error::Input(format!(
            "{} values do not make whole {c}x{h}x{w} tiles",
            tiles.values.len()
        )));
    }
    if layout.columns == 0 || layout.zoom == 0 {
        return Err(Error::Input(
            "a grid needs at least one column and zoom 1".into(),
        ));
    }
    let count = tiles.count();
    let (pw, ph) = layout.size(count, h, w);
    if pw.checked_mul(ph).is_none_or(|p| p > MAX_PIXELS) {
        return Err(Error::Input(format!(
            "a {count}-tile grid of {h}x{w} tiles at zoom {} would be {pw}x{ph} pixels, over the limit",
            layout.zoom
        )));
    }
    let mut img = RgbaImage::from_pixel(pw as u32, ph as u32, Rgba(layout.background));
    let plane = h * w;
    for (i, tile) in tiles.values.chunks_exact(tiles.tile_len()).enumerate() {
        let (x0, y0) = layout.origin(i, h, w);
        for y in 0..h {
            for x in 0..w {
                let rgb = if c == 1 {
                    colormap(tile[y * w + x])
                } else {
                    [0, 1, 2].map(|ch| level(tile[ch * plane + y * w + x]))
                };
                let px = Rgba([rgb[0], rgb[1], rgb[2], 255]);
                for dy in 0..layout.zoom {
                    for dx in 0..layout.zoom {
                        let (gx, gy) = (x0 + x * layout.zoom + dx, y0 + y * layout.zoom + dy);
                        img.put_pixel(gx as u32, gy as u32, px);
                    }
                }
            }
        }
    }
    Ok(img)
}

/// PNG bytes of a grid picture (render's one encoder).
pub fn png(img: &RgbaImage) -> Result<Vec<u8>> {
    super::encode::png_rgba8(img.width() as usize, img.height() as usize, img.as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_tiles_have_no_margin() {
        // 8 maps of 32x32 in 3 columns, 1-pixel gaps: 3 * 33 - 1 on each side; a wide
        // tile (1x4) takes fewer columns.
        let layout = Layout::packed(8, 32, 32, 1, [255; 4]);
        assert_eq!(layout.columns, 3);
        assert_eq!(layout.size(8, 32, 32), (98, 98));
        assert_eq!(layout.origin(4, 32, 32), (33, 33));
        assert_eq!(Layout::packed(16, 1, 4, 0, [0; 4]).columns, 2);
    }

    #[test]
    fn levels_round_and_clamp() {
        assert_eq!(
            [-1.0, 0.0, 0.5, 1.0, 2.0, f32::NAN].map(level),
            [0, 0, 128, 255, 255, 0]
        );
    }

    #[test]
    fn tiles_land_at_their_origins_zoomed() {
        // Two 1x2 gray tiles, 2 columns, zoom 2, gap 1: picture 1+2*(4+1) x 1+(2+1).
        let values = [0.0, 1.0, 1.0, 0.0];
        let tiles = Tiles {
            values: &values,
            channels: 1,
            height: 1,
            width: 2,
        };
        let layout = Layout {
            columns: 2,
            zoom: 2,
            gap: 1,
            margin: 1,
            background: [9, 9, 9, 255],
        };
        let img = render(&tiles, &layout, grayscale).unwrap();
        assert_eq!(img.dimensions(), (11, 4));
        assert_eq!(layout.origin(1, 1, 2), (6, 1));
        let at = |x, y| img.get_pixel(x, y).0[0];
        assert_eq!([at(1, 1), at(2, 2), at(3, 1), at(4, 2)], [0, 0, 255, 255]);
        assert_eq!([at(6, 1), at(8, 2), at(0, 0), at(5, 1)], [255, 0, 9, 9]);
    }

    #[test]
    fn rgb_tiles_take_channels_in_order() {
        let values = [1.0, 0.0, 0.5]; // one 1x1 tile: R=1, G=0, B=0.5
        let tiles = Tiles {
            values: &values,
            channels: 3,
            height: 1,
            width: 1,
        };
        let layout = Layout::auto(1, 1, 1);
        let img = render(&tiles, &layout, grayscale).unwrap();
        let (x, y) = layout.origin(0, 1, 1);
        assert_eq!(img.get_pixel(x as u32, y as u32).0, [255, 0, 128, 255]);
    }

    #[test]
    fn ragged_tiles_are_an_error() {
        let values = [0.0; 5];
        let tiles = Tiles {
            values: &values,
            channels: 1,
            height: 2,
            width: 2,
        };
        let err = render(&tiles, &Layout::auto(1, 2, 2), grayscale).unwrap_err();
        assert!(err.to_string().contains("whole 1x2x2 tiles"), "{err}");
    }
}
