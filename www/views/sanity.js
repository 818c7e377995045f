// The sanity check (Adebayo et al., "Sanity Checks for Saliency Maps", 2018): the
// model's layers re-initialised from the top one at a time, and how much the chosen
// method's map keeps its ranking (Spearman) after each (methods::sanity in the core). A
// method whose map hardly changes while the model is destroyed explains the image, not
// the model. The method menu and the check's options come from the method catalogue.
import { el, figure, altText, scrollBox } from "./dom.js";
import { filledCanvas, formatNumber } from "../draw/canvas.js";
import { optionField, optionsHelp, formValues } from "./attribution.js";

/** The view of the catalogue's check `check` ("sanity"), offering the catalogue's methods. */
export function sanityView(check, catalogue) {
  const names = catalogue.methods.map((m) => m.name);
  return {
    id: check.name,
    title: check.title,
    group: "attribution",
    needs: ["target"],
    request: check.name,
    async run({ call, panel, params, model, setParams }) {
      const asked = params[check.name] ?? {};
      const method = names.includes(asked.method) ? asked.method : "grad-cam";
      const checkOptions = asked.options ?? {};
      const r = await call(check.name, { method, target: params.target, checkOptions });
      const chart = barChart(r.steps);
      chart.dataset.name = `${check.name}-${method}`;
      chart.dataset.testid = "sanity-chart";
      altText(chart, `Bar chart of the Spearman correlation of the map, from -1 to 1, after re-initialising each layer in turn: ${r.steps.map((s) => `${s.layer} ${formatNumber(s.spearman)}`).join(", ")}`);
      const choice = el("select", { name: "method", dataset: { testid: `${check.name}-method` } }, catalogue.methods.map((m) => new Option(m.title, m.name)));
      choice.value = method;
      const form = el("form", { className: "options", noValidate: true, dataset: { testid: `${check.name}-form` } }, [
        el("label", {}, ["Method ", choice]),
        ...check.options.map((o) => optionField(check.name, o, checkOptions[o.name], model)),
        el("button", { type: "submit", dataset: { testid: `${check.name}-run` } }, "Run"),
        optionsHelp(check.name, check.options),
      ]);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        setParams({ [check.name]: { method: choice.value, options: formValues(form, check.options) } });
      });
      const label = model.card.labels[r.class];
      const title = catalogue.methods.find((m) => m.name === method).title;
      panel.replaceChildren(
        el("h2", {}, `${check.title} of ${title}: class ${r.class}${label && label !== `class ${r.class}` ? ` (${label})` : ""}`),
        el("p", { className: "hint" }, `${check.about} Each bar is the correlation after one more layer (seeded).`),
        form,
        figure(chart, `${r.steps.length} steps, seed ${r.seed}`),
        scrollBox(
          el(
            "table",
            { className: "sanity", dataset: { testid: "sanity-table" } },
            [el("thead", {}, el("tr", {}, [el("th", { scope: "col" }, "re-initialised down to"), el("th", { scope: "col" }, "Spearman")])), el("tbody", {}, r.steps.map((s) => el("tr", {}, [el("td", {}, s.layer), el("td", { className: "num" }, formatNumber(s.spearman))])))],
          ),
          "Spearman correlation per re-initialised layer",
        ),
      );
    },
  };
}

/** Spearman per step as bars from -1 to 1, zero line in the middle. */
function barChart(steps, width = 420, height = 200) {
  const canvas = filledCanvas(width, height, "#fff");
  canvas.className = "chart";
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
