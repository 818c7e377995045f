//! A grid of tiles scaled to [0, 1], with the scaling kept next to the values so that a
//! picture's caption (and a test) can say, and undo, what black and white mean.

use crate::error::{Error, Result};
use crate::render::grid::{self, Layout, Tiles};
use crate::render::{overlay, Colormap, Rgba};
use image::RgbaImage;
use serde::Serialize;

/// How raw numbers become gray levels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// Each tile maps its own minimum..maximum to 0..1 (shows every tile's pattern).
    #[default]
    PerTile,
    /// All tiles share one minimum..maximum (shows which tiles are strong).
    Shared,
}

impl Scaling {
    /// `channel` (or `tile`) or `shared`, the names the page and the wasm face use.
    pub fn parse(name: &str) -> Result<Scaling> {
        match name {
            "channel" | "tile" => Ok(Scaling::PerTile),
            "shared" => Ok(Scaling::Shared),
            other => Err(Error::Input(format!(
                "scaling \"{other}\" is not one of \"channel\", \"shared\""
            ))),
        }
    }
}

/// One tile: which channel it shows and the raw values that became 0 and 1.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TileInfo {
    /// Output channel (filters, feature maps) or unit (maximised images).
    pub index: usize,
    /// Raw value drawn as 0 (black); raw = lo + v * (hi - lo).
    pub lo: f32,
    /// Raw value drawn as 1 (white); equal to `lo` for a constant tile, drawn black.
    pub hi: f32,
    /// Mean raw value of the tile.
    pub mean: f32,
}

#[derive(Clone, Debug, Serialize)]
pub struct TileGrid {
    /// What the grid shows, for a caption: `features.0 filters (RGB = input channels 0,1,2)`.
    pub title: String,
    pub scaling: Scaling,
    /// 1 (drawn through a colormap) or 3 (RGB).
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub tiles: Vec<TileInfo>,
    /// `tiles.len() x channels x height x width` values in [0, 1].
    #[serde(skip)]
    pub values: Vec<f32>,
}

impl TileGrid {
    /// Scales raw tiles (`indices.len()` of `channels x height x width` values each) to
    /// [0, 1] by min-max, per tile or shared.
    pub fn from_raw(
        title: String,
        raw: &[f32],
        indices: Vec<usize>,
        [channels, height, width]: [usize; 3],
        scaling: Scaling,
    ) -> Result<TileGrid> {
        let len = channels * height * width;
        if len == 0 || raw.len() != indices.len() * len {
            return Err(Error::Input(format!(
                "{} values do not make {} tiles of {channels}x{height}x{width}",
                raw.len(),
                indices.len()
            )));
        }
        let range = |v: &[f32]| {
            v.iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| {
                    (lo.min(*x), hi.max(*x))
                })
        };
        let shared = range(raw);
        let mut tiles = Vec::with_capacity(indices.len());
        let mut values = Vec::with_capacity(raw.len());
        for (tile, index) in raw.chunks_exact(len).zip(indices) {
            let (lo, hi) = match scaling {
                Scaling::PerTile => range(tile),
                Scaling::Shared => shared,
            };
            let span = hi - lo;
            values.extend(
                tile.iter()
                    .map(|v| if span > 0.0 { (v - lo) / span } else { 0.0 }),
            );
            let mean = (tile.iter().map(|v| *v as f64).sum::<f64>() / len as f64) as f32;
            tiles.push(TileInfo {
                index,
                lo,
                hi,
                mean,
            });
        }
        Ok(TileGrid {
            title,
            scaling,
            channels,
            height,
            width,
            tiles,
            values,
        })
    }

    /// Tiles already in [0, 1] (pictures), drawn as they are: 0..1 is black..white.
    pub fn unscaled(
        title: String,
        values: Vec<f32>,
        indices: Vec<usize>,
        dims: [usize; 3],
    ) -> Result<TileGrid> {
        let mut grid = Self::from_raw(title, &values, indices, dims, Scaling::Shared)?;
        for t in &mut grid.tiles {
            (t.lo, t.hi) = (0.0, 1.0);
        }
        grid.values = values;
        Ok(grid)
    }

    /// One line saying what the picture shows and what its gray levels mean.
    pub fn caption(&self) -> String {
        let scale = match self.scaling {
            Scaling::PerTile => {
                "per-tile scaling: each tile's own min..max is black..white".to_string()
            }
            Scaling::Shared => match self.tiles.first() {
                Some(t) => format!("shared scaling: {:.4}..{:.4} is black..white", t.lo, t.hi),
                None => "shared scaling".into(),
            },
        };
        format!("{}; {} tiles; {scale}", self.title, self.tiles.len())
    }

    /// The scaled values of tile `i` (`channels x height x width`, in [0, 1]).
    pub fn tile(&self, i: usize) -> Result<&[f32]> {
        let len = self.channels * self.height * self.width;
        self.values.get(i * len..(i + 1) * len).ok_or_else(|| {
            Error::Input(format!(
                "tile {i} is out of range: the grid has {} (0..{})",
                self.tiles.len(),
                self.tiles.len().saturating_sub(1)
            ))
        })
    }

    /// One-channel tile `i` over `image` in `cmap` with weight `alpha`, stretched to the
    /// picture's size if smaller (`overlay::overlay_resized`): a feature map over the input.
    pub fn over(&self, i: usize, image: &Rgba, cmap: Colormap, alpha: f32) -> Result<Rgba> {
        if self.channels != 1 {
            return Err(Error::Input(format!(
                "a tile of {} channels cannot be laid over a picture; only one-channel maps can",
                self.channels
            )));
        }
        overlay::overlay_resized(image, self.tile(i)?, (self.height, self.width), cmap, alpha)
    }

    pub fn as_tiles(&self) -> Tiles<'_> {
        Tiles {
            values: &self.values,
            channels: self.channels,
            height: self.height,
            width: self.width,
        }
    }

    /// The grid laid out near-square (see [`Layout::auto`]).
    pub fn layout(&self) -> Layout {
        Layout::auto(self.tiles.len(), self.height, self.width)
    }

    /// Draws the grid with its automatic layout.
    pub fn render(&self, colormap: impl Fn(f32) -> [u8; 3]) -> Result<RgbaImage> {
        self.render_with(&self.layout(), colormap)
    }

    pub fn render_with(
        &self,
        layout: &Layout,
        colormap: impl Fn(f32) -> [u8; 3],
    ) -> Result<RgbaImage> {
        grid::render(&self.as_tiles(), layout, colormap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_tile_and_shared_scaling() {
        let raw = [0.0, 2.0, 1.0, 5.0];
        let g =
            TileGrid::from_raw("t".into(), &raw, vec![3, 7], [1, 1, 2], Scaling::PerTile).unwrap();
        assert_eq!(g.values, [0.0, 1.0, 0.0, 1.0]);
        assert_eq!(
            (g.tiles[1].index, g.tiles[1].lo, g.tiles[1].hi),
            (7, 1.0, 5.0)
        );
        let g =
            TileGrid::from_raw("t".into(), &raw, vec![0, 1], [1, 1, 2], Scaling::Shared).unwrap();
        assert_eq!(g.values, [0.0, 0.4, 0.2, 1.0]);
        assert_eq!(g.tiles[0].mean, 1.0);
        assert!(g.caption().contains("0.0000..5.0000"), "{}", g.caption());
        assert_eq!(g.tile(1).unwrap(), [0.2, 1.0]);
        assert!(g
            .tile(2)
            .unwrap_err()
            .to_string()
            .contains("tile 2 is out of range"));
    }

    #[test]
    fn a_tile_over_a_picture_is_scaled_then_stretched() {
        // Tile 1 is [1, 5] -> [0, 1] per tile; stretched over a black 1x4 picture in gray
        // at alpha 1 it reads [0, 63, 191, 255] (overlay_resized's own example).
        let g = TileGrid::from_raw(
            "t".into(),
            &[0.0, 2.0, 1.0, 5.0],
            vec![0, 1],
            [1, 1, 2],
            Scaling::PerTile,
        )
        .unwrap();
        let black = Rgba::from_rgb(4, 1, &[0; 12]);
        let out = g.over(1, &black, Colormap::Gray, 1.0).unwrap();
        let red: Vec<u8> = out.data.chunks_exact(4).map(|p| p[0]).collect();
        assert_eq!(red, [0, 63, 191, 255]);
        assert_eq!(Scaling::parse("shared").unwrap(), Scaling::Shared);
        let err = Scaling::parse("loud").unwrap_err().to_string();
        assert!(err.contains("scaling \"loud\" is not one of"), "{err}");
    }

    #[test]
    fn constant_tiles_are_black() {
        let g = TileGrid::from_raw("t".into(), &[4.0; 4], vec![0], [1, 2, 2], Scaling::PerTile)
            .unwrap();
        assert_eq!(g.values, [0.0; 4]);
    }
}
