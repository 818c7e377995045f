//! Line charts of curves over [0, 1] x [0, 1] (the deletion and insertion curves): one
//! panel per chart side by side, each with its title, axes, and a legend line per curve
//! naming it (with, say, its area).

use super::text::{self, GLYPH};
use super::Rgba;

/// One curve: its legend text and its `n + 1` equally spaced values in [0, 1].
pub struct Series<'a> {
    pub label: String,
    pub values: &'a [f64],
}

/// One chart: a title above and the curves drawn in the same colours in every panel.
pub struct Panel<'a> {
    pub title: String,
    pub x_label: &'a str,
    pub series: Vec<Series<'a>>,
}

/// Tableau's ten categorical colours (matplotlib's default cycle), so series stay
/// distinguishable and match what users see in the Python libraries' plots.
pub const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

const SCALE: usize = 2;
const LINE: usize = GLYPH * SCALE + 6;
const PLOT: (usize, usize) = (360, 240);
const MARGIN: usize = 40;
const INK: [u8; 3] = [30, 30, 30];
const GRID: [u8; 3] = [225, 225, 225];

/// The panels side by side on white, each `PLOT` plus margins, its legend below it.
pub fn render(panels: &[Panel]) -> Rgba {
    let rows = panels.iter().map(|p| p.series.len()).max().unwrap_or(0);
    let legend_width = panels
        .iter()
        .flat_map(|p| p.series.iter().map(|s| text::width(&s.label, SCALE) + 28))
        .max()
        .unwrap_or(0);
    let title_width = panels
        .iter()
        .map(|p| text::width(&p.title, SCALE))
        .max()
        .unwrap_or(0);
    let panel_w = (PLOT.0 + 2 * MARGIN)
        .max(legend_width + MARGIN)
        .max(title_width + MARGIN + 8);
    let height = LINE + PLOT.1 + 3 * LINE + rows * LINE + MARGIN;
    let width = panel_w * panels.len().max(1);
    let mut img = Rgba::from_rgb(width, height, &vec![255; width * height * 3]);
    for (i, panel) in panels.iter().enumerate() {
        draw_panel(&mut img, i * panel_w, panel);
    }
    img
}

fn draw_panel(img: &mut Rgba, left: usize, panel: &Panel) {
    let (x0, y0) = (left + MARGIN, LINE + 8);
    let (w, h) = PLOT;
    text::draw(img, (x0, 4), &panel.title, SCALE, INK);
    // Quarter grid lines, then the axes.
    for q in 1..4 {
        text::fill(img, (x0 + q * w / 4, y0), (1, h), GRID);
        text::fill(img, (x0, y0 + q * h / 4), (w, 1), GRID);
    }
    text::fill(img, (x0, y0), (2, h + 1), INK);
    text::fill(img, (x0, y0 + h), (w + 1, 2), INK);
    text::draw(img, (x0 - 2 * GLYPH - 4, y0), "1", SCALE, INK);
    // The x axis' ends under it, its label on the line below.
    text::draw(img, (x0, y0 + h + 6), "0", SCALE, INK);
    text::draw(img, (x0 + w - 2 * GLYPH, y0 + h + 6), "1", SCALE, INK);
    let label_x = x0 + (w.saturating_sub(text::width(panel.x_label, SCALE))) / 2;
    text::draw(img, (label_x, y0 + h + 6 + LINE), panel.x_label, SCALE, INK);
    for (k, series) in panel.series.iter().enumerate() {
        let rgb = PALETTE[k % PALETTE.len()];
        let n = series.values.len().saturating_sub(1).max(1);
        let point = |j: usize| {
            let v = series.values[j].clamp(0.0, 1.0);
            (
                x0 as f64 + j as f64 * w as f64 / n as f64,
                y0 as f64 + (1.0 - v) * h as f64,
            )
        };
        for j in 1..series.values.len() {
            segment(img, point(j - 1), point(j), rgb);
        }
        let y = y0 + h + 3 * LINE + k * LINE;
        text::fill(img, (x0, y + 4), (20, 6), rgb);
        text::draw(img, (x0 + 28, y), &series.label, SCALE, INK);
    }
}

/// A 2-pixel line from `a` to `b`, one dot per pixel along its longer extent.
fn segment(img: &mut Rgba, a: (f64, f64), b: (f64, f64), rgb: [u8; 3]) {
    let steps = (b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil().max(1.0) as usize;
    for s in 0..=steps {
        let t = s as f64 / steps as f64;
        let (x, y) = (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
        text::fill(img, (x.round() as usize, y.round() as usize), (2, 2), rgb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(img: &Rgba, x: usize, y: usize) -> [u8; 3] {
        let i = (y * img.width + x) * 4;
        [img.data[i], img.data[i + 1], img.data[i + 2]]
    }

    #[test]
    fn a_falling_curve_is_drawn_from_top_left_to_bottom_right_in_its_colour() {
        let values = [1.0, 0.5, 0.0];
        let img = render(&[Panel {
            title: "deletion".into(),
            x_label: "pixels removed",
            series: vec![Series {
                label: "saliency 0.500".into(),
                values: &values,
            }],
        }]);
        let (x0, y0) = (MARGIN, LINE + 8);
        let colour = PALETTE[0];
        // The start (0, 1) and the middle (1/2, 1/2) of the diagonal carry the colour.
        assert_eq!(at(&img, x0 + 1, y0 + 1), colour);
        assert_eq!(at(&img, x0 + PLOT.0 / 2, y0 + PLOT.1 / 2), colour);
        // Above the line, inside the plot, is white.
        assert_eq!(
            at(&img, x0 + PLOT.0 * 5 / 8, y0 + PLOT.1 / 8),
            [255, 255, 255]
        );
        assert_eq!(img.width, PLOT.0 + 2 * MARGIN);
    }
}
