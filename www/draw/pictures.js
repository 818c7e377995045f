// The pictures the page shows, made in the worker by the core's renderer (wasm/render.rs,
// the functions the CLI draws with): the page only puts these RGBA pixels on canvases
// and saves these PNG bytes. No DOM here: the worker imports it; `core` is the wasm
// module.

/**
 * An attribution result's pictures in `look` ({colormap, opacity}) over `image` (the
 * picture the model sees, {rgba, width, height}): the overlay, the map alone and `png`,
 * the picture "Save PNG" writes (the one `convscope explain --png` writes). Occlusion
 * adds its probability grid (cols x rows) and the mask view, with that view's PNG (the
 * CLI's `--view mask`).
 */
export function attributionPictures(core, r, image, { colormap, opacity }) {
  const { rgba, width, height } = image;
  const pictures = {
    overlay: core.overlay(rgba, width, height, r.display, r.width, r.height, colormap, opacity),
    map: core.heatmap(r.display, r.width, r.height, colormap),
    png: core.explanationPng(rgba, width, height, r.display, colormap, opacity, false),
  };
  if (r.mask) {
    pictures.probs = core.heatmap(r.probs, r.cols, r.rows, colormap);
    pictures.mask = core.maskPicture(rgba, width, height, r.mask);
    pictures.maskPng = core.explanationPng(rgba, width, height, r.mask, colormap, opacity, true);
  }
  return pictures;
}

/** Maximised pictures in [0, 1] ([units, channels, size, size]) side by side, 2 px apart. */
export function pictureGrid(core, pictures, units, channels, size) {
  return core.tileGrid(pictures, Uint32Array.from([units, channels, size, size]), { scaling: "none", gap: 2 });
}

/** Tiles of a layer's output: `[C, h, w]` maps are C one-channel tiles, a vector one tile per unit. */
export function tileShape(shape) {
  return Uint32Array.from(shape.length === 3 ? [shape[0], 1, shape[1], shape[2]] : [shape[0], 1, 1, 1]);
}
