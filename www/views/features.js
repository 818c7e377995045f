// Feature maps: the output of any layer for the current image, one tile per channel,
// drawn by the core in the worker (render::grid). Clicking a tile lays that channel,
// scaled as its tile is, over the picture the model sees (the core's overlay); so does
// typing its number in the Channel field, the keyboard's way to the same thing.
import { el, altText } from "./dom.js";
import { colourBar, rgbaCanvas, formatNumber } from "../draw/canvas.js";
import { tileGrid, uniformGrid } from "../draw/readout.js";
import { mapFigure } from "./mapfigure.js";
import { FEATURES_MEANING } from "./colourwords.js";
import { CancelledError } from "../rpc.js";

/** Layers whose output is a stack of maps ([C, H, W]). */
export function spatialLayers(model) {
  return model.summary.layers.filter((l) => l.output_shape.length === 3).map((l) => l.name);
}

export default {
  id: "features",
  title: "Feature maps",
  group: "inside",
  needs: ["layer", "colormap", "scaling", "opacity"],
  layers: spatialLayers,
  defaultLayer: (model) => model.summary.layers.find((l) => l.type === "ReLU")?.name ?? spatialLayers(model)[0],
  async run({ call, panel, image, params }) {
    const name = params.layer;
    const options = { colormap: params.colormap, scaling: params.scaling, gap: 1 };
    const grid = await call("tiles", { layer: name, options });
    // The numbers behind the tiles, for the readout (the worker keeps them per image).
    const { data } = (await call("trace", { layers: [name] })).layers[0];
    const [channels, h, w] = grid.shape;
    const canvas = rgbaCanvas(grid.rgba, grid.width, grid.height, "tiles");
    canvas.dataset.name = `${name}-maps`;
    canvas.dataset.testid = "feature-tiles";
    const shared = params.scaling === "shared";
    altText(canvas, `${channels} feature maps of ${name}, ${h}×${w} each, one tile per channel in a grid of ${grid.layout.columns} columns, colormap ${params.colormap}${shared ? ", one scale for all" : ", each scaled to its own range"}. The Channel field lays one over the image.`);
    const bar = shared ? colourBar(params.colormap, grid.tiles[0].lo, grid.tiles[0].hi, FEATURES_MEANING) : colourBar(params.colormap, "each map's min", "its max", FEATURES_MEANING);
    const value = (c, x, y) => data[(c * h + y) * w + x];

    const detail = el("div", { className: "overlay-slot" });
    const showChannel = async (c) => {
      let rgba;
      try {
        rgba = await call("tileOverlay", { layer: name, channel: c, opacity: params.opacity, options });
      } catch (err) {
        if (err instanceof CancelledError) return; // another view took over meanwhile
        throw err;
      }
      const over = rgbaCanvas(rgba, image.width, image.height, "picture overlay");
      over.dataset.name = `${name}-channel-${c}`;
      altText(over, `Channel ${c} of ${name} in colormap ${params.colormap} over the input picture, opacity ${params.opacity}`);
      field.value = String(c);
      // The overlay is the picture's size; each of its pixels reads the map cell under it.
      const spec = {
        grid: uniformGrid(image.width, image.height),
        describe: (x, y) => {
          const [mx, my] = [Math.floor((x * w) / image.width), Math.floor((y * h) / image.height)];
          const at = mx === x && my === y ? `x ${x}, y ${y}` : `x ${x}, y ${y} (map cell ${mx}, ${my} of ${w}×${h})`;
          return { text: `channel ${c}, ${at}: ${formatNumber(value(c, mx, my))}${range(grid.tiles[c])}`, value: value(c, mx, my) };
        },
      };
      detail.replaceChildren(mapFigure(over, `channel ${c} over the input (opacity ${params.opacity})`, spec));
      detail.dispatchEvent(new Event("exportable", { bubbles: true }));
    };
    canvas.addEventListener("click", (event) => {
      const c = tileAt(grid, canvas, event);
      if (c !== null) showChannel(c);
    });
    // Hover (or the arrow keys) read a map's value; Enter lays the map at the cursor over the image.
    const cells = tileGrid(grid.layout, w, h, channels);
    const tilesSpec = {
      grid: cells,
      describe: (col, row) => {
        const at = cells.locate(col, row);
        return at && { text: `channel ${at.tile}, x ${at.x}, y ${at.y}: ${formatNumber(value(at.tile, at.x, at.y))}${range(grid.tiles[at.tile])}`, value: value(at.tile, at.x, at.y) };
      },
      hint: "Point at a map (or focus the grid and use the arrow keys) for its value; click it (or Enter) to lay it over the image.",
      onEnter: (cell) => showChannel(cells.locate(cell.col, cell.row).tile),
    };
    // The keyboard's way: a channel number (Enter or leaving the field shows it).
    const field = el("input", { type: "number", min: 0, max: channels - 1, step: 1, dataset: { testid: "feature-channel" } });
    field.addEventListener("change", () => {
      const c = Number(field.value);
      if (field.value !== "" && Number.isInteger(c) && c >= 0 && c < channels) showChannel(c);
    });
    panel.replaceChildren(
      el("h2", {}, `Feature maps of ${name}: ${channels} channels of ${h}×${w}`),
      el("p", { className: "hint" }, `${shared ? "One scale for all maps" : "Each map scaled to its own range"}. Click a map, or give its channel number, to lay it over the image.`),
      el("label", { className: "inline-control" }, [`Channel (0 to ${channels - 1}) over the image `, field]),
      el("div", { className: "side-by-side" }, [mapFigure(canvas, `${name}, ${channels} maps`, tilesSpec, { enlarge: false }), detail]),
      bar,
    );
    await showChannel(strongest(grid.tiles));
  },
};

/** The channel under a mouse event, from the core's layout, or null between tiles. */
function tileAt(grid, canvas, event) {
  const rect = canvas.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width) * canvas.width;
  const y = ((event.clientY - rect.top) / rect.height) * canvas.height;
  const [, h, w] = grid.shape;
  const { columns, zoom, gap, margin } = grid.layout;
  const col = Math.floor((x - margin) / (w * zoom + gap));
  const row = Math.floor((y - margin) / (h * zoom + gap));
  const c = row * columns + col;
  return col >= 0 && col < columns && row >= 0 && c < grid.tiles.length ? c : null;
}

/** " (channel from lo to hi)": the range its colours span. */
function range(tile) {
  return ` (channel from ${formatNumber(tile.lo)} to ${formatNumber(tile.hi)})`;
}

/** The channel with the largest mean (the core's per-tile mean): a good first one to show. */
function strongest(tiles) {
  return tiles.reduce((best, t) => (t.mean > best.mean ? t : best), tiles[0]).index;
}
