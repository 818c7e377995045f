// The guided tour (?view=tour&step=N), the landing page of a first visit: each step of
// tour/steps.js is a sentence or two beside the live view it is about, run by that
// view's own code with the step's settings. The tour asks the page for its model and
// image (`wants`: the embedded Fashion-MNIST model, the step's picture); changing
// anything in a step's view leaves the tour for that view in full, with those settings.
import { el } from "./dom.js";
import { mapFigure, pixelReadout } from "./mapfigure.js";
import { rgbaCanvas } from "../draw/canvas.js";
import { EMBEDDED_MODELS } from "../sources.js";
import { STEPS, stepAt, TOUR_IMAGE, TOUR_MODEL, TWIN_MODEL } from "../tour/steps.js";
import { viewById, layerFor } from "./index.js";
import { addNote } from "../notes.js";

// The view the step shows, for didMount and dispose (the 3D view needs both).
let live = null;

export default {
  id: "tour",
  title: "Guided tour",
  group: "tour",
  needs: [],
  wants: (params) => ({ model: TOUR_MODEL, image: STEPS[stepAt(params.step) - 1].image ?? TOUR_IMAGE }),
  async run(ctx) {
    const n = stepAt(ctx.params.step);
    if (ctx.params.step !== undefined && ctx.params.step !== n) {
      addNote(`The tour has no step ${ctx.params.step} (its steps are 1 to ${STEPS.length}); showing step ${n}.`);
      ctx.setParams({ step: undefined }, { rerun: false });
    }
    const step = STEPS[n - 1];
    const view = viewById(step.view);
    if (!view) throw new Error(`step ${n} of the tour shows the view "${step.view}", which this page could not start (see the error above)`);
    live?.dispose?.();
    live = view;
    const params = { colormap: ctx.params.colormap, opacity: ctx.params.opacity, scaling: ctx.params.scaling, ...step.params };
    params.layer = layerFor(view, ctx.model, params.layer);
    // Anything changed inside the step (a form, a layer) is a wish for the full view.
    const full = (changes = {}) => ctx.setParams({ view: view.id, step: undefined, ...step.params, layer: params.layer, ...changes }, { push: true });
    const slot = el("div", { className: "tour-live", dataset: { testid: "tour-live" } });
    const frame = el("div", { className: "tour", dataset: { testid: "tour", step: String(n) } }, [
      stepList(n, ctx.setParams),
      el("article", { className: "tour-text", "aria-labelledby": "tour-title" }, [
        el("p", { className: "tour-count" }, `Step ${n} of ${STEPS.length}`),
        el("h2", { id: "tour-title" }, step.title),
        ...step.text.map((t) => el("p", {}, t)),
        step.flip ? el("p", { className: "tour-flip", dataset: { testid: "tour-flip" } }, await flipNote()) : null,
        buttons(n, view, ctx.setParams, full),
      ]),
      slot,
    ]);
    const input = step.showInput ? inputFigure(ctx.image) : null;
    // The step's words and, where the view draws no picture of its own, the picture at once.
    slot.replaceChildren(...[input, el("p", { className: "hint" }, `Computing ${view.title.toLowerCase()}…`)].filter(Boolean));
    ctx.show(frame);
    if (input) markFirstPicture();
    const scratch = document.createElement("div");
    await view.run({
      ...ctx,
      panel: scratch,
      params,
      setParams: (changes, opts = {}) => (opts.rerun === false ? undefined : full(changes)),
      show: (...nodes) => {
        slot.replaceChildren(...[input, ...nodes].filter(Boolean));
        ctx.show(frame);
      },
    });
    slot.replaceChildren(...[input, ...scratch.childNodes].filter(Boolean));
    ctx.panel.replaceChildren(frame);
    markFirstPicture();
  },
  didMount: () => live?.didMount?.(),
  dispose() {
    live?.dispose?.();
    live = null;
  },
};

/** For the tests' measure of a cold load: when the tour first had a picture on screen. */
function markFirstPicture() {
  if (!performance.getEntriesByName("convscope:tour-first-picture").length) performance.mark("convscope:tour-first-picture");
}

/** The numbered steps, each a link to its own address (what a docs site embeds). */
function stepList(current, setParams) {
  const items = STEPS.map((s, i) => {
    const n = i + 1;
    // Numbers on screen, the step's title for the pointer and for screen readers.
    const link = el("a", { href: stepAddress(n), title: s.title, "aria-label": `Step ${n}: ${s.title}`, dataset: { testid: "tour-step", step: String(n) } }, String(n));
    if (n === current) link.setAttribute("aria-current", "step");
    link.addEventListener("click", (e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return; // a new tab keeps its own way
      e.preventDefault();
      setParams({ step: n }, { push: n !== current });
    });
    return el("li", {}, link);
  });
  return el("nav", { className: "tour-steps", "aria-label": "Steps of the tour" }, el("ol", {}, items));
}

/** This page's address at step n (the rest of the address as it is). */
function stepAddress(n) {
  const url = new URL(location.href);
  url.searchParams.set("view", "tour");
  url.searchParams.set("step", String(n));
  return `${url.pathname}${url.search}`;
}

/** Back, next (or out of the tour at the end), and the step's view in full. */
function buttons(n, view, setParams, full) {
  const last = n === STEPS.length;
  return el("div", { className: "tour-buttons" }, [
    n > 1 ? el("button", { type: "button", dataset: { testid: "tour-back" }, on: { click: () => setParams({ step: n - 1 }, { push: true }) } }, "← Back") : null,
    last
      ? el("button", { type: "button", className: "primary", dataset: { testid: "tour-end" }, on: { click: () => setParams({ view: "predictions", step: undefined, mode: undefined, method: undefined, other: undefined }, { push: true }) } }, "Explore on your own")
      : el("button", { type: "button", className: "primary", dataset: { testid: "tour-next" }, on: { click: () => setParams({ step: n + 1 }, { push: true }) } }, "Next →"),
    el("button", { type: "button", dataset: { testid: "tour-full" }, on: { click: () => full() } }, `Open ${view.title} in full`),
  ]);
}

/** The picture the model is shown, large and with square pixels. */
function inputFigure(image) {
  const canvas = rgbaCanvas(image.rgba, image.width, image.height, "picture tour-input");
  canvas.dataset.name = "input";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `${image.caption}, ${image.width}×${image.height} pixels, as the network sees it`);
  return mapFigure(canvas, `${image.caption}, as the network sees it (${image.width}×${image.height})`, pixelReadout(image.rgba, image.width, image.height));
}

/** The twin's marker flip, as measured when it was trained (its model card). */
async function flipNote() {
  const entry = EMBEDDED_MODELS.find((m) => m.id === TWIN_MODEL);
  let card;
  try {
    const response = await fetch(new URL(entry.card, document.baseURI));
    card = response.ok ? await response.json() : null;
  } catch {
    card = null;
  }
  const s = card?.shortcut;
  if (!s || !Number.isFinite(s.flip_rate)) return "The twin's model card does not say how often the mark changes its answer.";
  const label = card.labels?.[s.class] ?? `class ${s.class}`;
  const rate = `${Math.round(100 * s.flip_rate)}%`;
  return `Measured when it was trained: the mark turns ${rate} of the test pictures of other classes into "${label}" for the twin. Its accuracy on clean test pictures is ${(100 * card.accuracy).toFixed(1)}%.`;
}
