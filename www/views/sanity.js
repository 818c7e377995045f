// The sanity check (Adebayo et al., "Sanity Checks for Saliency Maps", 2018): the
// model's layers re-initialised from the top one at a time, and how much the chosen
// method's map keeps its ranking (Spearman) after each (methods::sanity::cascading). A
// method whose map hardly changes while the model is destroyed explains the image, not
// the model.
import { el, figure } from "./dom.js";
import { filledCanvas, formatNumber } from "../draw/canvas.js";
import { ATTRIBUTION_METHODS } from "./methods.js";

export default {
  id: "sanity",
  title: "Sanity check",
  group: "attribution",
  needs: ["target"],
  request: "sanity",
  async run({ call, panel, params, model, setParams }) {
    const method = ATTRIBUTION_METHODS.includes(params.sanity?.method) ? params.sanity.method : "grad-cam";
    const seed = Number.isInteger(params.sanity?.seed) ? params.sanity.seed : 0;
    const r = await call("sanity", { method, target: params.target, seed });
    const chart = barChart(r.steps);
    chart.dataset.name = `sanity-${method}`;
    chart.dataset.testid = "sanity-chart";
    const choice = el("select", { dataset: { testid: "sanity-method" } }, ATTRIBUTION_METHODS.map((m) => new Option(m, m)));
    choice.value = method;
    const seedInput = el("input", { type: "number", min: 0, step: 1, value: seed, dataset: { testid: "sanity-seed" } });
    const form = el("form", { className: "options" }, [
      el("label", {}, ["Method ", choice]),
      el("label", {}, ["Seed ", seedInput]),
      el("button", { type: "submit", dataset: { testid: "sanity-run" } }, "Run"),
    ]);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      setParams({ sanity: { method: choice.value, seed: Number(seedInput.value) || 0 } });
    });
    const label = model.card.labels[r.class];
    panel.replaceChildren(
      el("h2", {}, `Sanity check of ${method}: class ${r.class}${label && label !== `class ${r.class}` ? ` (${label})` : ""}`),
      el("p", { className: "hint" }, "Layers re-initialised from the top, one more at each step (seeded); each bar is the Spearman rank correlation of the map with the original. High bars all the way down mean the map does not depend on the model."),
      form,
      figure(chart, `${r.steps.length} steps, seed ${r.seed}`),
      el(
        "table",
        { className: "sanity", dataset: { testid: "sanity-table" } },
        [el("thead", {}, el("tr", {}, [el("th", {}, "re-initialised down to"), el("th", {}, "Spearman")])), el("tbody", {}, r.steps.map((s) => el("tr", {}, [el("td", {}, s.layer), el("td", { className: "num" }, formatNumber(s.spearman))])))],
      ),
    );
  },
};

/** Spearman per step as bars from -1 to 1, zero line in the middle. */
function barChart(steps, width = 420, height = 200) {
  const canvas = filledCanvas(width, height, "#fff");
  const ctx = canvas.getContext("2d");
  const box = { left: 30, right: width - 8, top: 8, bottom: height - 8 };
  const y = (v) => box.top + ((1 - v) / 2) * (box.bottom - box.top);
  ctx.strokeStyle = "#999";
  ctx.strokeRect(box.left, box.top, box.right - box.left, box.bottom - box.top);
  ctx.beginPath();
  ctx.moveTo(box.left, y(0));
  ctx.lineTo(box.right, y(0));
  ctx.stroke();
  const bar = (box.right - box.left) / Math.max(1, steps.length);
  steps.forEach((s, i) => {
    const v = Number.isFinite(s.spearman) ? s.spearman : 0;
    ctx.fillStyle = v >= 0 ? "#3b6fd4" : "#d4553b";
    const [a, b] = [y(Math.max(v, 0)), y(Math.min(v, 0))];
    ctx.fillRect(box.left + i * bar + 2, a, Math.max(1, bar - 4), Math.max(1, b - a));
  });
  ctx.fillStyle = "#333";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of [1, 0, -1]) ctx.fillText(String(v), box.left - 4, y(v));
  return canvas;
}
