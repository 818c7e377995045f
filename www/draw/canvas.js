// Pictures on canvases: RGBA buffers, tiles of feature maps, overlays and colour bars.
// Pure drawing; no knowledge of the worker or of the page's controls.
import { lut, colour } from "./colormap.js";

/** A canvas showing an RGBA buffer at its own size (scaled up by CSS, pixelated). */
export function rgbaCanvas(rgba, width, height, className = "picture") {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = className;
  canvas.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
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
 * Feature maps as a grid of tiles: `data` is [C, h, w] row-major. `scaling` "channel"
 * stretches each map to its own min..max; "shared" uses one range for all maps.
 * Answers {canvas, columns, tile: {w, h, gap}, range} (range of a shared scale).
 */
export function tiles(data, [channels, h, w], { colormap, scaling = "channel", gap = 1, background = 255 } = {}) {
  const table = lut(colormap);
  const columns = Math.max(1, Math.ceil(Math.sqrt((channels * h) / w)));
  const rows = Math.ceil(channels / columns);
  const width = columns * (w + gap) - gap;
  const height = rows * (h + gap) - gap;
  const image = new ImageData(width, height);
  // White gaps, or transparent ones with background null.
  if (background !== null) image.data.fill(background);
  const plane = h * w;
  const shared = scaling === "shared" ? range(data, 0, channels * plane) : null;
  for (let c = 0; c < channels; c++) {
    const { min, max } = shared ?? range(data, c * plane, plane);
    const span = max - min;
    const x0 = (c % columns) * (w + gap);
    const y0 = Math.floor(c / columns) * (h + gap);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = data[c * plane + y * w + x];
        const [r, g, b] = colour(table, span > 0 ? (v - min) / span : 0);
        const o = 4 * ((y0 + y) * width + x0 + x);
        image.data[o] = r;
        image.data[o + 1] = g;
        image.data[o + 2] = b;
        image.data[o + 3] = 255;
      }
    }
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = "tiles";
  canvas.getContext("2d").putImageData(image, 0, 0);
  return { canvas, columns, tile: { w, h, gap }, range: shared };
}

/**
 * The picture `rgba` (width x height) with a map of values in [0, 1] (mw x mh,
 * stretched bilinearly to the picture) drawn over it in `colormap` at `opacity`.
 */
export function overlay(rgba, width, height, map, mw, mh, { colormap, opacity }) {
  const canvas = rgbaCanvas(rgba, width, height, "picture overlay");
  const table = lut(colormap);
  const heat = new ImageData(mw, mh);
  for (let i = 0; i < mw * mh; i++) {
    const [r, g, b] = colour(table, map[i]);
    heat.data.set([r, g, b, 255], 4 * i);
  }
  const small = document.createElement("canvas");
  small.width = mw;
  small.height = mh;
  small.getContext("2d").putImageData(heat, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.globalAlpha = opacity;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(small, 0, 0, width, height);
  return canvas;
}

/** A horizontal colour bar with its end labels (numbers or text). */
export function colourBar(colormap, low, high, width = 256, height = 14) {
  const table = lut(colormap);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = "colour-bar";
  const ctx = canvas.getContext("2d");
  for (let x = 0; x < width; x++) {
    const [r, g, b] = colour(table, x / (width - 1));
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x, 0, 1, height);
  }
  const figure = document.createElement("figure");
  figure.className = "colour-bar";
  const labels = document.createElement("div");
  labels.className = "colour-bar-labels";
  for (const v of [low, high]) {
    const span = document.createElement("span");
    span.textContent = typeof v === "number" ? formatNumber(v) : String(v);
    labels.append(span);
  }
  figure.append(canvas, labels);
  return figure;
}

export function formatNumber(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}

/** A histogram {min, max, counts} as bars on a canvas. */
export function histogram({ min, max, counts }, width = 320, height = 90, fill = "#3b6fd4") {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = "histogram";
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
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

/**
 * Pictures in [0, 1] (`data` is [units, channels, size, size], channels 3 = RGB or 1 =
 * gray) drawn onto `canvas` as a near-square grid with `gap` pixels between them;
 * `data` null draws them mid-grey (before the first step).
 */
export function drawPictures(canvas, data, [units, channels, size], { gap = 2 } = {}) {
  const columns = Math.max(1, Math.ceil(Math.sqrt(units)));
  const rows = Math.ceil(units / columns);
  resize(canvas, columns * (size + gap) - gap, rows * (size + gap) - gap);
  const image = new ImageData(canvas.width, canvas.height);
  image.data.fill(255);
  const plane = size * size;
  const byte = (v) => (Number.isFinite(v) ? Math.round(Math.min(1, Math.max(0, v)) * 255) : 0);
  for (let u = 0; u < units; u++) {
    const x0 = (u % columns) * (size + gap);
    const y0 = Math.floor(u / columns) * (size + gap);
    const base = u * channels * plane;
    for (let i = 0; i < plane; i++) {
      const o = 4 * ((y0 + Math.floor(i / size)) * canvas.width + x0 + (i % size));
      for (let c = 0; c < 3; c++) image.data[o + c] = data ? byte(data[base + (channels === 3 ? c * plane : 0) + i]) : 128;
      image.data[o + 3] = 255;
    }
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
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
