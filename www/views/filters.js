// Filters: the kernels of a convolution, one tile per output channel (Zeiler & Fergus
// 2014 show first layers this way): the first layer of a colour model in RGB, deeper
// layers one input channel at a time. The core draws the grid (probes::filters +
// render::grid), so the page shows exactly the CLI's picture, in the page's colormap.
import { el, altText } from "./dom.js";
import { rgbaCanvas, colourBar, formatNumber, levelOf } from "../draw/canvas.js";
import { tileGrid } from "../draw/readout.js";
import { mapFigure } from "./mapfigure.js";
import { FILTERS_MEANING } from "./colourwords.js";
import { LAYER_KINDS } from "./layerkinds.js";

/** Input channels of layer `name`: the output channels of the layer before it. */
export function inputChannels(model, name) {
  const layers = model.summary.layers;
  const i = layers.findIndex((l) => l.name === name);
  return i <= 0 ? model.inChannels : layers[i - 1].output_shape[0];
}

export default {
  id: "filters",
  title: "Filters",
  group: "inside",
  needs: ["layer", "colormap", "scaling"],
  ...LAYER_KINDS.conv,
  async run({ call, panel, params, model, setParams }) {
    const { layer } = params;
    const inputs = inputChannels(model, layer);
    const rgb = inputs === 3;
    // The input channel chosen before, if this layer has it; else the core's default
    // (RGB for three input channels, else channel 0).
    const channel = Number.isInteger(params.filterChannel) && params.filterChannel < inputs ? params.filterChannel : undefined;
    const grid = await call("filters", { layer, channel, scaling: params.scaling, colormap: params.colormap });

    const canvas = rgbaCanvas(grid.rgba, grid.width, grid.height, "filters");
    canvas.dataset.name = `${layer}-filters`;
    canvas.dataset.testid = "filter-grid";
    altText(canvas, `The ${grid.tiles.length} filters of ${layer} as a grid of tiles: ${grid.caption}${grid.channels === 1 ? `, colormap ${params.colormap}` : ""}`);
    // Small grids (a few 3x3 kernels) drawn larger; pixels stay square blocks.
    canvas.style.width = `${grid.width * Math.max(1, Math.ceil(320 / grid.width))}px`;

    const choice = el(
      "select",
      { dataset: { testid: "filter-channel" }, on: { change: (e) => setParams({ filterChannel: e.target.value === "" ? undefined : Number(e.target.value) }) } },
      [
        rgb ? new Option("RGB (input channels 0, 1, 2)", "") : null,
        ...Array.from({ length: inputs }, (_, k) => new Option(`input channel ${k}`, String(k))),
      ],
    );
    choice.value = channel === undefined ? (rgb ? "" : "0") : String(channel);

    // Hovering a tile (or the arrow keys on the grid) names its filter, the raw values its
    // black and white stand for, and the weight under the cursor, read back from the
    // core's picture: lo + level / 255 * (hi - lo), a level per colour for RGB.
    const cells = tileGrid(grid.layout, grid.tileWidth, grid.tileHeight, grid.tiles.length);
    const pixels = grid.rgba;
    const weightAt = (col, row, tile) => {
      const r = cells.rect(col, row);
      const i = 4 * (Math.floor(r.y + r.h / 2) * grid.width + Math.floor(r.x + r.w / 2));
      const levels = grid.channels === 1 ? [levelOf(params.colormap, pixels[i], pixels[i + 1], pixels[i + 2])] : [pixels[i], pixels[i + 1], pixels[i + 2]];
      return levels.map((l) => tile.lo + (l / 255) * (tile.hi - tile.lo));
    };
    const spec = {
      grid: cells,
      testid: "filter-readout",
      hint: "Hover a filter (or focus the grid and use the arrow keys) for its values.",
      describe: (col, row) => {
        const at = cells.locate(col, row);
        if (!at) return null;
        const tile = grid.tiles[at.tile];
        const w = weightAt(col, row, tile);
        const weight = w.length === 1 ? `≈${formatNumber(w[0])}` : `≈${["R", "G", "B"].map((c, k) => `${c} ${formatNumber(w[k])}`).join(", ")}`;
        return { text: `filter ${tile.index}: ${formatNumber(tile.lo)} (black) to ${formatNumber(tile.hi)} (white), mean ${formatNumber(tile.mean)}; weight at x ${at.x}, y ${at.y}: ${weight}`, value: w[0] };
      },
    };

    const oneChannel = grid.channels === 1;
    const shared = grid.scaling === "shared";
    panel.replaceChildren(
      el("h2", {}, `Filters of ${layer}: ${grid.tiles.length} kernels of ${inputs}×${grid.tileHeight}×${grid.tileWidth}`),
      el("label", { className: "inline-control" }, ["Show ", choice]),
      el("p", { className: "hint" }, shared ? "One scale for all filters." : "Each filter scaled to its own range."),
      mapFigure(canvas, grid.caption, spec),
      oneChannel
        ? colourBar(params.colormap, shared ? grid.tiles[0].lo : "each filter's min", shared ? grid.tiles[0].hi : "its max", FILTERS_MEANING)
        : el("p", { className: "hint" }, "Red, green and blue are the weights on the input channels the caption names, scaled together."),
    );
  },
};
