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

    /// Each pixel as a `factor x factor` block (nearest neighbour): a 28-pixel map stays
    /// sharp-edged and readable at picture size.
    pub fn upscaled(&self, factor: usize) -> Rgba {
        let factor = factor.max(1);
        let (width, height) = (self.width * factor, self.height * factor);
        let mut data = Vec::with_capacity(width * height * 4);
        for y in 0..height {
            let row = &self.data[(y / factor) * self.width * 4..][..self.width * 4];
            for px in row.chunks_exact(4) {
                for _ in 0..factor {
                    data.extend_from_slice(px);
                }
            }
        }
        Rgba {
            width,
            height,
            data,
        }
    }

    /// The whole factor that brings the shorter side to at least `side` pixels (1 if it
    /// is already that large).
    pub fn factor_for(&self, side: usize) -> usize {
        side.div_ceil(self.width.min(self.height).max(1)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upscaling_repeats_each_pixel_in_a_block() {
        // 2x1: red, blue.
        let img = Rgba {
            width: 2,
            height: 1,
            data: vec![255, 0, 0, 255, 0, 0, 255, 255],
        };
        let big = img.upscaled(2);
        assert_eq!((big.width, big.height), (4, 2));
        let red = [255, 0, 0, 255];
        let blue = [0, 0, 255, 255];
        let row: Vec<u8> = [red, red, blue, blue].concat();
        assert_eq!(big.data, [row.clone(), row].concat());
        assert_eq!(img.upscaled(1), img);
        assert_eq!(img.factor_for(224), 224);
        let square = Rgba {
            width: 28,
            height: 28,
            data: vec![0; 28 * 28 * 4],
        };
        assert_eq!(square.factor_for(224), 8);
        assert_eq!(square.factor_for(20), 1);
    }
}
