//! Decoding PNG, JPEG and WebP bytes under fixed limits, upright (EXIF orientation),
//! with errors that name the format and the likely cause.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use crate::error::{Error, Result};

/// Largest accepted width and height, in pixels (checked against the header, before any
/// pixel is decoded).
pub const MAX_DIMENSION: u32 = 16384;
/// Largest allocation a decoder may make, in bytes (image crate's default, made explicit).
pub const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// The [`Limits`] every decode runs under.
pub fn limits() -> Limits {
    // `Limits` is non-exhaustive: start from the default and set our fields.
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

const MIB: u64 = 1024 * 1024;

/// Decodes a PNG, JPEG or WebP image, whatever the file was called.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage> {
    if bytes.is_empty() {
        return Err(Error::Image("image is empty (0 bytes)".into()));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::Image(format!("cannot read the image bytes: {e}")))?;
    let name = match reader.format() {
        Some(ImageFormat::Png) => "PNG",
        Some(ImageFormat::Jpeg) => "JPEG",
        Some(ImageFormat::WebP) => "WebP",
        Some(other) => {
            return Err(Error::Image(format!(
                "{other:?} images are not supported; use PNG, JPEG or WebP"
            )))
        }
        None => {
            return Err(Error::Image(format!(
                "not a PNG, JPEG or WebP image (first bytes: {})",
                first_bytes(bytes)
            )))
        }
    };

    // Read the header with only the allocation limit, so that an oversized image is
    // reported with the size it claims rather than the decoder's bare "exceeds limit".
    let mut header_limits = Limits::default();
    header_limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(header_limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| match (&e, png_size(bytes)) {
            // On wasm32 the PNG decoder's own size arithmetic overflows for such a header
            // and fails before we see the dimensions: read them from IHDR to name them.
            (ImageError::Limits(_), Some((w, h))) if name == "PNG" && too_large(w, h) => {
                too_large_error(name, w, h)
            }
            _ => decode_error(name, e),
        })?;

    let (w, h) = decoder.dimensions();
    if too_large(w, h) {
        return Err(too_large_error(name, w, h));
    }
    if w == 0 || h == 0 {
        return Err(Error::Image(format!(
            "{name} image claims {w}x{h} pixels (empty)"
        )));
    }
    let mut limits = limits();
    // As `ImageReader::decode` does: the output buffer counts against `max_alloc`.
    let need = decoder.total_bytes();
    if limits.reserve(need).is_err() {
        return Err(Error::Image(format!(
            "{name} image of {w}x{h} pixels needs {} MiB to decode, over the limit of {} MiB",
            need.div_ceil(MIB),
            MAX_ALLOC / MIB
        )));
    }
    decoder
        .set_limits(limits)
        .map_err(|e| decode_error(name, e))?;
    // Phones store photos as the sensor saw them and say in EXIF how to turn them
    // upright; browsers show them upright, so the model must see them that way too.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(name, e))?;
    img.apply_orientation(orientation);
    // The JPEG decoder fills a cut-off scan with grey instead of failing; a half-grey
    // photo would be classified without complaint, so insist on the end marker.
    if name == "JPEG" && !jpeg_has_end(bytes) {
        return Err(Error::Image(
            "JPEG data is truncated (no end-of-image marker after the image data)".into(),
        ));
    }
    Ok(img)
}

fn too_large(w: u32, h: u32) -> bool {
    w > MAX_DIMENSION || h > MAX_DIMENSION
}

fn too_large_error(name: &str, w: u32, h: u32) -> Error {
    Error::Image(format!(
        "{name} image claims {w}x{h} pixels, over the limit of {MAX_DIMENSION}x{MAX_DIMENSION}"
    ))
}

/// Width and height from a PNG's IHDR chunk (right after the 8-byte signature).
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let be = |at: usize| {
        Some(u32::from_be_bytes(
            *bytes.get(at..at + 4)?.first_chunk::<4>()?,
        ))
    };
    Some((be(16)?, be(20)?))
}

/// Whether an end-of-image marker (FF D9) follows the first start-of-scan (FF DA).
///
/// Header segments are skipped by their lengths, so an EXIF thumbnail's markers are
/// not mistaken for the main image's; inside scan data a literal FF is always
/// followed by 00 or a restart marker, so FF D9 there can only be the real end.
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI (FF D8)
    loop {
        // Markers may be preceded by any number of FF fill bytes.
        while bytes.get(i) == Some(&0xFF) && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        match (bytes.get(i), bytes.get(i + 1)) {
            (Some(0xFF), Some(0xDA)) => break,
            (Some(0xFF), Some(0x01 | 0xD0..=0xD7)) => i += 2,
            (Some(0xFF), Some(_)) => match bytes.get(i + 2..i + 4) {
                Some(len) => i += 2 + u16::from_be_bytes([len[0], len[1]]) as usize,
                None => return false,
            },
            _ => return false,
        }
    }
    bytes[i..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Reads and decodes an image file; the format comes from the contents, not the name.
pub fn decode_file(path: &Path) -> Result<DynamicImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes).map_err(|e| match e {
        Error::Image(msg) => Error::Image(format!("{}: {msg}", path.display())),
        other => other,
    })
}

/// Hex (and, when printable, text) of the first few bytes, to help recognise what a
/// mislabelled file really is (an HTML error page, a text file, a GIF...).
fn first_bytes(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = hex.join(" ");
    if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        out.push_str(&format!(" {:?}", String::from_utf8_lossy(head)));
    }
    out
}

/// Turns a decoder failure into a message naming the format and the likely cause.
fn decode_error(name: &str, e: ImageError) -> Error {
    let msg = match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            format!("{name} data is truncated (the file ends before the image is complete)")
        }
        ImageError::Limits(l) => format!(
            "{name} image is over the decoding limits ({l}; at most \
             {MAX_DIMENSION}x{MAX_DIMENSION} pixels and {} MiB)",
            MAX_ALLOC / MIB
        ),
        ImageError::Unsupported(u) => format!("{name} image uses an unsupported feature: {u}"),
        other => format!(
            "{name} data is corrupt or truncated: {}",
            other.to_string().trim_end()
        ),
    };
    Error::Image(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_size_reads_ihdr() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&7u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((100_000, 7)));
        assert_eq!(png_size(&png[..22]), None);
        assert_eq!(png_size(b"GIF89a"), None);
    }

    #[test]
    fn first_bytes_shows_hex_and_text() {
        assert_eq!(first_bytes(b"hello"), "68 65 6c 6c 6f \"hello\"");
        assert_eq!(first_bytes(&[0, 1]), "00 01");
    }
}
