//! Labels on pictures the core draws (the curves chart, the comparison grid): ASCII in
//! font8x8's 8x8 glyphs, each glyph pixel drawn as a `scale` x `scale` block so the text
//! stays crisp at any size.

use super::Rgba;
use font8x8::legacy::BASIC_LEGACY;

/// Glyph side in pixels at scale 1.
pub const GLYPH: usize = 8;

/// Width in pixels of `text` at `scale`.
pub fn width(text: &str, scale: usize) -> usize {
    text.chars().count() * GLYPH * scale
}

/// Draws `text` with its top-left corner at (`x`, `y`); characters outside ASCII as `?`,
/// pixels outside the picture clipped.
pub fn draw(img: &mut Rgba, (x, y): (usize, usize), text: &str, scale: usize, rgb: [u8; 3]) {
    for (i, ch) in text.chars().enumerate() {
        let code = if ch.is_ascii() {
            ch as usize
        } else {
            '?' as usize
        };
        let glyph = BASIC_LEGACY[code];
        let left = x + i * GLYPH * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..GLYPH {
                // Bit 0 is the glyph's leftmost pixel.
                if bits >> col & 1 == 1 {
                    fill(
                        img,
                        (left + col * scale, y + row * scale),
                        (scale, scale),
                        rgb,
                    );
                }
            }
        }
    }
}

/// Fills the `w` x `h` rectangle at (`x`, `y`) with `rgb`, clipped to the picture.
pub fn fill(img: &mut Rgba, (x, y): (usize, usize), (w, h): (usize, usize), rgb: [u8; 3]) {
    for yy in y..(y + h).min(img.height) {
        for xx in x..(x + w).min(img.width) {
            let i = (yy * img.width + xx) * 4;
            img.data[i..i + 4].copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(w: usize, h: usize) -> Rgba {
        Rgba::from_rgb(w, h, &vec![255; w * h * 3])
    }

    fn dark(img: &Rgba) -> usize {
        img.data.chunks_exact(4).filter(|p| p[0] == 0).count()
    }

    #[test]
    fn text_is_drawn_inside_its_box_and_scaled_as_blocks() {
        let mut img = blank(40, 20);
        draw(&mut img, (0, 0), "1", 1, [0, 0, 0]);
        let one = dark(&img);
        assert!(one > 5, "a digit sets some pixels");
        // Nothing right of or below the 8x8 box.
        for (i, p) in img.data.chunks_exact(4).enumerate() {
            if i % 40 >= 8 || i / 40 >= 8 {
                assert_eq!(p[0], 255, "pixel {i} outside the glyph");
            }
        }
        let mut big = blank(40, 20);
        draw(&mut big, (0, 0), "1", 2, [0, 0, 0]);
        assert_eq!(dark(&big), 4 * one);
        assert_eq!(width("ab c", 2), 64);
        // A space draws nothing; text past the edge is clipped, not a panic.
        let mut clipped = blank(10, 10);
        draw(&mut clipped, (4, 4), "88", 3, [0, 0, 0]);
        assert!(dark(&clipped) > 0);
    }
}
