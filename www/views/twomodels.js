// The comparison view's second mode (&mode=models): one method on two models, the page's
// model and another embedded one (&other=, by default its twin: the clean Fashion-MNIST
// model beside its shortcut twin), on the same image, each map with its model's top class
// and its scores. The other model loads into the worker's second slot (scoring.js) and is
// loaded again if a restarted worker lost it.
import { el } from "./dom.js";
import { colourBar, formatNumber } from "../draw/canvas.js";
import { methodMeaning } from "./colourwords.js";
import { EMBEDDED_MODELS, embeddedSource, loadModel } from "../sources.js";
import { scoreTile } from "./scoretile.js";

const DEFAULT_METHOD = "grad-cam";

/** Runs and draws the two maps (a view's run(ctx), with the catalogue). */
export async function runModels({ call, panel, params, setParams, show, source }, catalogue) {
  const entry = EMBEDDED_MODELS.find((m) => m.id === source?.id);
  const otherId = params.other ?? entry?.twin ?? EMBEDDED_MODELS.find((m) => m.id !== source?.id)?.id;
  const method = params.method ?? DEFAULT_METHOD;
  const form = controls({ method, otherId, catalogue, setParams });
  const heading = el("h2", {}, "Two models, one image, one method");
  // The form stays on screen if what it asks for is refused, to pick again.
  show(heading, form);
  const other = embeddedSource(otherId);
  if (!other) throw new Error(`unknown model "${otherId}" to compare with; pick one of ${EMBEDDED_MODELS.map((m) => m.id).join(", ")}`);
  if (!catalogue.methods.some((m) => m.name === method)) throw new Error(`unknown method "${method}" to compare with; the methods are ${catalogue.methods.map((m) => m.name).join(", ")}`);

  const loaded = await call("secondModel");
  if (loaded?.id !== otherId) {
    const send = (type, args, transfer) => call(type, args, { transfer });
    await loadModel(send, other, undefined, "second").catch((err) => {
      throw new Error(`could not load ${other.name} to compare with: ${err.message}`);
    });
  }
  const look = { colormap: params.colormap, opacity: params.opacity };
  const { rows } = await call("scoreModels", { method, target: params.target, look });
  const title = catalogue.methods.find((m) => m.name === method).title;
  panel.replaceChildren(
    heading,
    el("p", { className: "hint" }, `${title} on each model, for ${params.target === undefined ? "each model's top class" : `class ${params.target}`}, with the deletion area (lower is better) and insertion area (higher is better) of its map. Two models that agree on the class can still look at different pixels. Point at a map for its value there; click it (or Enter) to enlarge it.`),
    form,
    el("div", { className: "score-pair", dataset: { testid: "compare-pair" } }, rows.map((r) => scoreTile(r, { title: r.model, extra: [verdict(r)], testid: "compare-model" }))),
    colourBar(params.colormap, 0, "max", methodMeaning(method, rows[0].kind)),
  );
}

/** The model's top class and, if the map is of another class, which. */
function verdict(r) {
  const top = `top class ${r.top.label} (${formatNumber(100 * r.top.prob)}%)`;
  const map = r.class === r.top.class ? "" : `; map of class ${r.class} (${r.label})`;
  return el("p", { className: "hint", dataset: { testid: "compare-top", class: String(r.top.class) } }, `${top}${map}`);
}

/** Method and other model, and the way back to every method. */
function controls({ method, otherId, catalogue, setParams }) {
  const methods = el("select", { name: "method", dataset: { testid: "compare-method" } }, catalogue.methods.map((m) => new Option(m.title, m.name)));
  methods.value = method;
  const others = el("select", { name: "other", dataset: { testid: "compare-other" } }, EMBEDDED_MODELS.map((m) => new Option(m.name, m.id)));
  others.value = otherId;
  methods.addEventListener("change", () => setParams({ method: methods.value === DEFAULT_METHOD ? undefined : methods.value }));
  others.addEventListener("change", () => setParams({ other: others.value }));
  const back = el("button", { type: "button", dataset: { testid: "compare-methods" }, on: { click: () => setParams({ mode: undefined, method: undefined, other: undefined }) } }, "Every method instead");
  return el("form", { className: "options", dataset: { testid: "compare-models-form" }, on: { submit: (e) => e.preventDefault() } }, [
    el("label", {}, ["Method ", methods]),
    el("label", {}, ["beside ", others]),
    back,
  ]);
}
