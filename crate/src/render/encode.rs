//! PNG encoding of an [`Rgba`] picture, to bytes (a file natively, a `Blob` on the page).

use super::Rgba;
use crate::error::{Error, Result};
use ::image::codecs::png::PngEncoder;
use ::image::{ExtendedColorType, ImageEncoder};

pub fn png(picture: &Rgba) -> Result<Vec<u8>> {
    png_rgba8(picture.width, picture.height, &picture.data)
}

/// PNG bytes of `width x height` RGBA pixels, row-major.
pub fn png_rgba8(width: usize, height: usize, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(data, width as u32, height as u32, ExtendedColorType::Rgba8)
        .map_err(|e| Error::Image(format!("cannot encode PNG: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn png_round_trips() {
        let pic = super::Rgba {
            width: 2,
            height: 1,
            data: vec![1, 2, 3, 255, 4, 5, 6, 128],
        };
        let bytes = super::png(&pic).unwrap();
        let back = ::image::load_from_memory(&bytes).unwrap().to_rgba8();
        assert_eq!(back.into_raw(), pic.data);
    }
}
