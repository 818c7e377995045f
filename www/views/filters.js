// Filters: the kernels of a convolution, one tile per output channel (Zeiler & Fergus
// 2014 show first layers this way): the first layer of a colour model in RGB, deeper
// layers one input channel at a time. The core draws the grid (probes::filters +
// render::grid), so the page shows exactly the CLI's picture, in the page's colormap.
import { el, figure, altText } from "./dom.js";
import { rgbaCanvas, colourBar, formatNumber } from "../draw/canvas.js";
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
    canvas.style.width = `${grid.width * Math.max(1, Math.floor(320 / grid.width))}px`;

    const choice = el(
      "select",
      { dataset: { testid: "filter-channel" }, on: { change: (e) => setParams({ filterChannel: e.target.value === "" ? undefined : Number(e.target.value) }) } },
      [
        rgb ? new Option("RGB (input channels 0, 1, 2)", "") : null,
        ...Array.from({ length: inputs }, (_, k) => new Option(`input channel ${k}`, String(k))),
      ],
    );
    choice.value = channel === undefined ? (rgb ? "" : "0") : String(channel);

    // Hovering a tile names its filter and the raw values its black and white stand for.
    const readout = el("p", { className: "hint", dataset: { testid: "filter-readout" } }, "Hover a filter for its values.");
    canvas.addEventListener("mousemove", (event) => {
      const tile = tileAt(grid, canvas, event);
      readout.textContent = tile
        ? `filter ${tile.index}: ${formatNumber(tile.lo)} (black) to ${formatNumber(tile.hi)} (white), mean ${formatNumber(tile.mean)}`
        : "Hover a filter for its values.";
    });

    const oneChannel = grid.channels === 1;
    const shared = grid.scaling === "shared";
    panel.replaceChildren(
      el("h2", {}, `Filters of ${layer}: ${grid.tiles.length} kernels of ${inputs}×${grid.tileHeight}×${grid.tileWidth}`),
      el("label", { className: "inline-control" }, ["Show ", choice]),
      el("p", { className: "hint" }, shared ? "One scale for all filters." : "Each filter scaled to its own range."),
      figure(canvas, grid.caption),
      readout,
      oneChannel
        ? colourBar(params.colormap, shared ? grid.tiles[0].lo : "each filter's min", shared ? grid.tiles[0].hi : "its max")
        : el("p", { className: "hint" }, "Red, green and blue are the weights on the input channels the caption names, scaled together."),
    );
  },
};

/** The tile under a mouse event, from the core's layout (origins at margin + k * (side * zoom + gap)). */
function tileAt(grid, canvas, event) {
  const rect = canvas.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width) * canvas.width;
  const y = ((event.clientY - rect.top) / rect.height) * canvas.height;
  const { columns, zoom, gap, margin } = grid.layout;
  const col = Math.floor((x - margin) / (grid.tileWidth * zoom + gap));
  const row = Math.floor((y - margin) / (grid.tileHeight * zoom + gap));
  const i = row * columns + col;
  return col >= 0 && col < columns && row >= 0 && i < grid.tiles.length ? grid.tiles[i] : null;
}
