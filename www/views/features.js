// Feature maps: the output of any layer for the current image, one tile per channel.
// Clicking a tile lays that channel over the picture the model sees.
import { el, figure } from "./dom.js";
import { tiles, overlay, colourBar, range } from "../draw/canvas.js";

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
    const { layers } = await call("trace", { layers: [params.layer] });
    const { name, shape, data } = layers[0];
    const [channels, h, w] = shape;
    const grid = tiles(data, shape, { colormap: params.colormap, scaling: params.scaling });
    grid.canvas.dataset.name = `${name}-maps`;
    grid.canvas.dataset.testid = "feature-tiles";
    const bar = grid.range
      ? colourBar(params.colormap, grid.range.min, grid.range.max)
      : colourBar(params.colormap, "each map's min", "its max");

    const detail = el("div", { className: "overlay-slot" });
    const showChannel = (c) => {
      const plane = data.subarray(c * h * w, (c + 1) * h * w);
      const { min, max } = grid.range ?? range(plane);
      const unit = Float32Array.from(plane, (v) => (max > min ? (v - min) / (max - min) : 0));
      const canvas = overlay(image.rgba, image.width, image.height, unit, w, h, params);
      canvas.dataset.name = `${name}-channel-${c}`;
      detail.replaceChildren(figure(canvas, `channel ${c} over the input (opacity ${params.opacity})`));
      detail.dispatchEvent(new Event("exportable", { bubbles: true }));
    };
    grid.canvas.addEventListener("click", (event) => {
      const rect = grid.canvas.getBoundingClientRect();
      const x = ((event.clientX - rect.left) / rect.width) * grid.canvas.width;
      const y = ((event.clientY - rect.top) / rect.height) * grid.canvas.height;
      const col = Math.floor(x / (w + grid.tile.gap));
      const row = Math.floor(y / (h + grid.tile.gap));
      const c = row * grid.columns + col;
      if (c >= 0 && c < channels) showChannel(c);
    });
    const strongest = strongestChannel(data, channels, h * w);
    panel.replaceChildren(
      el("h2", {}, `Feature maps of ${name}: ${channels} channels of ${h}×${w}`),
      el("p", { className: "hint" }, `${params.scaling === "shared" ? "One scale for all maps" : "Each map scaled to its own range"}. Click a map to lay it over the image.`),
      el("div", { className: "side-by-side" }, [figure(grid.canvas, `${name}, ${channels} maps`), detail]),
      bar,
    );
    showChannel(strongest);
  },
};

/** The channel with the largest mean: a good first one to show. */
function strongestChannel(data, channels, plane) {
  let best = 0;
  let bestMean = -Infinity;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let i = c * plane; i < (c + 1) * plane; i++) sum += data[i];
    if (sum / plane > bestMean) {
      bestMean = sum / plane;
      best = c;
    }
  }
  return best;
}
