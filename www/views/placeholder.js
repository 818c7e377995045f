// A view whose computation is not in this build yet: it is listed, can be chosen and
// linked to, and says plainly that it is not available (see pending.js).
import { el } from "./dom.js";

const LAYERS = {
  cam: {
    layers: (model) => model.summary.layers.filter((l) => l.output_shape.length === 3).map((l) => l.name),
    defaultLayer: (model) => model.summary.layers.filter((l) => l.type === "ReLU" && l.output_shape.length === 3).at(-1)?.name,
  },
  conv: {
    layers: (model) => model.summary.layers.filter((l) => l.type === "Conv2d").map((l) => l.name),
    defaultLayer: (model) => model.summary.layers.find((l) => l.type === "Conv2d")?.name,
  },
  any: {
    layers: (model) => model.layerNames,
    defaultLayer: (model) => model.layerNames.at(-1),
  },
};

export function placeholder({ id, title, group, needs, request, wasm, layerKind }) {
  return {
    id,
    title,
    group,
    needs,
    request,
    pending: true,
    ...(layerKind ? LAYERS[layerKind] : {}),
    async run({ panel }) {
      panel.replaceChildren(
        el("h2", {}, title),
        el("p", { className: "unavailable", dataset: { testid: "unavailable" } }, `${title} is not available in this build.`),
        el("p", { className: "hint" }, `It will run as the worker request "${request}" (wasm: ${wasm}).`),
      );
    },
  };
}
