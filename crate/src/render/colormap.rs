//! Colormaps for maps in [0, 1]: jet (pytorch-grad-cam's default, OpenCV's
//! `COLORMAP_JET`), turbo, viridis, inferno, magma and gray. Exact 256-entry tables: jet
//! from OpenCV's definition, the others from their published tables
//! (`colormap_tables.rs`). The CLI and the page (through the wasm face) both colour with
//! these; there is no other colour table in the project.
//!
//! A value becomes a table entry in one of two ways, each kept for its readers:
//! [`Colormap::rgb`] takes `floor(255 v)`, as pytorch-grad-cam indexes OpenCV, for
//! heatmaps, overlays and colour bars (so our overlays match its pixels);
//! [`Colormap::nearest`] takes `round(255 v)` ([`level`]) for tile grids, whose levels a
//! reader (and a test) turns back into numbers within half a level.

use super::colormap_tables::{INFERNO, MAGMA, TURBO, VIRIDIS};
use crate::error::{Error, Result};

/// The default everywhere (CLI `--colormap`, the page's select, the docs) is jet:
/// pytorch-grad-cam's `show_cam_on_image` and the Keras Grad-CAM tutorial both draw with
/// it, so our pictures can be laid beside theirs; the perceptually even maps (viridis,
/// magma, ...) are one choice away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Colormap {
    #[default]
    Jet,
    Turbo,
    Viridis,
    Inferno,
    Magma,
    Gray,
}

impl Colormap {
    /// Every colormap, in the order the CLI's help and the page's select list them.
    pub const ALL: [Colormap; 6] = [
        Colormap::Jet,
        Colormap::Turbo,
        Colormap::Viridis,
        Colormap::Inferno,
        Colormap::Magma,
        Colormap::Gray,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Colormap::Jet => "jet",
            Colormap::Turbo => "turbo",
            Colormap::Viridis => "viridis",
            Colormap::Inferno => "inferno",
            Colormap::Magma => "magma",
            Colormap::Gray => "gray",
        }
    }

    pub fn parse(name: &str) -> Result<Colormap> {
        match name {
            "grey" => Ok(Colormap::Gray),
            other => Self::ALL
                .into_iter()
                .find(|c| c.name() == other)
                .ok_or_else(|| {
                    Error::Input(format!(
                        "unknown colormap `{other}`; known: {}",
                        Self::ALL.map(Colormap::name).join(", ")
                    ))
                }),
        }
    }

    /// The colour of table entry `i` (0 = low, 255 = high), RGB.
    pub fn entry(self, i: u8) -> [u8; 3] {
        let i = i as usize;
        match self {
            Colormap::Jet => jet(i),
            Colormap::Turbo => TURBO[i],
            Colormap::Viridis => VIRIDIS[i],
            Colormap::Inferno => INFERNO[i],
            Colormap::Magma => MAGMA[i],
            Colormap::Gray => [i as u8; 3],
        }
    }

    /// The colour of `v` in [0, 1] (clamped; NaN as 0): entry `floor(255 v)`, the index
    /// pytorch-grad-cam gives OpenCV (`np.uint8(255 * mask)`).
    pub fn rgb(self, v: f32) -> [u8; 3] {
        let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
        self.entry((255.0 * v) as u8)
    }

    /// The colour of `v` in [0, 1] on a tile grid: entry [`level`]`(v)`, the nearest.
    pub fn nearest(self, v: f32) -> [u8; 3] {
        self.entry(level(v))
    }
}

/// The 8-bit level of a value in [0, 1]: `round(255 * v)`, clamped; NaN is 0.
pub fn level(v: f32) -> u8 {
    if v.is_nan() {
        return 0;
    }
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// OpenCV's `COLORMAP_JET` (imgproc/src/colormap.cpp, class `Jet`, "equals the GNU Octave
/// colormap jet"): at `x = i / 255`, r = 4x - 1.5, g = 4x - 0.5, b = 4x + 0.5 rising and
/// 4.5 - 4x, 3.5 - 4x, 2.5 - 4x falling, clipped to [0, 1]; OpenCV stores the float32
/// values and converts them with `convertTo(CV_8U, 255)`, which rounds half to even.
fn jet(i: usize) -> [u8; 3] {
    let x = i as f64 / 255.0;
    let ch = |rise: f64, fall: f64| {
        let v = (4.0 * x + rise).min(fall - 4.0 * x).clamp(0.0, 1.0);
        ((v as f32) * 255.0).round_ties_even() as u8
    };
    [ch(-1.5, 4.5), ch(-0.5, 3.5), ch(0.5, 2.5)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jet_matches_opencvs_table() {
        // OpenCV's float table entries times 255 in float32, rounded half to even:
        // b[0] = 0.5 -> 127.5 -> 128; r[96] = 0.00588235294117645 -> 1.5 -> 2;
        // g[32] = 0.001960784313725483 -> 0.5 -> 0; r[224] = 0.9862745098039216 -> 251.5
        // -> 252; r[128] = 0.5078431372549019 -> 129.5 -> 130.
        assert_eq!(jet(0), [0, 0, 128]);
        assert_eq!(jet(255), [128, 0, 0]);
        assert_eq!(jet(96)[0], 2);
        assert_eq!(jet(32), [0, 0, 255]);
        assert_eq!(jet(224)[0], 252);
        assert_eq!(jet(128), [130, 255, 126]);
    }

    #[test]
    fn published_tables_at_their_ends() {
        // matplotlib: viridis[0] = (0.267004, 0.004874, 0.329415), inferno[255] =
        // (0.988362, 0.998364, 0.644924); Google's turbo[0] = (0.18995, 0.07176, 0.23217).
        assert_eq!(Colormap::Viridis.rgb(0.0), [68, 1, 84]);
        assert_eq!(Colormap::Inferno.rgb(1.0), [252, 255, 164]);
        assert_eq!(Colormap::Turbo.rgb(0.0), [48, 18, 59]);
        assert_eq!(Colormap::Gray.rgb(0.5), [127; 3]);
        assert_eq!(Colormap::Jet.rgb(f32::NAN), Colormap::Jet.rgb(0.0));
        assert!(Colormap::parse("rainbow").is_err());
    }

    #[test]
    fn magma_is_matplotlibs_table() {
        // matplotlib's _magma_data: [0] = (0.001462, 0.000466, 0.013866), [127] =
        // (0.709962, 0.212797, 0.477201), [255] = (0.987053, 0.991438, 0.749504), times
        // 255 and rounded.
        assert_eq!(Colormap::Magma.entry(0), [0, 0, 4]);
        assert_eq!(Colormap::Magma.entry(127), [181, 54, 122]);
        assert_eq!(Colormap::Magma.entry(255), [252, 253, 191]);
    }

    #[test]
    fn names_parse_back_and_jet_is_the_default() {
        for cmap in Colormap::ALL {
            assert_eq!(Colormap::parse(cmap.name()).unwrap(), cmap);
        }
        assert_eq!(Colormap::default(), Colormap::Jet);
        let err = Colormap::parse("rainbow").unwrap_err().to_string();
        assert!(
            err.contains("known: jet, turbo, viridis, inferno, magma, gray"),
            "{err}"
        );
    }

    #[test]
    fn heatmaps_floor_and_grids_round() {
        // 0.5 * 255 = 127.5: entry 127 for a heatmap (pytorch-grad-cam), 128 on a grid.
        assert_eq!(Colormap::Gray.rgb(0.5), [127; 3]);
        assert_eq!(Colormap::Gray.nearest(0.5), [128; 3]);
        assert_eq!(Colormap::Gray.nearest(7.0), [255; 3]);
        assert_eq!(Colormap::Gray.nearest(f32::NAN), [0; 3]);
    }
}
