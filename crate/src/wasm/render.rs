//! Bindings of the renderer ([`crate::render`]): the page's colormaps, heatmaps, overlays,
//! occlusion masks, tile grids and the picture "Save PNG" writes all come from here, made
//! by the functions the CLI uses. Each export converts its arguments and forwards.

use js_sys::Uint8ClampedArray;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::probes::{options_from, with};
use super::{js_err, to_js};
use crate::probes::{Scaling, TileGrid};
use crate::render::explanation::{self, Look, Shown};
use crate::render::grid::Layout;
use crate::render::overlay::{self, DEFAULT_ALPHA, MASK_DIM};
use crate::render::{colorbar, encode, Colormap, Rgba};

fn colormap(name: &str) -> Result<Colormap, JsError> {
    Colormap::parse(name).map_err(js_err)
}

/// A page picture (`ImageData` bytes) as the renderer's [`Rgba`].
fn picture(rgba: &[u8], width: usize, height: usize) -> Result<Rgba, JsError> {
    if rgba.len() != 4 * width * height {
        return Err(js_err(format!(
            "the picture has {} bytes, not {width}x{height} RGBA",
            rgba.len()
        )));
    }
    Ok(Rgba {
        width,
        height,
        data: rgba.to_vec(),
    })
}

fn pixels(result: crate::Result<Rgba>) -> Result<Uint8ClampedArray, JsError> {
    Ok(Uint8ClampedArray::from(
        result.map_err(js_err)?.data.as_slice(),
    ))
}

#[derive(Serialize)]
struct Choices {
    colormaps: Vec<&'static str>,
    colormap: &'static str,
    opacity: f32,
}

/// What the page offers and starts with: `{colormaps: [names], colormap: the default,
/// opacity: the default overlay weight}`.
#[wasm_bindgen(js_name = renderChoices)]
pub fn render_choices() -> Result<JsValue, JsError> {
    to_js(&Choices {
        colormaps: Colormap::ALL.map(Colormap::name).to_vec(),
        colormap: Colormap::default().name(),
        opacity: DEFAULT_ALPHA,
    })
}

/// The colormap's 256 entries as a 256x1 RGBA strip, low at the left (`colorbar::strip`).
#[wasm_bindgen(js_name = colormapStrip)]
pub fn colormap_strip(name: &str) -> Result<Uint8ClampedArray, JsError> {
    pixels(Ok(colorbar::strip(colormap(name)?)))
}

/// `values` (`width x height`, in [0, 1]) in colour, RGBA (`overlay::heatmap`; NaN white).
#[wasm_bindgen]
pub fn heatmap(
    values: &[f32],
    width: usize,
    height: usize,
    colormap_name: &str,
) -> Result<Uint8ClampedArray, JsError> {
    pixels(overlay::heatmap(
        values,
        width,
        height,
        colormap(colormap_name)?,
    ))
}

/// `map` (`map_width x map_height`, in [0, 1]) over the picture `rgba` (`width x
/// height`) with weight `alpha`, as `show_cam_on_image` draws it; a smaller map is
/// stretched bilinearly first (`overlay::overlay_resized`).
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn overlay(
    rgba: &[u8],
    width: usize,
    height: usize,
    map: &[f32],
    map_width: usize,
    map_height: usize,
    colormap_name: &str,
    alpha: f32,
) -> Result<Uint8ClampedArray, JsError> {
    let image = picture(rgba, width, height)?;
    let cmap = colormap(colormap_name)?;
    pixels(overlay::overlay_resized(
        &image,
        map,
        (map_height, map_width),
        cmap,
        alpha,
    ))
}

/// Occlusion's mask view: `rgba` with the pixels where `mask` is 0 dimmed
/// (`overlay::mask` at `MASK_DIM`, as `convscope explain --view mask`).
#[wasm_bindgen(js_name = maskPicture)]
pub fn mask_picture(
    rgba: &[u8],
    width: usize,
    height: usize,
    mask: &[f32],
) -> Result<Uint8ClampedArray, JsError> {
    pixels(overlay::mask(
        &picture(rgba, width, height)?,
        mask,
        MASK_DIM,
    ))
}

/// PNG bytes of the picture `convscope explain --png` writes for the same map, colormap
/// and `alpha` (`explanation::picture` at its default zoom): `map` (`width x height`,
/// in [0, 1]) over `rgba`, or with `mask` the 0/1 mask's view.
#[wasm_bindgen(js_name = explanationPng)]
#[allow(clippy::too_many_arguments)]
pub fn explanation_png(
    rgba: &[u8],
    width: usize,
    height: usize,
    map: &[f32],
    colormap_name: &str,
    alpha: f32,
    mask: bool,
) -> Result<Vec<u8>, JsError> {
    let seen = picture(rgba, width, height)?;
    let shown = if mask {
        Shown::Mask(map)
    } else {
        Shown::Heat(map)
    };
    let look = Look {
        cmap: colormap(colormap_name)?,
        alpha,
        zoom: None,
    };
    let drawn = explanation::picture(Some(&seen), shown, (height, width), look).map_err(js_err)?;
    encode::png(&drawn).map_err(js_err)
}

/// `options` of [`tile_grid`] and [`tile_overlay`].
#[derive(Deserialize, Default)]
#[serde(default)]
struct TileArgs {
    /// For one-channel tiles; default gray.
    colormap: Option<String>,
    /// "channel" (each tile its own min..max), "shared", or "none" (values already in
    /// [0, 1], drawn as they are).
    scaling: Option<String>,
    /// Pixels between tiles (default 1).
    gap: Option<usize>,
    /// RGBA of the gaps (default white).
    background: Option<[u8; 4]>,
}

impl TileArgs {
    const KEYS: &[&str] = &["colormap", "scaling", "gap", "background"];

    fn colormap(&self) -> Result<Colormap, JsError> {
        self.colormap
            .as_deref()
            .map_or(Ok(Colormap::Gray), colormap)
    }

    /// `values` as `count` tiles of `[channels, height, width]`, scaled as asked.
    fn grid(&self, values: &[f32], shape: &[usize]) -> Result<TileGrid, JsError> {
        let &[count, channels, height, width] = shape else {
            return Err(js_err(format!(
                "tiles: shape must be [count, channels, height, width], got {shape:?}"
            )));
        };
        let indices = (0..count).collect();
        let dims = [channels, height, width];
        match self.scaling.as_deref() {
            Some("none") => TileGrid::unscaled(String::new(), values.to_vec(), indices, dims),
            other => {
                let scaling = Scaling::parse(other.unwrap_or("channel")).map_err(js_err)?;
                TileGrid::from_raw(String::new(), values, indices, dims, scaling)
            }
        }
        .map_err(js_err)
    }
}

#[derive(Serialize)]
struct GridMeta<'a> {
    width: u32,
    height: u32,
    layout: Layout,
    tiles: &'a [crate::probes::TileInfo],
}

/// `values` of `shape` `[count, channels, height, width]` as one picture of tiles at
/// their own size (`Layout::packed`, `render::grid`). `options`: `{colormap?, scaling?:
/// "channel"|"shared"|"none", gap?, background?: [r, g, b, a]}`. Answers `{rgba, width,
/// height, layout: {columns, zoom, gap, margin, background}, tiles: [{index, lo, hi,
/// mean}]}`.
#[wasm_bindgen(js_name = tileGrid)]
pub fn tile_grid(values: &[f32], shape: Vec<usize>, options: JsValue) -> Result<JsValue, JsError> {
    let args: TileArgs = options_from(options, "tiles options", TileArgs::KEYS)?;
    let grid = args.grid(values, &shape)?;
    let layout = Layout::packed(
        grid.tiles.len(),
        grid.height,
        grid.width,
        args.gap.unwrap_or(1),
        args.background.unwrap_or([255; 4]),
    );
    let cmap = args.colormap()?;
    let drawn = grid
        .render_with(&layout, |v| cmap.nearest(v))
        .map_err(js_err)?;
    let meta = to_js(&GridMeta {
        width: drawn.width(),
        height: drawn.height(),
        layout,
        tiles: &grid.tiles,
    })?;
    with(
        meta,
        "rgba",
        Uint8ClampedArray::from(drawn.as_raw().as_slice()).into(),
    )
}

/// Tile `index` of `values` (shaped and scaled as for [`tile_grid`]) over the picture
/// `rgba` (`width x height`) with weight `alpha` (`TileGrid::over`): one feature map
/// laid over the input.
#[wasm_bindgen(js_name = tileOverlay)]
#[allow(clippy::too_many_arguments)]
pub fn tile_overlay(
    values: &[f32],
    shape: Vec<usize>,
    options: JsValue,
    index: usize,
    rgba: &[u8],
    width: usize,
    height: usize,
    alpha: f32,
) -> Result<Uint8ClampedArray, JsError> {
    let args: TileArgs = options_from(options, "tiles options", TileArgs::KEYS)?;
    let grid = args.grid(values, &shape)?;
    let image = picture(rgba, width, height)?;
    pixels(grid.over(index, &image, args.colormap()?, alpha))
}
