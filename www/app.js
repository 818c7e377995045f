// The page: starts the model worker, shows the model's layer table, and classifies a
// bundled sample image. Sets <html data-state> to "ready" when both are shown, or to
// "error" (with the message in #error) when anything fails.

// The tiny demo architecture of the project's test fixtures (3x32x32 in, 10 classes):
// "tiny" is the built-in name for cfg=8,M,16,M,32,M;in=3;pool=2;hidden=32;classes=10;size=32.
const DEMO = {
  name: "tiny (synthetic weights, seed 3)",
  arch: "tiny",
  seed: 3,
};
const SAMPLE = { url: "samples/astronaut32.png", caption: "astronaut (32×32 crop)" };
const TOP_K = 5;
// ImageNet normalisation, as torchvision's VGG weights expect.
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

const $ = (id) => document.getElementById(id);

// ---- worker RPC ------------------------------------------------------------------

function startWorker() {
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  const pending = new Map();
  let nextId = 1;
  const failAll = (message) => {
    for (const { reject } of pending.values()) reject(new Error(message));
    pending.clear();
  };
  worker.onmessage = ({ data }) => {
    const entry = pending.get(data.id);
    if (!entry) return;
    pending.delete(data.id);
    if (data.ok) entry.resolve(data.result);
    else entry.reject(new Error(data.error));
  };
  worker.onerror = (event) => {
    event.preventDefault();
    failAll(`model worker failed to start: ${event.message || "could not load worker.js or the wasm module"}`);
  };
  worker.onmessageerror = () => failAll("model worker sent an unreadable message");
  return (type, args = {}, transfer = []) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, type, ...args }, transfer);
    });
}

// ---- rendering -------------------------------------------------------------------

function formatCell(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(formatCell).join("×");
  if (typeof value === "number") return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toPrecision(4);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function humanise(key) {
  return key.replace(/_/g, " ");
}

// The summary is rendered generically: its `layers` array becomes the table (one
// column per field), and its other scalar fields a list of totals.
function renderSummary(name, summary) {
  $("model-name").textContent = name;
  const layers = Array.isArray(summary?.layers) ? summary.layers : [];
  const columns = [];
  for (const layer of layers) for (const key of Object.keys(layer)) if (!columns.includes(key)) columns.push(key);
  if (columns.includes("name")) columns.unshift(...columns.splice(columns.indexOf("name"), 1));

  const headRow = document.createElement("tr");
  for (const key of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = humanise(key);
    headRow.append(th);
  }
  $("summary").tHead.replaceChildren(headRow);

  const rows = layers.map((layer) => {
    const tr = document.createElement("tr");
    if (typeof layer.name === "string") tr.dataset.layer = layer.name;
    for (const key of columns) {
      const td = document.createElement("td");
      td.textContent = formatCell(layer[key]);
      if (typeof layer[key] === "number") td.className = "num";
      tr.append(td);
    }
    return tr;
  });
  $("summary").tBodies[0].replaceChildren(...rows);

  const totals = [];
  for (const [key, value] of Object.entries(summary ?? {})) {
    if (key === "layers" || (typeof value === "object" && value !== null && !Array.isArray(value))) continue;
    const dt = document.createElement("dt");
    dt.textContent = humanise(key);
    const dd = document.createElement("dd");
    dd.textContent = formatCell(value);
    totals.push(dt, dd);
  }
  $("model-totals").replaceChildren(...totals);
  $("model-section").hidden = false;
}

function renderPredictions(predictions) {
  const rows = predictions.map((p, i) => {
    const tr = document.createElement("tr");
    tr.dataset.class = String(p.class);
    tr.dataset.prob = String(p.prob);
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${Math.max(1, Math.round(p.prob * 100))}px`;
    const probCell = document.createElement("td");
    probCell.className = "num";
    probCell.append(bar, `${(p.prob * 100).toFixed(1)}%`);
    const cells = [String(i + 1), String(p.class), p.label, null, p.logit.toFixed(3)];
    for (const [j, text] of cells.entries()) {
      if (text === null) {
        tr.append(probCell);
        continue;
      }
      const td = document.createElement("td");
      td.textContent = text;
      if (j !== 2) td.className = "num";
      tr.append(td);
    }
    return tr;
  });
  $("predictions").tBodies[0].replaceChildren(...rows);
  $("predict-section").hidden = false;
}

// ---- image -> tensor -------------------------------------------------------------

async function loadImage(url) {
  const img = new Image();
  img.src = url;
  try {
    await img.decode();
  } catch {
    throw new Error(`could not load the sample image ${url}`);
  }
  return img;
}

// Draws the image scaled to size×size and returns a 1×C×size×size float32 tensor,
// ImageNet-normalised (channels = 3, or 1 for a grey model).
function imageToTensor(img, size, channels) {
  const canvas = $("input-canvas");
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(img, 0, 0, size, size);
  const { data } = ctx.getImageData(0, 0, size, size);
  const plane = size * size;
  const out = new Float32Array(channels * plane);
  for (let i = 0; i < plane; i++) {
    const rgb = [data[4 * i] / 255, data[4 * i + 1] / 255, data[4 * i + 2] / 255];
    if (channels === 1) {
      const grey = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
      out[i] = (grey - 0.449) / 0.226;
    } else {
      for (let c = 0; c < 3; c++) out[c * plane + i] = (rgb[c] - MEAN[c]) / STD[c];
    }
  }
  return { input: out, shape: [1, channels, size, size] };
}

// ---- main ------------------------------------------------------------------------

function fail(err) {
  const message = err instanceof Error ? err.message : String(err);
  console.error(err);
  $("error").textContent = message;
  $("error").hidden = false;
  $("status").hidden = true;
  document.documentElement.dataset.state = "error";
}

async function main() {
  const call = startWorker();
  const model = await call("synthetic", { arch: DEMO.arch, seed: DEMO.seed });
  renderSummary(DEMO.name, model.summary);

  $("status").textContent = "Classifying the sample image…";
  const img = await loadImage(SAMPLE.url);
  const { input, shape } = imageToTensor(img, model.inputSize, model.inChannels);
  $("input-caption").textContent = SAMPLE.caption;
  const predictions = await call("predict", { input, shape, k: TOP_K }, [input.buffer]);
  renderPredictions(predictions);

  $("status").hidden = true;
  document.documentElement.dataset.state = "ready";
}

window.addEventListener("error", (event) => fail(event.error ?? event.message));
window.addEventListener("unhandledrejection", (event) => fail(event.reason));
main().catch(fail);
