//! Colour bars, so a reader can tell which colour means "more": a vertical one beside a
//! picture (high values at the top), and the whole table as a strip (the page draws it
//! under its pictures, with the values at its ends as text).

use super::{Colormap, Rgba};

/// Bar width and the gap before it, in pixels.
const BAR: usize = 16;
const GAP: usize = 6;
/// Margin above and below the bar, so its ends stand apart from the picture's edges.
const MARGIN: usize = 4;

/// `image` with a colour bar of `cmap` on its right (white background, a grey outline).
pub fn with_colorbar(image: &Rgba, cmap: Colormap) -> Rgba {
    let width = image.width + GAP + BAR + GAP;
    let height = image.height.max(2 * MARGIN + 2);
    let mut data = vec![255u8; width * height * 4];
    for y in 0..image.height {
        let src = &image.data[y * image.width * 4..(y + 1) * image.width * 4];
        data[y * width * 4..y * width * 4 + src.len()].copy_from_slice(src);
    }
    let (top, bottom) = (MARGIN, height - MARGIN); // bar rows top..bottom
    let x0 = image.width + GAP;
    for y in top..bottom {
        // The top row shows 1, the bottom row 0.
        let v = (bottom - 1 - y) as f32 / (bottom - 1 - top).max(1) as f32;
        let [r, g, b] = cmap.rgb(v);
        for x in x0..x0 + BAR {
            let edge = y == top || y == bottom - 1 || x == x0 || x == x0 + BAR - 1;
            let px = if edge {
                [128, 128, 128, 255]
            } else {
                [r, g, b, 255]
            };
            data[(y * width + x) * 4..(y * width + x) * 4 + 4].copy_from_slice(&px);
        }
    }
    Rgba {
        width,
        height,
        data,
    }
}

/// The colormap's 256 entries left (0) to right (1), one pixel each, opaque.
pub fn strip(cmap: Colormap) -> Rgba {
    let data = (0..=255u8)
        .flat_map(|i| {
            let [r, g, b] = cmap.entry(i);
            [r, g, b, 255]
        })
        .collect();
    Rgba {
        width: 256,
        height: 1,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_runs_from_high_at_the_top_to_low_at_the_bottom() {
        let img = Rgba::from_rgb(1, 40, &[0; 120]);
        let out = with_colorbar(&img, Colormap::Gray);
        assert_eq!((out.width, out.height), (1 + GAP + BAR + GAP, 40));
        let px = |x: usize, y: usize| out.data[(y * out.width + x) * 4];
        let mid = 1 + GAP + BAR / 2;
        assert_eq!(px(mid, MARGIN + 1), 246); // below the top outline: 30/31 of the way up
        assert_eq!(px(mid, 40 - MARGIN - 2), 8); // above the bottom outline: 1/31
        assert_eq!(px(0, 0), 0); // the picture is kept
    }

    #[test]
    fn strip_is_the_table() {
        let s = strip(Colormap::Viridis);
        assert_eq!((s.width, s.height), (256, 1));
        assert_eq!(s.data[..4], [68, 1, 84, 255]);
        assert_eq!(s.data[4 * 255..], [253, 231, 37, 255]);
        assert_eq!(strip(Colormap::Gray).data[4 * 128], 128);
    }
}
