//! Pictures side by side with lines of text under each (the comparison of methods: each
//! method's map with its name and scores), in rows of a fixed number of columns.

use super::text::{self, GLYPH};
use super::Rgba;

/// Text scale of the captions (16-pixel glyphs).
const SCALE: usize = 2;
const LINE: usize = GLYPH * SCALE + 4;
const GAP: usize = 12;
const INK: [u8; 3] = [30, 30, 30];

/// A picture and the lines under it.
pub struct Captioned {
    pub picture: Rgba,
    pub lines: Vec<String>,
}

/// The tiles in rows of `columns`, each cell as wide as the widest picture or caption and
/// as tall as the tallest picture plus the most lines, on white.
pub fn grid(tiles: &[Captioned], columns: usize) -> Rgba {
    let columns = columns.clamp(1, tiles.len().max(1));
    let cell_w = tiles
        .iter()
        .map(|t| {
            t.lines
                .iter()
                .map(|l| text::width(l, SCALE))
                .fold(t.picture.width, usize::max)
        })
        .max()
        .unwrap_or(0)
        + GAP;
    let lines = tiles.iter().map(|t| t.lines.len()).max().unwrap_or(0);
    let cell_h = tiles.iter().map(|t| t.picture.height).max().unwrap_or(0) + lines * LINE + GAP;
    let rows = tiles.len().div_ceil(columns);
    let (width, height) = (columns * cell_w + GAP, rows * cell_h + GAP);
    let mut out = Rgba::from_rgb(width, height, &vec![255; width * height * 3]);
    for (i, tile) in tiles.iter().enumerate() {
        let (x, y) = (GAP + (i % columns) * cell_w, GAP + (i / columns) * cell_h);
        paste(&mut out, &tile.picture, (x, y));
        for (k, line) in tile.lines.iter().enumerate() {
            text::draw(
                &mut out,
                (x, y + tile.picture.height + 4 + k * LINE),
                line,
                SCALE,
                INK,
            );
        }
    }
    out
}

/// Copies `src` into `dst` with its top-left corner at (`x`, `y`), clipped.
fn paste(dst: &mut Rgba, src: &Rgba, (x, y): (usize, usize)) {
    for row in 0..src.height.min(dst.height.saturating_sub(y)) {
        let n = src.width.min(dst.width.saturating_sub(x)) * 4;
        let from = row * src.width * 4;
        let to = ((y + row) * dst.width + x) * 4;
        dst.data[to..to + n].copy_from_slice(&src.data[from..from + n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_sit_in_rows_with_their_captions_below() {
        let red = Rgba::from_rgb(4, 4, &[255, 0, 0].repeat(16));
        let tile = |l: &str| Captioned {
            picture: red.clone(),
            lines: vec![l.to_string()],
        };
        let out = grid(&[tile("a"), tile("b"), tile("c")], 2);
        // Cells as wide as a 16-px glyph (wider than the picture) plus the gap.
        let cell_w = 16 + GAP;
        assert_eq!(out.width, 2 * cell_w + GAP);
        assert_eq!(out.height, 2 * (4 + LINE + GAP) + GAP);
        let px = |x: usize, y: usize| &out.data[(y * out.width + x) * 4..][..3];
        // The third tile starts the second row.
        assert_eq!(px(GAP, GAP + 4 + LINE + GAP), [255, 0, 0]);
        assert_eq!(px(GAP + cell_w, GAP), [255, 0, 0]);
        assert_eq!(px(GAP + cell_w, GAP + 4 + LINE + GAP), [255, 255, 255]);
    }
}
