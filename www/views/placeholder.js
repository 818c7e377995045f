// A view whose computation is not in this build yet: it is listed, can be chosen and
// linked to, and says plainly that it is not available (see pending.js).
import { el } from "./dom.js";
import { LAYER_KINDS } from "./layerkinds.js";

export function placeholder({ id, title, group, needs, request, wasm, layerKind }) {
  return {
    id,
    title,
    group,
    needs,
    request,
    pending: true,
    ...(layerKind ? LAYER_KINDS[layerKind] : {}),
    async run({ panel }) {
      panel.replaceChildren(
        el("h2", {}, title),
        el("p", { className: "unavailable", dataset: { testid: "unavailable" } }, `${title} is not available in this build.`),
        el("p", { className: "hint" }, `It will run as the worker request "${request}" (wasm: ${wasm}).`),
      );
    },
  };
}
