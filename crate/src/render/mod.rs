//! Turning maps into pictures. Platform-free, RGBA buffers in and out, so the CLI and the
//! page draw the same pixels: colormaps, heatmap overlays, occlusion masks, colour bars,
//! tile grids, the saved explanation picture, PNG encoding. The page reaches all of it
//! through the wasm face (`wasm/render.rs`) and keeps no colour arithmetic of its own.

pub mod captioned;
pub mod chart;
pub mod colorbar;
pub mod colormap;
mod colormap_tables;
pub mod encode;
pub mod explanation;
pub mod grid;
pub mod overlay;
pub mod text;

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

    /// Each pixel as a `zoom` x `zoom` block: a 28x28 map stays readable, and its
    /// pixels stay sharp, where a viewer's smooth scaling would blur them.
    pub fn zoom(&self, zoom: usize) -> Rgba {
        let (width, height) = (self.width * zoom, self.height * zoom);
        let mut data = Vec::with_capacity(width * height * 4);
        for y in 0..height {
            for x in 0..width {
                let i = ((y / zoom) * self.width + x / zoom) * 4;
                data.extend_from_slice(&self.data[i..i + 4]);
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
    use super::Rgba;

    #[test]
    fn zoom_repeats_each_pixel_as_a_block() {
        let img = Rgba::from_rgb(2, 1, &[1, 2, 3, 4, 5, 6]);
        let z = img.zoom(2);
        assert_eq!((z.width, z.height), (4, 2));
        let red: Vec<u8> = z.data.chunks_exact(4).map(|p| p[0]).collect();
        assert_eq!(red, [1, 1, 4, 4, 1, 1, 4, 4]);
        assert_eq!(img.zoom(1), img);
        assert_eq!(img.factor_for(224), 224);
        let square = Rgba::from_rgb(28, 28, &[0; 28 * 28 * 3]);
        assert_eq!(square.factor_for(224), 8);
        assert_eq!(square.factor_for(20), 1);
    }
}
