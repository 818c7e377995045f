// Activation maximization (Erhan et al. 2009; with Olah et al. 2017's jitter and
// penalties): the picture that most raises a class logit, or a channel's mean activation
// at any layer, found by gradient ascent in the worker (probes::maximize). The picture
// and the objective curve are drawn live from the worker's progress messages.
import { el, figure, altText } from "./dom.js";
import { readout, tileGrid } from "../draw/readout.js";
import { mapFigure, ENLARGE_HINT } from "./mapfigure.js";
import { drawRgba, drawCurve, filledCanvas, formatNumber } from "../draw/canvas.js";
import { LAYER_KINDS } from "./layerkinds.js";
import { CancelledError } from "../rpc.js";

// The core's options (MaximizeOptions, camelCase); blank fields take the model's
// defaults (model.maximizeDefaults), shown as placeholders.
export const FIELDS = [
  { key: "size", label: "Size (px)", min: 1, max: 512, step: 1 },
  { key: "steps", label: "Steps", min: 1, max: 10000, step: 1 },
  { key: "seed", label: "Seed", min: 0, step: 1 },
  { key: "lr", label: "Learning rate", min: 0, step: "any" },
  { key: "jitter", label: "Jitter (px)", min: 0, step: 1 },
  { key: "tv", label: "TV penalty", min: 0, step: "any" },
  { key: "l2", label: "L2 penalty", min: 0, step: "any" },
  { key: "blurEvery", label: "Blur every (steps)", min: 0, step: 1 },
  { key: "blurSigma", label: "Blur σ (px)", min: 0, step: "any" },
];

/** "0-3, 7" -> [0, 1, 2, 3, 7]; throws on anything else. */
export function parseUnits(text) {
  const units = [];
  for (const part of String(text).split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw new Error(`channels: "${part}" is not a number or a range like 0-7`);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a) throw new Error(`channels: the range ${part} runs backwards`);
    for (let k = a; k <= b && units.length <= 64; k++) units.push(k);
  }
  if (!units.length) throw new Error("channels: give at least one channel, e.g. 0 or 0-7");
  return units;
}

export default {
  id: "maximize",
  title: "Activation maximization",
  group: "inside",
  needs: ["target", "layer"],
  ...LAYER_KINDS.any,
  async run({ call, panel, model, params, setParams, show }) {
    const defaults = model.maximizeDefaults;
    const { channels: unitsText = "0", ...options } = params.maximize ?? {};
    const { layer } = params;
    const shape = model.summary.layers.find((l) => l.name === layer)?.output_shape ?? [];
    const isOutput = layer === model.layerNames.at(-1);

    const size = options.size ?? defaults.size;
    const form = optionsForm({ defaults, options, unitsText, isOutput, size, setParams });

    let objective;
    let what;
    if (isOutput) {
      const cls = params.target ?? (await call("predict", { k: 1 }))[0].class;
      objective = { kind: "class", classes: [cls] };
      const label = model.card.labels[cls];
      what = `class ${cls}${label === `class ${cls}` ? "" : ` (${label})`}${params.target === undefined ? ", the top class of this image" : ""}`;
    } else {
      let channels;
      try {
        channels = parseUnits(unitsText);
      } catch (err) {
        show(el("h2", {}, "Activation maximization"), form); // to correct the field
        throw err;
      }
      objective = { kind: "channel", layer, channels };
      const noun = shape.length === 1 ? "unit" : "channel";
      what = `${layer}, ${noun}${channels.length > 1 ? "s" : ""} ${channels.join(", ")} (mean activation)`;
    }
    const units = isOutput ? 1 : objective.channels.length;
    const keys = isOutput ? [] : objective.channels.map((k) => `${shape.length === 1 ? "unit" : "channel"} ${k}`);

    // Mid-grey until the first step's pictures come (drawn by the core in the worker).
    const picture = filledCanvas(size, size, "#808080");
    picture.className = "maximized";
    Object.assign(picture.dataset, { name: "pictures", testid: "maximize-picture", step: "0" });
    altText(picture, `${units > 1 ? `${units} pictures, side by side,` : "The picture"} made by gradient ascent to raise ${what}, ${size}×${size} pixels`);
    // At least 320 px, by whole pixels (a 32-px picture at 10x): crisp, and large enough to read.
    const fit = () => (picture.style.width = `${picture.width * Math.max(1, Math.ceil(320 / picture.width))}px`);
    const paint = (drawn) => fit(drawRgba(picture, drawn));
    fit();
    const chart = drawCurve(document.createElement("canvas"), [], units, options.steps ?? defaults.steps);
    chart.className = "curve";
    Object.assign(chart.dataset, { name: "objective", testid: "maximize-curve" });
    // The numbers in words are the state line under it (updated as the run goes).
    altText(chart, `Line chart of the ${isOutput ? "class logit" : "mean activation"} at each step of the ascent; its latest value is in the line below`);
    const state = el("p", { className: "hint", dataset: { testid: "maximize-state" } }, "Starting…");
    const last = model.layerNames.at(-1);
    const nodes = [
      el("h2", {}, `Activation maximization: ${what}`),
      el("p", { className: "hint" }, isOutput ? "Choose another layer to maximise its channels." : `The class applies to the output layer (${last}) only.`),
      form,
      el("div", { className: "side-by-side" }, [
        mapFigure(picture, `${units > 1 ? `${units} pictures` : "The picture"}, ${size}×${size} px`),
        figure(chart, isOutput ? "Class logit per step" : "Mean activation per step (one line per channel)"),
      ]),
      state,
    ];
    show(...nodes);

    // Progress can come faster than frames: keep the newest and draw it once per frame.
    let latest = null;
    let frame = 0;
    const started = performance.now();
    const drawLatest = () => {
      frame = 0;
      const partial = latest;
      paint(partial.picture);
      picture.dataset.step = String(partial.step);
      drawCurve(chart, partial.curve, units, partial.steps, { labels: keys });
      const left = (((performance.now() - started) / partial.step) * (partial.steps - partial.step)) / 1000;
      const eta = left < 2 ? "" : left < 90 ? ` (about ${Math.round(left)} s left)` : ` (about ${Math.round(left / 60)} min left)`;
      state.textContent = `Step ${partial.step} of ${partial.steps}: objective ${describe(partial.curve.subarray(-units))}${eta}`;
    };
    const onProgress = (_fraction, _detail, partial) => {
      if (!partial) return;
      latest = partial;
      frame ||= requestAnimationFrame(drawLatest);
    };
    let result;
    try {
      result = await call("maximize", { objective, options }, { onProgress });
    } catch (err) {
      if (frame) {
        cancelAnimationFrame(frame);
        drawLatest(); // the last step that came in
      }
      if (err instanceof CancelledError) state.textContent = `Cancelled at step ${latest?.step ?? 0}; the picture is that step's.`;
      throw err;
    }
    cancelAnimationFrame(frame);
    paint(result.picture);
    picture.dataset.step = String(result.steps);
    drawCurve(chart, result.curve, units, result.steps, { labels: keys });
    state.textContent = `Objective ${describe(result.objectiveStart)} at the start, ${describe(result.objectiveEnd)} after ${result.steps} steps${result.cancelled ? " (stopped early)" : ""}.`;
    // A ReLU that is off for every pixel passes no gradient, so nothing moves.
    const dead = result.units.filter((_, i) => result.objectiveStart[i] === 0 && result.objectiveEnd[i] === 0);
    if (dead.length) {
      const index = model.layerNames.indexOf(layer);
      const source = model.summary.layers.slice(0, index).reverse().find((l) => l.type === "Conv2d" || l.type === "Linear")?.name;
      state.textContent += ` Channel${dead.length > 1 ? "s" : ""} ${dead.join(", ")} stayed at 0: a ReLU that is off everywhere passes no gradient${source ? `; try the layer that feeds it (${source})` : ""}.`;
    }
    picture.closest("figure").append(readout(picture, pictureReadout(result, keys, model.inChannels)));
    state.dataset.start = String(result.objectiveStart[0]);
    state.dataset.end = String(result.objectiveEnd[0]);
    panel.replaceChildren(...nodes);
  },
};

/** The finished pictures' pixels in [0, 1] under the cursor (one tile per unit). */
function pictureReadout(result, keys, channels) {
  const { size, pictures } = result;
  const count = pictures.length / (channels * size * size);
  const cells = tileGrid(result.picture.layout, size, size, count);
  return {
    grid: cells,
    hint: ENLARGE_HINT,
    describe: (col, row) => {
      const at = cells.locate(col, row);
      if (!at) return null;
      const v = (c) => pictures[((at.tile * channels + c) * size + at.y) * size + at.x];
      const colour = channels === 3 ? `red ${formatNumber(v(0))}, green ${formatNumber(v(1))}, blue ${formatNumber(v(2))}` : Array.from({ length: channels }, (_, c) => formatNumber(v(c))).join(", ");
      return { text: `${keys[at.tile] ? `${keys[at.tile]}, ` : ""}x ${at.x}, y ${at.y}: ${colour} (0 = black, 1 = full)`, value: v(0) };
    },
  };
}

function describe(values) {
  return Array.from(values, formatNumber).join(", ");
}

/** The options as a form: Run applies them (and reruns), Defaults clears them. */
function optionsForm({ defaults, options, unitsText, isOutput, size, setParams }) {
  const inputs = FIELDS.map((f) => {
    const placeholder = f.key === "jitter" && options.size !== undefined ? `${Math.floor(size / 16)} (size / 16)` : formatNumber(defaults[f.key]);
    return el("label", {}, [
      `${f.label} `,
      el("input", { type: "number", name: f.key, min: f.min, max: f.max ?? "", step: f.step, placeholder, value: options[f.key] ?? "", dataset: { testid: `maximize-${f.key}` } }),
    ]);
  });
  const fourier = el("input", { type: "checkbox", name: "fourier", checked: options.fourier ?? defaults.fourier, dataset: { testid: "maximize-fourier" } });
  const channels = isOutput
    ? null
    : el("label", {}, ["Channels ", el("input", { type: "text", name: "channels", value: unitsText, placeholder: "0 or 0-7", size: 8, dataset: { testid: "maximize-channels" } })]);
  const form = el("form", { className: "options", dataset: { testid: "maximize-form" } }, [
    channels,
    ...inputs,
    el("label", {}, [fourier, " Fourier parameterisation (lucid)"]),
    el("button", { type: "submit", dataset: { testid: "maximize-run" } }, "Run"),
    el("button", { type: "button", on: { click: () => setParams({ maximize: undefined }) } }, "Defaults"),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const next = {};
    for (const f of FIELDS) {
      const v = form.elements[f.key].value;
      if (v !== "") next[f.key] = Number(v);
    }
    if (fourier.checked !== defaults.fourier) next.fourier = fourier.checked;
    if (channels) next.channels = form.elements.channels.value;
    setParams({ maximize: next });
  });
  return form;
}

