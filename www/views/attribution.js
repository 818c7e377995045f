// The attribution views ("why this class?"): one view per method of the core
// (methods::select), all drawn the same way: the method's display map (H*W in [0, 1])
// over the picture the model sees, in the page's colormap and opacity, with a colour
// bar. Occlusion adds the tutorial's two views: the heatmap of the class probability
// with each window covered, and the mask of the windows it falls below 0.85 without.
// The worker sends the pictures with the numbers (draw/pictures.js: the core draws
// them), and the overlay's "Save PNG" writes the core's picture that `convscope explain
// --png` writes for the same map, colormap and opacity.
import { el, figure } from "./dom.js";
import { colourBar, rgbaCanvas, formatNumber } from "../draw/canvas.js";
import { LAYER_KINDS } from "./layerkinds.js";

// Options forms: the fields of methods::select::Options each method takes; blank = the
// core's default (shown as the placeholder).
const FIELDS = {
  smoothgrad: [
    { key: "samples", label: "Samples", min: 1, max: 1000, step: 1, placeholder: "25" },
    { key: "noise", label: "Noise (share of the range)", min: 0, step: "any", placeholder: "0.15" },
    { key: "seed", label: "Seed", min: 0, step: 1, placeholder: "0" },
  ],
  "integrated-gradients": [{ key: "steps", label: "Steps", min: 1, max: 1000, step: 1, placeholder: "16" }],
  occlusion: [
    { key: "window", label: "Window (px)", min: 1, step: 1, placeholder: "size / 16, at least 4" },
    { key: "stride", label: "Stride (px)", min: 1, step: 1, placeholder: "the window" },
  ],
};

const INPUT_MAP = "|attribution|, channel max, clipped at the 99th percentile";

function attributionView({ id, title, cam = false, input = true, about }) {
  return {
    id,
    title,
    group: "attribution",
    needs: cam ? ["target", "layer", "colormap", "opacity"] : ["target", "colormap", "opacity"],
    request: id,
    ...(cam ? LAYER_KINDS.cam : {}),
    async run({ call, panel, params, model, setParams }) {
      const options = { ...(params.attribution?.[id] ?? {}) };
      if (cam) options.layer = params.layer;
      const form = FIELDS[id] ? optionsForm(id, FIELDS[id], params, setParams) : null;
      const r = await call(id, { target: params.target, options, look: look(params) });
      const heat = rgbaCanvas(r.pictures.overlay, r.width, r.height, "picture overlay");
      heat.exportPng = r.pictures.png;
      heat.dataset.name = `${id}-${r.class}`;
      heat.dataset.testid = "attribution-overlay";
      const plain = rgbaCanvas(r.pictures.map, r.width, r.height);
      plain.dataset.name = `${id}-${r.class}-map`;
      // Only methods with options have a form (replaceChildren would print a null).
      const children = [
        el("h2", {}, `${title}: ${what(r, model, params)}${r.layer ? ` at ${r.layer}` : ""}`),
        el("p", { className: "hint" }, about),
        form,
        el("div", { className: "side-by-side" }, [
          figure(heat, `over the input (opacity ${params.opacity})`),
          figure(plain, `the map alone (${r.rawShape.join("×")} raw values${r.layer ? `, upsampled to ${r.width}×${r.height}` : ""})`),
        ]),
        colourBar(params.colormap, 0, input ? "99th percentile" : "max"),
        el("p", { className: "hint", dataset: { testid: "attribution-range" } }, rawRange(r.raw)),
      ];
      panel.replaceChildren(...children.filter(Boolean));
    },
  };
}

/** How the worker draws the pictures: the page's colormap and opacity. */
function look(params) {
  return { colormap: params.colormap, opacity: params.opacity };
}

/** "class 9 (label), the top class" */
function what(r, model, params) {
  const named = r.label && r.label !== `class ${r.class}`;
  return `class ${r.class}${named ? ` (${r.label})` : ""}${params.target === undefined ? ", the top class of this image" : ""}`;
}

function rawRange(raw) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of raw) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return `Raw values from ${formatNumber(lo)} to ${formatNumber(hi)}.`;
}

const occlusion = {
  id: "occlusion",
  title: "Occlusion",
  group: "attribution",
  needs: ["target", "colormap", "opacity"],
  request: "occlusion",
  async run({ call, panel, params, model, setParams }) {
    const options = { ...(params.attribution?.occlusion ?? {}) };
    const form = optionsForm("occlusion", FIELDS.occlusion, params, setParams);
    const r = await call("occlusion", { target: params.target, options, look: look(params) });

    const drops = rgbaCanvas(r.pictures.overlay, r.width, r.height, "picture overlay");
    drops.exportPng = r.pictures.png;
    drops.dataset.name = `occlusion-${r.class}-drops`;
    drops.dataset.testid = "attribution-overlay";
    const probs = rgbaCanvas(r.pictures.probs, r.cols, r.rows, "picture grid");
    probs.style.imageRendering = "pixelated";
    probs.dataset.name = `occlusion-${r.class}-probs`;
    probs.dataset.testid = "occlusion-probs";
    const masked = rgbaCanvas(r.pictures.mask, r.width, r.height);
    masked.exportPng = r.pictures.maskPng;
    masked.dataset.name = `occlusion-${r.class}-mask`;
    masked.dataset.testid = "occlusion-mask";
    const kept = r.mask.reduce((n, v) => n + (v >= 0.5 ? 1 : 0), 0);
    panel.replaceChildren(
      el("h2", {}, `Occlusion: ${what(r, model, params)}`),
      el("p", { className: "hint" }, `A ${r.window}×${r.window} grey window (the dataset's mean colour) slid with stride ${r.stride}: ${r.rows}×${r.cols} covered copies. Unoccluded probability ${formatNumber(r.baseProb)}.`),
      form,
      el("div", { className: "side-by-side" }, [
        figure(drops, "drop of the class logit, over the input"),
        figure(probs, "class probability with each window covered, as a share of the unoccluded one"),
        figure(masked, `the windows whose covering leaves less than ${formatNumber(r.threshold)} of it (${Math.round((100 * kept) / r.mask.length)}% of the pixels)`),
      ]),
      colourBar(params.colormap, 0, 1),
    );
  },
};

/** The method's options as a form: Run applies them (and reruns), Defaults clears them. */
function optionsForm(id, fields, params, setParams) {
  const current = params.attribution?.[id] ?? {};
  const form = el("form", { className: "options", dataset: { testid: `${id}-form` } }, [
    ...fields.map((f) =>
      el("label", {}, [
        `${f.label} `,
        el("input", { type: "number", name: f.key, min: f.min, max: f.max ?? "", step: f.step, placeholder: f.placeholder, value: current[f.key] ?? "", dataset: { testid: `${id}-${f.key}` } }),
      ]),
    ),
    el("button", { type: "submit", dataset: { testid: `${id}-run` } }, "Run"),
    el("button", { type: "button", on: { click: () => setParams({ attribution: { ...params.attribution, [id]: undefined } }) } }, "Defaults"),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const next = {};
    for (const f of fields) {
      const v = form.elements[f.key].value;
      if (v !== "") next[f.key] = Number(v);
    }
    setParams({ attribution: { ...params.attribution, [id]: next } });
  });
  return form;
}

const GRADIENT = "The gradient of the class logit with respect to each input pixel";
export const ATTRIBUTION_VIEWS = [
  attributionView({ id: "saliency", title: "Saliency", about: `${GRADIENT} (Simonyan et al. 2014), shown as ${INPUT_MAP}.` }),
  attributionView({ id: "guided-backprop", title: "Guided backprop", about: `${GRADIENT}, with only positive gradients passed back through each ReLU (Springenberg et al. 2015), shown as ${INPUT_MAP}.` }),
  attributionView({ id: "smoothgrad", title: "SmoothGrad", about: `The mean gradient over noisy copies of the image (Smilkov et al. 2017), shown as ${INPUT_MAP}.` }),
  attributionView({ id: "integrated-gradients", title: "Integrated Gradients", about: `Gradients along the straight path from a black (zero) baseline, times the input (Sundararajan et al. 2017; captum's trapezoid rule), shown as ${INPUT_MAP}.` }),
  attributionView({ id: "grad-cam", title: "Grad-CAM", cam: true, input: false, about: "The layer's maps weighted by their mean gradient, ReLU'd (Selvaraju et al. 2017), upsampled and min-max normalised as pytorch-grad-cam does." }),
  attributionView({ id: "grad-cam++", title: "Grad-CAM++", cam: true, input: false, about: "The layer's maps weighted by positive gradients with higher-order weights (Chattopadhay et al. 2018), upsampled and normalised." }),
  attributionView({ id: "score-cam", title: "Score-CAM", cam: true, input: false, about: "Each map, upsampled and used as a mask on the image, weighted by the class score it gives (Wang et al. 2020): gradient-free." }),
  attributionView({ id: "guided-grad-cam", title: "Guided Grad-CAM", cam: true, about: `Guided backprop times the upsampled Grad-CAM (Selvaraju et al. 2017), shown as ${INPUT_MAP}.` }),
  occlusion,
];
