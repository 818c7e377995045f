//! Colormaps for maps in [0, 1]: jet (pytorch-grad-cam's default, OpenCV's
//! `COLORMAP_JET`), turbo, viridis, inferno and gray. Exact 256-entry tables: jet from
//! OpenCV's definition, the others from their published tables (`colormap_tables.rs`).

use super::colormap_tables::{INFERNO, TURBO, VIRIDIS};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Colormap {
    #[default]
    Jet,
    Turbo,
    Viridis,
    Inferno,
    Gray,
}

impl Colormap {
    pub const NAMES: [&'static str; 5] = ["jet", "turbo", "viridis", "inferno", "gray"];

    pub fn parse(name: &str) -> Result<Colormap> {
        match name {
            "jet" => Ok(Colormap::Jet),
            "turbo" => Ok(Colormap::Turbo),
            "viridis" => Ok(Colormap::Viridis),
            "inferno" => Ok(Colormap::Inferno),
            "gray" | "grey" => Ok(Colormap::Gray),
            other => Err(Error::Input(format!(
                "unknown colormap `{other}`; known: {}",
                Self::NAMES.join(", ")
            ))),
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
            Colormap::Gray => [i as u8; 3],
        }
    }

    /// The colour of `v` in [0, 1] (clamped; NaN as 0): entry `floor(255 v)`, the index
    /// pytorch-grad-cam gives OpenCV (`np.uint8(255 * mask)`).
    pub fn rgb(self, v: f32) -> [u8; 3] {
        let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
        self.entry((255.0 * v) as u8)
    }
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
}
