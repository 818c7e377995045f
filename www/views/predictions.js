// Top-k predictions for the current image, shown next to the picture the model sees.
// Clicking a class makes it the target of the attribution views.
import { el, figure } from "./dom.js";
import { rgbaCanvas } from "../draw/canvas.js";

export const TOP_K = 5;

export default {
  id: "predictions",
  title: "Predictions",
  group: "model",
  needs: [],
  async run({ call, panel, image, model, params, setParams }) {
    const k = Math.min(TOP_K, model.classes);
    const preds = await call("predict", { k });
    const picture = rgbaCanvas(image.rgba, image.width, image.height);
    picture.dataset.name = "input";
    const rows = preds.map((p, i) => {
      const bar = el("span", { className: "bar" });
      bar.style.width = `${Math.max(1, Math.round(p.prob * 120))}px`;
      const row = el("tr", { dataset: { class: String(p.class), prob: String(p.prob) }, title: "Explain this class in the attribution views" }, [
        el("td", { className: "num" }, String(i + 1)),
        el("td", { className: "num" }, String(p.class)),
        el("td", {}, p.label),
        el("td", { className: "num" }, [bar, `${(p.prob * 100).toFixed(1)}%`]),
        el("td", { className: "num" }, p.logit.toFixed(3)),
      ]);
      if (params.target === p.class) row.classList.add("target");
      row.addEventListener("click", () => setParams({ target: p.class }, { rerun: false }));
      return row;
    });
    const table = el("table", { className: "predictions", dataset: { testid: "predictions" } }, [
      el("thead", {}, el("tr", {}, ["#", "class", "label", "probability", "logit"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows),
    ]);
    panel.replaceChildren(
      el("h2", {}, `Top ${k} of ${model.classes} classes`),
      el("div", { className: "side-by-side" }, [figure(picture, `${image.caption}, as the model sees it (${image.width}×${image.height})`), table]),
    );
    return { predictions: preds };
  },
};
