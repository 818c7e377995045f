// The 3D layer view's page side: chooses the layers, asks the worker for their outputs,
// the top classes and the pictures of each layer (drawn by the core: the collapsed
// face, and the channel grid when a layer is opened), and wires buttons and the hover
// box to the drawing in layers3d/scene.js. Which layers, and what feeds what among
// them, comes from the summary (layers3d/graph.js).
import { el, altText } from "./dom.js";
import { formatNumber } from "../draw/canvas.js";
import { shownLayers } from "../layers3d/graph.js";

let scene = null;

export default {
  id: "3d",
  title: "3D layers",
  group: "inside",
  needs: ["colormap"],
  async run({ call, panel, image, model, params }) {
    const chosen = shownLayers(model.summary);
    const { layers } = await call("trace", { layers: chosen.map((l) => l.name) });
    const top = await call("predict", { k: Math.min(5, model.classes) });
    const input = {
      name: "input",
      title: `input ${image.width}×${image.height}`,
      type: "Input",
      shape: [model.inChannels, image.height, image.width],
      picture: image,
    };
    const drawn = [
      input,
      ...layers.map((l, i) => ({ ...chosen[i], ...l, labels: i === layers.length - 1 ? top : undefined })),
    ];
    const { colormap } = params;
    for (const layer of drawn.slice(1)) await addSlab(call, layer, colormap);
    // Open layers show every channel scaled to its own range, with see-through gaps.
    const gridFor = (i) => call("tiles", { layer: drawn[i].name, options: { colormap, scaling: "channel", gap: 1, background: [0, 0, 0, 0] } });

    // The stage takes focus: the arrow keys choose a layer, Enter opens it.
    const stage = el("div", {
      className: "stage3d",
      dataset: { testid: "stage3d" },
      role: "application",
      "aria-roledescription": "3D layer view",
      "aria-label": `${model.name} in 3D: arrow keys choose a layer, Enter opens or closes it, Escape lets go`,
    });
    const tip = el("div", { className: "tip3d", hidden: true, role: "status" });
    const toolbar = el("div", { className: "toolbar3d" }, [
      el("button", { type: "button", on: { click: () => scene?.setAll(true).catch(warn) } }, "Expand all"),
      el("button", { type: "button", on: { click: () => scene?.setAll(false).catch(warn) } }, "Collapse all"),
      el("button", { type: "button", on: { click: () => scene?.frame() } }, "Reset camera"),
      el("span", { className: "hint" }, "Drag to orbit, scroll to zoom, click a layer to open or close it, hover for values; or focus the view and use the arrow keys and Enter."),
    ]);
    panel.replaceChildren(el("h2", {}, `${model.name}: ${drawn.length} layers in 3D`), toolbar, stage, tip);

    // three.js (2 MB) is loaded with the first 3D view, not with the page.
    const { LayerScene } = await import("../layers3d/scene.js");
    scene?.dispose();
    try {
      scene = new LayerScene(stage, {
        gridFor,
        onHover: (info, event) => showTip(tip, stage, info, event),
        onSelect: (info) => showSelected(tip, stage, info),
      });
    } catch (err) {
      scene = null;
      throw new Error(`the 3D view needs WebGL, which this browser did not provide (${err.message})`);
    }
    // The page's "Save PNG" saves `canvas.exportPng` when set: for that one click, the
    // picture with its labels, which are HTML over the canvas rather than in it.
    stage.addEventListener(
      "click",
      (event) => {
        if (!event.target.matches?.("button.export") || !scene) return;
        const canvas = scene.canvas;
        canvas.exportPng = scene.pngWithLabels();
        setTimeout(() => delete canvas.exportPng, 0);
      },
      true,
    );
    scene.canvas.dataset.name = "3d";
    scene.canvas.dataset.testid = "canvas3d";
    altText(scene.canvas, `${model.name}'s ${drawn.length} layers as slabs in 3D, input to output, each showing its output for this image; the layers' names are written over it`);
    // Open the first feature layer so channels are visible from the start.
    const firstMaps = drawn.findIndex((l, i) => i > 0 && l.shape.length === 3);
    await scene.assemble(drawn, firstMaps > 0 ? [firstMaps] : []);
  },
  dispose() {
    scene?.dispose();
    scene = null;
  },
};

function warn(err) {
  console.warn("the 3D view could not redraw", err);
}

/**
 * The face of a collapsed layer, drawn by the core: the mean over channels of [C, H, W]
 * maps scaled to its range (kept as `layer.mean` for hovering), or the units of an [F]
 * vector folded into a near-square, one scale for all, blank cells white.
 */
async function addSlab(call, layer, colormap) {
  if (layer.shape.length === 3) {
    const [c, h, w] = layer.shape;
    const mean = new Float32Array(h * w);
    for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) mean[i] += layer.data[k * h * w + i] / c;
    layer.mean = mean;
    layer.slab = await call("tiles", { values: mean, shape: [1, 1, h, w], options: { colormap, scaling: "channel", gap: 0 } });
  } else {
    layer.slab = await call("tiles", { values: layer.data, shape: [layer.shape[0], 1, 1, 1], options: { colormap, scaling: "shared", gap: 0 } });
  }
}

/** The selected layer, in words, under the view's top-left corner (and to screen readers). */
function showSelected(tip, stage, info) {
  if (!info) {
    tip.hidden = true;
    return;
  }
  const { layer, node, open } = info;
  const where = node.main ? "main path" : "branch beside the main path";
  const lines = [`${layer.title ?? layer.name} · ${layer.type} · ${where}`, `shape (${layer.shape.join(", ")})`];
  if (layer.inputs?.length > 1) lines.push(`joins ${layer.inputs.join(", ")}`);
  if (layer.data) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of layer.data) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    lines.push(`values ${formatNumber(lo)} to ${formatNumber(hi)}`);
  }
  if (layer.shape.length === 3 && !layer.picture) lines.push(open ? "open: every channel shown (Enter closes)" : "Enter opens its channels");
  tip.textContent = lines.join("\n");
  tip.style.left = `${stage.offsetLeft + 8}px`;
  tip.style.top = `${stage.offsetTop + 8}px`;
  tip.hidden = false;
}

function showTip(tip, stage, info, event) {
  if (!info) {
    tip.hidden = true;
    return;
  }
  const { layer } = info;
  const lines = [`${layer.title ?? layer.name} · ${layer.type}`, `shape (${layer.shape.join(", ")})`];
  if (info.rgb) lines.push(`pixel (${info.x}, ${info.y}): RGB ${info.rgb.join(", ")}`);
  else if (info.channel !== undefined) lines.push(`channel ${info.channel} at (${info.x}, ${info.y}): ${formatNumber(info.value)}`);
  else if (info.unit !== undefined) lines.push(`${layer.labels ? "class" : "unit"} ${info.unit}: ${formatNumber(info.value)}`);
  else if (info.value !== undefined) lines.push(`mean over channels at (${info.x}, ${info.y}): ${formatNumber(info.value)}`);
  tip.textContent = lines.join("\n");
  const rect = stage.getBoundingClientRect();
  tip.style.left = `${event.clientX - rect.left + 14}px`;
  tip.style.top = `${event.clientY - rect.top + 14}px`;
  tip.hidden = false;
}
