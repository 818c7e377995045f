// Top-k predictions for the current image, shown next to the picture the model sees.
// Clicking a class makes it the target of the attribution views; so do Enter and Space
// on its row, which takes focus (Tab), for keyboard users.
import { el, altText, scrollBox } from "./dom.js";
import { mapFigure, pixelReadout } from "./mapfigure.js";
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
    altText(picture, `The input picture, ${image.caption}, as the model sees it (${image.width}×${image.height} pixels)`);
    const rows = preds.map((p, i) => {
      const bar = el("span", { className: "bar" });
      bar.style.width = `${Math.max(1, Math.round(p.prob * 120))}px`;
      return el("tr", { tabIndex: 0, dataset: { class: String(p.class), prob: String(p.prob) }, title: "Explain this class in the attribution views" }, [
        el("td", { className: "num" }, String(i + 1)),
        el("td", { className: "num" }, String(p.class)),
        el("td", {}, p.label),
        el("td", { className: "num" }, [bar, `${(p.prob * 100).toFixed(1)}%`]),
        el("td", { className: "num" }, p.logit.toFixed(3)),
      ]);
    });
    // The target's row is marked (aria-current tells screen readers which it is).
    const mark = (cls) => rows.forEach((r, i) => {
      r.classList.toggle("target", preds[i].class === cls);
      if (preds[i].class === cls) r.setAttribute("aria-current", "true");
      else r.removeAttribute("aria-current");
    });
    const pick = (cls) => {
      mark(cls);
      setParams({ target: cls }, { rerun: false });
    };
    rows.forEach((row, i) => {
      row.addEventListener("click", () => pick(preds[i].class));
      row.addEventListener("keydown", (event) => {
        if (event.key !== "Enter" && event.key !== " ") return;
        event.preventDefault(); // Space would scroll the page
        pick(preds[i].class);
      });
    });
    mark(params.target);
    const table = el("table", { className: "predictions", dataset: { testid: "predictions" } }, [
      el("caption", { className: "visually-hidden" }, "Top classes: pick a row (click, or Enter) to explain that class in the attribution views"),
      el("thead", {}, el("tr", {}, ["#", "class", "label", "probability", "logit"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows),
    ]);
    panel.replaceChildren(
      el("h2", {}, `Top ${k} of ${model.classes} classes`),
      el("div", { className: "side-by-side" }, [mapFigure(picture, `${image.caption}, as the model sees it (${image.width}×${image.height})`, pixelReadout(image.rgba, image.width, image.height)), scrollBox(table, "Top classes")]),
    );
    return { predictions: preds };
  },
};
