// The attribution views ("why this class?"): one view per method of the core's method
// catalogue (methods::catalogue, answered by the worker at start), each with a form of
// the method's options made from it. Every map is drawn the same way: the method's
// display map (H*W in [0, 1]) over the picture the model sees, in the page's colormap
// and opacity, with a colour bar. Occlusion's answer adds the tutorial's two views: the
// heatmap of the class probability with each window covered, and the mask of the windows
// it falls below the mask threshold without. The worker sends the pictures with the
// numbers (draw/pictures.js: the core draws them), and the overlay's "Save PNG" writes
// the core's picture that `convscope explain --png` writes for the same map, colormap
// and opacity.
import { el, altText } from "./dom.js";
import { colourBar, rgbaCanvas, formatNumber } from "../draw/canvas.js";
import { LAYER_KINDS } from "./layerkinds.js";
import { mapFigure, mapReadout, displayScale } from "./mapfigure.js";
import { uniformGrid } from "../draw/readout.js";
import { methodMeaning, occlusionMeaning } from "./colourwords.js";

// How each kind of answer (Model.attribute's `kind`) is shown.
const SHOWN_AS = {
  input: "Shown as |attribution|, channel max, clipped at the 99th percentile.",
  layer: "Upsampled to the input and min-max normalised, as pytorch-grad-cam does.",
};

/** One view per method of `catalogue`, in its order. */
export function attributionViews(catalogue) {
  return catalogue.methods.map((method) => attributionView(method));
}

function attributionView(method) {
  const id = method.name;
  return {
    id,
    title: method.title,
    group: "attribution",
    needs: method.layer ? ["target", "layer", "colormap", "opacity"] : ["target", "colormap", "opacity"],
    request: id,
    ...(method.layer ? LAYER_KINDS.cam : {}),
    async run({ call, panel, params, model, setParams, show }) {
      const options = { ...(params.attribution?.[id] ?? {}) };
      if (method.layer) options.layer = params.layer;
      // Only methods with options have a form (replaceChildren would print a null).
      const form = method.options.length ? optionsForm(method, model, params, setParams) : null;
      let r;
      try {
        r = await call(id, { target: params.target, options, look: look(params) });
      } catch (err) {
        // The form stays, to correct what the core refused.
        show(...[el("h2", {}, method.title), el("p", { className: "hint" }, method.about), form].filter(Boolean));
        throw err;
      }
      const children = r.kind === "occlusion" ? occlusionFigures(r, method, params, model, options) : mapFigures(r, method, params, model);
      children.splice(2, 0, form);
      panel.replaceChildren(...children.filter(Boolean));
    },
  };
}

/** How the worker draws the pictures: the page's colormap and opacity. */
function look(params) {
  return { colormap: params.colormap, opacity: params.opacity };
}

/** Heading, description, the map over the input and alone, colour bar, raw range. */
function mapFigures(r, method, params, model) {
  const id = method.name;
  const heat = rgbaCanvas(r.pictures.overlay, r.width, r.height, "picture overlay");
  heat.exportPng = r.pictures.png;
  heat.dataset.name = `${id}-${r.class}`;
  heat.dataset.testid = "attribution-overlay";
  const plain = rgbaCanvas(r.pictures.map, r.width, r.height);
  plain.dataset.name = `${id}-${r.class}-map`;
  const subject = `${method.title} map of ${what(r, model, params)}${r.layer ? ` at ${r.layer}` : ""}`;
  altText(heat, `${subject}, in colormap ${params.colormap} over the input picture (opacity ${params.opacity})`);
  altText(plain, `${subject} alone, in colormap ${params.colormap}: ${r.rawShape.join("×")} raw values`);
  // The display map's value under the pointer, on both pictures.
  const scale = displayScale(r.kind);
  return [
    el("h2", {}, `${method.title}: ${what(r, model, params)}${r.layer ? ` at ${r.layer}` : ""}`),
    el("p", { className: "hint" }, `${method.about} ${SHOWN_AS[r.kind] ?? ""}`),
    el("div", { className: "side-by-side" }, [
      mapFigure(heat, `over the input (opacity ${params.opacity})`, mapReadout(r.display, r.width, r.height, scale)),
      mapFigure(plain, `the map alone (${r.rawShape.join("×")} raw values${r.layer ? `, upsampled to ${r.width}×${r.height}` : ""})`, mapReadout(r.display, r.width, r.height, scale)),
    ]),
    colourBar(params.colormap, 0, r.kind === "input" ? "99th percentile" : "max", methodMeaning(method.name, r.kind)),
    el("p", { className: "hint", dataset: { testid: "attribution-range" } }, rawRange(r.raw)),
  ];
}

/** The drops over the input, the occluded probabilities and the mask. */
function occlusionFigures(r, method, params, model, { fill, score = "logit" }) {
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
  const subject = what(r, model, params);
  altText(drops, `Occlusion: the drop of the score of ${subject} when each window is covered, in colormap ${params.colormap} over the input picture`);
  altText(probs, `Occlusion: ${r.rows}×${r.cols} grid of the probability of ${subject} with each window covered, as a share of the unoccluded one, in colormap ${params.colormap}`);
  altText(masked, `Occlusion: the input picture with only the windows whose covering leaves less than ${formatNumber(r.threshold)} of the probability (${Math.round((100 * kept) / r.mask.length)}% of the pixels)`);
  return [
    el("h2", {}, `${method.title}: ${what(r, model, params)}`),
    el("p", { className: "hint" }, `${method.about} ${covered(r, fill)} slid with stride ${r.stride}: ${r.rows}×${r.cols} covered copies. Unoccluded probability ${formatNumber(r.baseProb)}.`),
    el("div", { className: "side-by-side" }, [
      mapFigure(drops, "drop of the class score, over the input", dropReadout(r, score)),
      mapFigure(probs, "class probability with each window covered, as a share of the unoccluded one", windowReadout(r, score)),
      mapFigure(masked, `the windows whose covering leaves less than ${formatNumber(r.threshold)} of it (${Math.round((100 * kept) / r.mask.length)}% of the pixels)`, maskReadout(r)),
    ]),
    colourBar(params.colormap, 0, 1, occlusionMeaning(score)),
  ];
}

/**
 * Occlusion's drop under a pixel: the mean drop of the windows covering it (as the
 * core spreads them over the pixels, captum's way), in the score's unit, and where
 * that stands on the picture's scale (the display value).
 */
function dropReadout(r, score) {
  const unit = score === "prob" ? "probability" : "logit";
  const spec = mapReadout(r.display, r.width, r.height);
  spec.describe = (x, y) => {
    let sum = 0;
    let n = 0;
    for (let row = 0; row < r.rows; row++) {
      const top = row * r.stride;
      if (y < top || y >= top + r.window) continue;
      for (let col = 0; col < r.cols; col++) {
        const left = col * r.stride;
        if (x >= left && x < left + r.window) {
          sum += r.grid[row * r.cols + col];
          n++;
        }
      }
    }
    if (!n) return { text: `x ${x}, y ${y}: no window covers this pixel`, value: 0 };
    const drop = sum / n;
    const shown = r.display[y * r.width + x];
    return { text: `x ${x}, y ${y}: drop ${formatNumber(drop)} (${unit}) when covered, mean of ${n} window${n > 1 ? "s" : ""}; ${formatNumber(shown)} of the largest`, value: drop };
  };
  return spec;
}

/** One window of the probability grid: where it is, the share left, the drop. */
function windowReadout(r, score) {
  const unit = score === "prob" ? "probability" : "logit";
  return {
    grid: uniformGrid(r.cols, r.rows),
    values: r.probs,
    describe: (col, row) => {
      const value = r.probs[row * r.cols + col];
      const at = `window x ${col * r.stride}-${col * r.stride + r.window - 1}, y ${row * r.stride}-${row * r.stride + r.window - 1}`;
      return { text: `${at}: ${formatNumber(value)} of the probability left when covered (drop ${formatNumber(r.grid[row * r.cols + col])} ${unit})`, value };
    },
  };
}

/** The mask: whether a pixel is kept (in a window the class depends on) or dimmed. */
function maskReadout(r) {
  return {
    grid: uniformGrid(r.width, r.height),
    values: r.mask,
    describe: (x, y) => {
      const value = r.mask[y * r.width + x];
      return { text: `x ${x}, y ${y}: ${value >= 0.5 ? "kept: covering a window over it leaves" : "dimmed: covering any window over it leaves"} ${value >= 0.5 ? "less than" : "at least"} ${formatNumber(r.threshold)} of the probability`, value };
    },
  };
}

/** "A 4×4 grey window (the dataset's mean colour)", or the fill asked for. */
function covered(r, fill) {
  const size = `${r.window}×${r.window}`;
  return fill ? `A ${size} window filled with ${fill} (after normalisation)` : `A ${size} grey window (the dataset's mean colour)`;
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

/** The method's options as a form: Run applies them (and reruns), Defaults clears them. */
function optionsForm(method, model, params, setParams) {
  const id = method.name;
  const current = params.attribution?.[id] ?? {};
  const form = el("form", { className: "options", noValidate: true, dataset: { testid: `${id}-form` } }, [
    ...method.options.map((o) => optionField(id, o, current[o.name], model)),
    el("button", { type: "submit", dataset: { testid: `${id}-run` } }, "Run"),
    el("button", { type: "button", on: { click: () => setParams({ attribution: { ...params.attribution, [id]: undefined } }) } }, "Defaults"),
    optionsHelp(id, method.options),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setParams({ attribution: { ...params.attribution, [id]: formValues(form, method.options) } });
  });
  return form;
}

/**
 * One option of the catalogue as a labelled input (a select for a choice): range, step
 * and default (the placeholder) from the catalogue, its help as the tooltip. The form
 * does not check the range itself (noValidate): the core refuses a value with the
 * message the CLI gives.
 */
export function optionField(owner, option, value, model) {
  const testid = `${owner}-${option.name}`;
  const title = `${option.help} [default: ${option.defaultText}]`;
  let input;
  if (option.type === "choice") {
    input = el("select", { name: option.name, title, dataset: { testid } }, [new Option(`${option.defaultText} (default)`, ""), ...option.choices.map((c) => new Option(c, c))]);
    input.value = value ?? "";
  } else {
    const max = option.max === "input" ? model.inputSize : option.max;
    // Wide enough for the default in words ("the window").
    const width = `${Math.min(32, Math.max(7, option.defaultText.length + 3))}ch`;
    input = el("input", {
      style: `width: ${width}`,
      type: "number",
      name: option.name,
      min: option.min ?? "",
      max: max ?? "",
      step: option.type === "integer" ? 1 : "any",
      placeholder: option.defaultText,
      title,
      value: value ?? "",
      dataset: { testid },
    });
  }
  const name = option.name.replaceAll("-", " ");
  return el("label", {}, [`${name[0].toUpperCase()}${name.slice(1)}${option.unit ? ` (${option.unit})` : ""} `, input]);
}

/** What each option does, its default and range, folded under the form. */
export function optionsHelp(owner, options) {
  const rows = options.map((o) => el("li", {}, [el("b", {}, o.name), `: ${o.help} (default ${o.defaultText}; ${o.rangeText}${o.unit ? `, ${o.unit}` : ""})`]));
  return el("details", { className: "hint options-help", dataset: { testid: `${owner}-help` } }, [el("summary", {}, "What the options do"), el("ul", {}, rows)]);
}

/** The filled fields of a form of `options`: numbers for numeric options, words for choices. */
export function formValues(form, options) {
  const values = {};
  for (const o of options) {
    const v = form.elements[o.name].value;
    if (v !== "") values[o.name] = o.type === "choice" ? v : Number(v);
  }
  return values;
}
