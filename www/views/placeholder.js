// A view whose computation is not in this build yet: it is listed, can be chosen and
// linked to, and says plainly that it is not available (see pending.js).
import { el } from "./dom.js";

export function placeholder({ id, title, group, needs, request, wasm }) {
  return {
    id,
    title,
    group,
    needs,
    request,
    pending: true,
    async run({ panel }) {
      panel.replaceChildren(
        el("h2", {}, title),
        el("p", { className: "unavailable", dataset: { testid: "unavailable" } }, `${title} is not available in this build.`),
        el("p", { className: "hint" }, `It will run as the worker request "${request}" (wasm: ${wasm}).`),
      );
    },
  };
}
