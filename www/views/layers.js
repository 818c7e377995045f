// The layer inspector: a layer's get_config() and the statistics and histograms of its
// weights and biases.
import { el, figure, altText, scrollBox } from "./dom.js";
import { histogram, formatNumber } from "../draw/canvas.js";

export default {
  id: "layers",
  title: "Layer inspector",
  group: "model",
  needs: ["layer"],
  layers: (model) => model.layerNames,
  defaultLayer: (model) => model.summary.layers.find((l) => l.type === "Conv2d")?.name ?? model.layerNames[0],
  async run({ call, panel, params }) {
    const { config, weights, histogram: hist } = await call("inspect", { layer: params.layer, bins: 64 });
    const parts = [el("h2", {}, `Layer ${config.name} (${config.type})`)];
    // Short number lists on one line: [3, 3] rather than four lines.
    const json = JSON.stringify(config, null, 2).replace(/\[\s+([-\d.e,\s]+?)\s+\]/g, (_, items) => `[${items.split(/,\s*/).join(", ")}]`);
    // Focusable: on a narrow screen the listing scrolls sideways, by keyboard too.
    const pre = el("pre", { className: "config", tabIndex: 0, role: "region", "aria-label": `Configuration of ${config.name}, as JSON`, dataset: { testid: "layer-config" } }, json);
    parts.push(el("section", { className: "inspect-config" }, [el("h3", {}, "Configuration"), pre]));
    const stats = el("section", { className: "inspect-weights" }, el("h3", {}, "Parameters"));
    if (weights && hist) {
      const keys = ["shape", "count", "min", "max", "mean", "std", "zero_fraction"];
      const table = el("table", { className: "stats" }, [
        el("thead", {}, el("tr", {}, [el("th", { scope: "col" }, el("span", { className: "visually-hidden" }, "tensor")), ...keys.map((k) => el("th", { scope: "col" }, k.replace("_", " ")))])),
        el("tbody", {}, ["weight", "bias"].map((which) =>
          el("tr", {}, [
            el("th", { scope: "row" }, which),
            ...keys.map((k) => {
              const v = weights[which][k];
              return el("td", { className: "num" }, Array.isArray(v) ? v.join("×") : formatNumber(v));
            }),
          ]),
        )),
      ]);
      stats.append(scrollBox(table, `Statistics of the parameters of ${config.name}`));
      for (const which of ["weight", "bias"]) {
        const canvas = histogram(hist[which]);
        canvas.dataset.name = `${config.name}-${which}-histogram`;
        const { min, max } = hist[which];
        const count = weights[which].count.toLocaleString("en-US");
        altText(canvas, `Histogram of the ${count} ${which} values of ${config.name}, ${formatNumber(min)} to ${formatNumber(max)}, in ${hist[which].counts.length} bins`);
        stats.append(figure(canvas, `${which} values, ${formatNumber(min)} … ${formatNumber(max)}${min < 0 && max > 0 ? " (red line: 0)" : ""}`));
      }
    } else {
      // Still something to look at: the layer's place in the network, input to output.
      stats.append(el("p", {}, `${config.type} has no parameters.`), shapeSketch(config));
    }
    parts.push(stats);
    panel.replaceChildren(parts[0], el("div", { className: "inspect" }, parts.slice(1)));
  },
};

/** Input and output shapes as two proportional boxes, for layers without weights. */
function shapeSketch(config) {
  const canvas = el("canvas", { width: 320, height: 90, className: "histogram" });
  canvas.dataset.name = `${config.name}-shapes`;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, 320, 90);
  const boxes = [config.input_shape, config.output_shape];
  const biggest = Math.max(...boxes.map((s) => s.reduce((a, b) => a * b, 1)));
  boxes.forEach((shape, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const side = Math.max(4, Math.sqrt(size / biggest) * 70);
    ctx.fillStyle = i === 0 ? "#9db4e6" : "#3b6fd4";
    ctx.fillRect(40 + i * 160, 45 - side / 2, side, side);
    ctx.fillStyle = "#1b1b1f";
    ctx.font = "12px sans-serif";
    ctx.fillText(`(${shape.join(", ")})`, 40 + i * 160, 86);
  });
  altText(canvas, `Input shape (${config.input_shape.join(", ")}) and output shape (${config.output_shape.join(", ")}) of ${config.name}, drawn as squares sized by their number of values`);
  return figure(canvas, "input → output shape");
}
