// The model worker: owns the wasm module, the model and the current image, so the page
// stays responsive while the network runs. Protocol (docs/web.md): the page posts
// {id, type, ...args}; the worker answers {id, progress, detail?, partial?} while it
// works, then {id, ok: true, result} or {id, ok: false, error, fatal?}. Large arrays are
// moved, not copied (transferable buffers).
import { PENDING_REQUESTS } from "./views/pending.js";
import { attributionPictures, pictureGrid, tileShape } from "./draw/pictures.js";
import { scoreHandlers } from "./scoring.js";
import { readInto } from "./readfile.js";
import { siteBuilds, singleThreadBuild } from "./wasmfeatures.js";

// More threads than this gain little on VGG's small late layers (7x7 and 14x14 maps have
// few Winograd tiles to share) and each costs a worker with its own stack.
const MAX_THREADS = 8;

// The wasm bindings, set by loadWasm() before any request is handled (`await ready`).
let Model;
let validateCard;
let failedAllocation;
let debugExhaustMemory;
// The whole module, for the renderer's exports (wasm/render.rs; see draw/pictures.js)
// and the method catalogue (`core.catalogue()`).
let core;
// Which build runs, on how many threads: describe() passes it to the page.
let runtime = { wasmBuild: "pkg", threads: 1 };
// Resolves to the wasm exports (their `memory` tells how much the module holds), once
// the method catalogue's requests are in place.
const ready = loadWasm().then((wasm) => {
  addCatalogueHandlers();
  Object.assign(handlers, scoring.handlers);
  return wasm;
});
// Opened as worker.js?debug (rpc.js does so on a page opened with ?debug): test-only
// requests are offered.
const DEBUG = new URL(self.location.href).searchParams.has("debug");

// The multi-threaded build (dist/pkg-threads/: wasm threads, docs/web.md) where it can run:
// shared wasm memory needs a cross-origin isolated page (COOP + COEP headers). Anywhere
// else, or if that build is missing or fails to start, a single-thread build: the
// relaxed-SIMD one (dist/pkg-relaxed/: fused multiply-adds, 13-21% faster on the graph
// families) where the engine validates relaxed-SIMD code, else the plain one; the page
// must work without isolation. wasm-builds.json says which builds the site has, so a site
// without one never requests it (no 404). initThreadPool runs before any model work
// because rayon's pool can be set up only once.
async function loadWasm() {
  const builds = await siteBuilds();
  if (builds.threads && self.crossOriginIsolated) {
    try {
      const pkg = await import("./pkg-threads/convscope.js");
      const wasm = await pkg.default();
      await pkg.initThreadPool(Math.max(1, Math.min(navigator.hardwareConcurrency || 1, MAX_THREADS)));
      ({ Model, validateCard, failedAllocation, debugExhaustMemory } = pkg);
      core = pkg;
      runtime = { wasmBuild: "pkg-threads", threads: pkg.threadCount() };
      return wasm;
    } catch (err) {
      console.warn(`wasm threads unavailable, running on one thread: ${err?.message ?? err}`);
    }
  }
  if (singleThreadBuild(builds) === "pkg-relaxed") {
    try {
      return await startSingle("pkg-relaxed");
    } catch (err) {
      console.warn(`relaxed-SIMD build unavailable, running plain SIMD: ${err?.message ?? err}`);
    }
  }
  return startSingle("pkg");
}

// A single-thread build by folder name; answers its wasm exports.
async function startSingle(folder) {
  const pkg = await import(`./${folder}/convscope.js`);
  const wasm = await pkg.default();
  ({ Model, validateCard, failedAllocation, debugExhaustMemory } = pkg);
  core = pkg;
  runtime = { wasmBuild: folder, threads: 1 };
  return wasm;
}

let model = null;
// The current image, prepared for the current model: {input, shape} and the picture the
// model sees ({rgba, width, height}, what overlays are drawn on).
let image = null;
// The newest attribution ({key, result}), so that a new colormap or opacity asks for new
// pixels only, not for the method again; forgotten with the model or image.
let lastAttribution = null;
// The comparison view's requests and second model (scoring.js).
const scoring = scoreHandlers({ model: () => current(), image: () => currentImage(), core: () => core });
// Layer outputs of the current image, by layer name; emptied when model or image change.
let outputs = new Map();
let outputsSize = 0;
// 128 MB: every layer the 3D view shows for VGG16 at 224 px (about 15 M values) several
// times over; beyond it the cache starts again.
const OUTPUT_CACHE_FLOATS = 32 * 1024 * 1024;
// The live picture of a maximization goes to the page at most this often (and at the
// last step): the tiny model takes a step in about a millisecond.
const LIVE_INTERVAL_MS = 50;

const handlers = {
  // Checks a model card (JSON text) and answers it with its defaults filled in.
  async validateCard({ card }) {
    return validateCard(card);
  },
  // A model with the fixtures' deterministic weights.
  // `slot: "second"` loads it beside the current one instead (the comparison view's
  // second model; scoring.js), `modelId` naming it.
  async loadSynthetic({ arch, seed, name, slot, modelId }) {
    const loaded = Model.synthetic(arch, seed);
    if (slot === "second") return describe(scoring.setSecond(loaded, modelId, name));
    replaceModel(loaded, name);
    return describe();
  },
  // A model from a card (JSON text) and its safetensors bytes (an ArrayBuffer).
  // `file` (a visitor's File) instead of `weights` (downloaded bytes) is streamed into
  // wasm memory (readInto), so a large file exists once in memory.
  async loadCard({ card, weights, file, slot, modelId }, progress) {
    const loaded = file ? Model.fromCardFile(card, await readInto(core.FileBytes, file, progress), file.name) : Model.fromCard(card, new Uint8Array(weights));
    if (slot === "second") return describe(scoring.setSecond(loaded, modelId));
    replaceModel(loaded);
    return describe();
  },
  // An ONNX model (imported.js): the .onnx and external-data Files, streamed into wasm
  // memory here (readInto) so their bytes exist once; the card's text; the preprocessing
  // chosen when the card has none. Answers the description plus what the reader assumed.
  async loadOnnx({ onnx, data, card, preprocessing }, progress) {
    const bytes = await readInto(core.FileBytes, onnx, progress);
    const external = data ? await readInto(core.FileBytes, data, progress).catch((err) => (bytes.free(), Promise.reject(err))) : undefined;
    const { model: next, ...imported } = Model.fromOnnx(bytes, onnx.name, data?.name, external, card, preprocessing);
    replaceModel(next);
    return { ...describe(), imported };
  },
  // Decodes and preprocesses image bytes for the current model; answers the picture
  // the model sees.
  async setImage({ bytes }) {
    const prepared = current().prepareImage(new Uint8Array(bytes));
    // `input` stays in wasm memory for every request on this image (freed with it); the
    // bytes stay too: a second model (the comparison view's) prepares them its way.
    forgetImage();
    image = { bytes: bytes.slice(0), input: prepared.input, shape: prepared.shape, rgba: prepared.rgba.slice(), width: prepared.width, height: prepared.height };
    clearOutputs();
    lastAttribution = null;
    scoring.forgetImage();
    return { rgba: prepared.rgba, width: prepared.width, height: prepared.height, shape: prepared.shape };
  },
  async predict({ k }, progress) {
    const { input } = currentImage();
    progress(0);
    return current().predict(input, k);
  },
  // Config and weight statistics of one layer, plus weight histograms.
  async inspect({ layer, bins = 64 }) {
    return { ...current().inspect(layer), histogram: current().weightHistogram(layer, bins) };
  },
  // Outputs of layers for the current image: {layers: [{name, shape, data}]}.
  async trace({ layers }, progress) {
    const shapes = traced(layers, progress);
    return {
      layers: layers.map((name) => ({ name, shape: shapes.get(name), data: outputs.get(name).slice() })),
    };
  },
  // Tiles drawn by the core (wasm tileGrid): the output of `layer` for the current image
  // (one tile per channel, or per unit of a vector), or `values` of `shape` [count,
  // channels, h, w]; `options` {colormap, scaling, gap, background}. Answers {rgba,
  // width, height, layout, tiles, shape}.
  async tiles({ layer, values, shape, options }, progress) {
    if (layer) {
      const layerShape = traced([layer], progress).get(layer);
      return { ...core.tileGrid(outputs.get(layer), tileShape(layerShape), options), shape: layerShape };
    }
    return { ...core.tileGrid(values, Uint32Array.from(shape), options), shape };
  },
  // Channel `channel` of `layer`'s output, scaled as its tile is, over the picture the
  // model sees at `opacity`: RGBA of the picture's size.
  async tileOverlay({ layer, channel, opacity, options }, progress) {
    const layerShape = traced([layer], progress).get(layer);
    const { rgba, width, height } = currentImage();
    return core.tileOverlay(outputs.get(layer), tileShape(layerShape), options, channel, rgba, width, height, opacity);
  },
  // What the page offers and starts with: {colormaps, colormap, opacity} and each
  // colormap's table as a 256x1 RGBA strip (`strips`) for the colour bars.
  // The architecture names a weights file without card can take (the core's --arch).
  async architectures() {
    return core.architectures();
  },
  async renderChoices() {
    const choices = core.renderChoices();
    return { ...choices, strips: Object.fromEntries(choices.colormaps.map((name) => [name, core.colormapStrip(name)])) };
  },
  // A conv layer's kernels as one picture: {rgba, width, height, caption, tiles, ...};
  // `colormap` a name.
  async filters({ layer, channel, scaling, colormap }) {
    return current().filters(layer, { channel, scaling, colormap });
  },
  // Activation maximization. Progress carries the live state as `partial`: {step,
  // steps, curve: Float32Array (objective per step and unit), picture (the pictures
  // drawn side by side by the core: {rgba, width, height, ...})}. The result is the
  // export's plus the whole curve and the last `picture`.
  async maximize({ objective, options }, progress) {
    const curve = [];
    let posted = -Infinity;
    const channels = current().inChannels;
    const size = options?.size ?? current().maximizeDefaults().size;
    const result = current().maximize(objective, options, (step, steps, values, pictures) => {
      curve.push(...values);
      const now = performance.now();
      if (now - posted >= LIVE_INTERVAL_MS || step === steps) {
        posted = now;
        const picture = pictureGrid(core, pictures, values.length, channels, size);
        progress(step / steps, `step ${step} of ${steps}`, { step, steps, curve: Float32Array.from(curve), picture }, [picture.rgba.buffer]);
      }
      return true;
    });
    const picture = pictureGrid(core, result.pictures, result.units.length, result.channels, result.size);
    return { ...result, curve: Float32Array.from(curve), picture };
  },
};

// The method catalogue (the core's methods::catalogue): the request `catalogue`, one
// request per method (docs/web.md: `Model.attribute` on the current image, `target`
// undefined = the top class, `options` the method's own, with its `pictures` in `look`
// ({colormap, opacity}; draw/pictures.js)) and one per check of a method (`Model.check`:
// the sanity check's report {method, class, seed, steps: [{layer, spearman}]}).
function addCatalogueHandlers() {
  const { methods, checks } = core.catalogue();
  handlers.catalogue = async () => core.catalogue();
  for (const { name } of methods) {
    handlers[name] = async ({ target, options, look }, progress) => {
      const { input } = currentImage();
      const key = JSON.stringify([name, target ?? null, options ?? {}]);
      if (lastAttribution?.key !== key) {
        const result = current().attribute(name, input, target ?? undefined, options ?? {}, (done, total) => {
          progress(done / total, done < total ? `running ${name}` : "drawing");
          return true;
        });
        lastAttribution = { key, result };
      }
      // A copy goes to the page (its arrays are moved, not copied); the kept one stays whole.
      const r = structuredClone(lastAttribution.result);
      return { ...r, pictures: attributionPictures(core, r, currentImage(), look) };
    };
  }
  for (const { name, title } of checks) {
    handlers[name] = async ({ method, target, options, checkOptions }, progress) => {
      const { input } = currentImage();
      return current().check(name, method, input, target ?? undefined, options ?? {}, checkOptions ?? {}, (done, total) => {
        progress(done / total, done < total ? `${title} of ${method}: step ${done + 1} of ${total}` : "drawing");
        return true;
      });
    };
  }
}

// Test-only: allocates until the wasm memory is exhausted, to exercise the crash path
// (report, restart, restore) that a real out-of-memory takes.
if (DEBUG) {
  handlers.debugExhaustMemory = async () => {
    debugExhaustMemory();
  };
}

// Views still waiting for their wasm bindings: known requests with a clear answer.
for (const [type, exportName] of Object.entries(PENDING_REQUESTS)) {
  handlers[type] = async () => {
    throw new Error(`${type} is not available in this build (it needs the wasm export ${exportName})`);
  };
}

function replaceModel(next, name) {
  if (model) model.free();
  model = next;
  model.displayName = name;
  forgetImage();
  clearOutputs();
  lastAttribution = null;
  scoring.forgetImage();
}

function current() {
  if (!model) throw new Error("no model is loaded yet");
  return model;
}

// Lets the current image go, with its input in wasm memory.
function forgetImage() {
  image?.input.free();
  image = null;
}

function currentImage() {
  if (!image) throw new Error("no image is loaded yet");
  return image;
}

function clearOutputs() {
  outputs = new Map();
  outputsSize = 0;
}

// Runs the layers of `names` not yet kept for the current image, keeping their outputs;
// answers the output shapes of all layers.
function traced(names, progress) {
  const shapes = outputShapes();
  const missing = names.filter((name) => !outputs.has(name));
  if (missing.length) {
    const { input } = currentImage();
    const flat = current().trace(input, missing, (done, total) => {
      progress(done / total, `layer ${done} of ${total}`);
      return true;
    });
    let offset = 0;
    for (const name of missing) {
      const size = shapes.get(name).reduce((a, b) => a * b, 1);
      remember(name, flat.slice(offset, offset + size));
      offset += size;
    }
  }
  return shapes;
}

function remember(name, data) {
  if (outputsSize + data.length > OUTPUT_CACHE_FLOATS) clearOutputs();
  outputs.set(name, data);
  outputsSize += data.length;
}

// Output shape of each layer ([C, H, W] or [F]), from the summary at the model's size.
function outputShapes() {
  return new Map(current().summary().layers.map((l) => [l.name, l.output_shape]));
}

function describe(m = model) {
  const card = m.card();
  return {
    name: m.displayName ?? card.name,
    card,
    summary: m.summary(),
    layerNames: m.layerNames(),
    camLayer: m.camLayer,
    inChannels: m.inChannels,
    classes: m.classes,
    inputSize: m.inputSize,
    maximizeDefaults: m.maximizeDefaults(),
    ...runtime,
  };
}

// Every ArrayBuffer inside a result, so it can be moved rather than copied.
function transferables(value, out = []) {
  if (ArrayBuffer.isView(value)) out.push(value.buffer);
  else if (value instanceof ArrayBuffer) out.push(value);
  else if (Array.isArray(value)) for (const v of value) transferables(v, out);
  else if (value && typeof value === "object") for (const v of Object.values(value)) transferables(v, out);
  return [...new Set(out)];
}

self.onmessage = async (event) => {
  const { id, type, ...args } = event.data;
  const progress = (fraction, detail, partial, transfer = []) => self.postMessage({ id, progress: fraction, detail, partial }, transfer);
  try {
    await ready;
    const handler = Object.hasOwn(handlers, type) ? handlers[type] : null;
    if (!handler) throw new Error(`unknown request type ${type}`);
    const result = await handler(args, progress);
    self.postMessage({ id, ok: true, result }, transferables(result));
  } catch (err) {
    // A trap (RuntimeError) leaves the wasm instance unusable: the page restarts us.
    const fatal = err instanceof WebAssembly.RuntimeError;
    const message = err instanceof Error ? err.message : String(err);
    self.postMessage({ id, ok: false, error: fatal ? await crashMessage(message) : message, fatal });
  }
};

const MIB = 1024 * 1024;

// What to tell the user about a trap: out of memory (with the numbers) when the
// allocator saw a request fail, else the trap's own message.
async function crashMessage(trap) {
  try {
    const failed = failedAllocation();
    if (failed > 0) {
      const held = (await ready).memory.buffer.byteLength;
      return `out of memory: the model needed ${Math.ceil(failed / MIB)} MiB more with ${Math.round(held / MIB)} MiB already in use (a page's WebAssembly memory ends at 4096 MiB)`;
    }
  } catch {
    // The instance is broken beyond reading one number: fall back to the trap.
  }
  return `the model crashed: ${trap}`;
}
