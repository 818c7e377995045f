// Pictures on canvases: RGBA buffers that the core's renderer made (wasm/render.rs, via
// the worker: maps, overlays, tile grids, colormap tables), colour bars of those tables,
// and the page's own charts (histograms, curves). No colour arithmetic here: every
// coloured pixel comes from the core. Pure drawing; no knowledge of the worker or of the
// page's controls.

// Each colormap's 256 entries as the core made them (256x1 RGBA strips, from the
// worker's `renderChoices` at start-up): what colour bars show.
const strips = new Map();

/** Keeps the core's colormap strips ({name: Uint8ClampedArray(1024)}) for colour bars. */
export function setColourStrips(byName) {
  for (const [name, strip] of Object.entries(byName)) strips.set(name, strip);
}

/**
 * The level (0-255) of colormap `name` nearest to the colour (r, g, b): a one-channel
 * picture the core drew in that colormap read back as its levels.
 */
export function levelOf(name, r, g, b) {
  const strip = strips.get(name);
  let best = 0;
  let bestDistance = Infinity;
  for (let k = 0; k < 256; k++) {
    const d = (strip[4 * k] - r) ** 2 + (strip[4 * k + 1] - g) ** 2 + (strip[4 * k + 2] - b) ** 2;
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** A canvas showing an RGBA buffer at its own size (scaled up by CSS, pixelated). */
export function rgbaCanvas(rgba, width, height, className = "picture") {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = className;
  canvas.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  return canvas;
}

/** A `width` x `height` canvas painted `fill` all over (a chart's ground, a placeholder). */
export function filledCanvas(width, height, fill) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = fill;
  ctx.fillRect(0, 0, width, height);
  return canvas;
}

/** Min and max of the finite values of `data[start..start+count]`. */
export function range(data, start = 0, count = data.length - start) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = start; i < start + count; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : { min: 0, max: 0 };
}

/**
 * A horizontal colour bar (the colormap's table, low at the left) with its end labels
 * (numbers or text) and, under them, `meaning`: what the colours stand for, in words.
 */
export function colourBar(colormap, low, high, meaning, height = 14) {
  const strip = strips.get(colormap);
  if (!strip) throw new Error(`unknown colormap ${colormap}; known: ${[...strips.keys()].join(", ")}`);
  const canvas = document.createElement("canvas");
  canvas.width = 256;
  canvas.height = height;
  canvas.className = "colour-bar";
  // Its text alternative (the page's pictures get theirs from views/dom.js's altText).
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `Colour scale ${colormap}, from ${describeEnd(low)} (left) to ${describeEnd(high)} (right)${meaning ? `: ${meaning}` : ""}`);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(rgbaCanvas(strip, 256, 1), 0, 0, 256, height);
  const figure = document.createElement("figure");
  figure.className = "colour-bar";
  const labels = document.createElement("div");
  labels.className = "colour-bar-labels";
  for (const v of [low, high]) {
    const span = document.createElement("span");
    span.textContent = describeEnd(v);
    labels.append(span);
  }
  figure.append(canvas, labels);
  if (meaning) {
    const caption = document.createElement("figcaption");
    caption.dataset.testid = "colour-meaning";
    caption.textContent = meaning;
    figure.append(caption);
  }
  return figure;
}

function describeEnd(v) {
  return typeof v === "number" ? formatNumber(v) : String(v);
}

export function formatNumber(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}

/** A histogram {min, max, counts} as bars on a canvas. */
export function histogram({ min, max, counts }, width = 320, height = 90, fill = "#3b6fd4") {
  const canvas = filledCanvas(width, height, "#fff");
  canvas.className = "histogram";
  const ctx = canvas.getContext("2d");
  const top = Math.max(1, ...counts);
  const bw = width / counts.length;
  ctx.fillStyle = fill;
  counts.forEach((n, i) => {
    const bh = n > 0 ? Math.max(1, (n / top) * (height - 2)) : 0;
    ctx.fillRect(i * bw, height - bh, Math.max(1, bw - 1), bh);
  });
  if (min < 0 && max > 0) {
    ctx.fillStyle = "#a40000";
    ctx.fillRect(((0 - min) / (max - min)) * width, 0, 1, height);
  }
  return canvas;
}

/** Puts a picture the core drew ({rgba, width, height}) onto `canvas`, resized to it. */
export function drawRgba(canvas, { rgba, width, height }) {
  resize(canvas, width, height);
  canvas.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  return canvas;
}

// Line colours of the units on a chart (Tableau 10).
const LINES = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/**
 * A line per unit over steps 1..steps: `values` is [step][unit] (as many steps as done
 * so far), drawn onto `canvas` with its value range and step axis labelled, and a key
 * of `labels` (one per unit) when there are several lines.
 */
export function drawCurve(canvas, values, units, steps, { width = 360, height = 200, labels = [] } = {}) {
  resize(canvas, width, height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  const box = { left: 52, right: width - 10, top: 10, bottom: height - 24 };
  ctx.strokeStyle = "#999";
  ctx.strokeRect(box.left, box.top, box.right - box.left, box.bottom - box.top);
  const done = Math.floor(values.length / Math.max(1, units));
  let { min, max } = range(values);
  if (min === max) [min, max] = [min - 1, max + 1];
  const x = (step) => box.left + ((box.right - box.left) * (step - 1)) / Math.max(1, steps - 1);
  const y = (v) => box.bottom - ((box.bottom - box.top) * (v - min)) / (max - min);
  ctx.lineWidth = 1.5;
  for (let u = 0; u < units; u++) {
    ctx.strokeStyle = LINES[u % LINES.length];
    ctx.beginPath();
    for (let s = 0; s < done; s++) {
      const v = values[s * units + u];
      if (s === 0) ctx.moveTo(x(s + 1), y(v));
      else ctx.lineTo(x(s + 1), y(v));
    }
    if (done === 1) ctx.arc(x(1), y(values[u]), 1.5, 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.fillStyle = "#333";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "top";
  ctx.fillText(formatNumber(max), box.left - 4, box.top);
  ctx.textBaseline = "bottom";
  ctx.fillText(formatNumber(min), box.left - 4, box.bottom);
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText("1", box.left, box.bottom + 4);
  ctx.textAlign = "center";
  ctx.fillText("step", (box.left + box.right) / 2, box.bottom + 4);
  ctx.textAlign = "right";
  ctx.fillText(String(steps), box.right, box.bottom + 4);
  if (units > 1) {
    ctx.textAlign = "left";
    labels.slice(0, 10).forEach((label, u) => {
      ctx.fillStyle = LINES[u % LINES.length];
      ctx.fillText(u === 9 && labels.length > 10 ? "…" : label, box.left + 6, box.top + 4 + 13 * u);
    });
  }
  return canvas;
}

/** Sets a canvas' size only when it changes (a new size reallocates it: slow to redo live). */
function resize(canvas, width, height) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
}
