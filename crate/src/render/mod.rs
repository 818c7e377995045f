//! Turning maps into pictures. Platform-free, RGBA buffers in and out, so the CLI and the
//! page draw the same pixels: colormaps, heatmap overlays, a colour bar, tile grids, PNG
//! encoding.

pub mod colorbar;
pub mod colormap;
mod colormap_tables;
pub mod encode;
pub mod grid;
pub mod overlay;

pub use colormap::Colormap;

/// An 8-bit RGBA picture: `width * height * 4` bytes, row-major (a canvas `ImageData`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rgba {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Rgba {
    /// From packed RGB bytes (`image::RgbImage::into_raw`), opaque.
    pub fn from_rgb(width: usize, height: usize, rgb: &[u8]) -> Rgba {
        let data = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        Rgba {
            width,
            height,
            data,
        }
    }
}
