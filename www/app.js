// The page's wiring: controls, the address bar, drag and drop, progress and errors.
// Models run in the worker (worker.js, through rpc.js); views draw (views/); this file
// only connects them. <html data-state> is loading, ready, busy, done or error, for
// tests and embedding pages to wait on.
import { ModelWorker, CancelledError } from "./rpc.js";
import { VIEWS, GROUPS, viewById, useCatalogue } from "./views/index.js";
import * as sources from "./sources.js";
import { addExportButtons } from "./draw/export.js";
import { setColourStrips } from "./draw/canvas.js";
import { readState, formatState } from "./urlstate.js";

const $ = (id) => document.getElementById(id);
// `colormap` and `opacity` come from the core (renderChoices) once the worker is up.
const DEFAULTS = { model: "fashion", view: "predictions", scaling: "channel" };

const app = {
  worker: null,
  source: null, // how the current model was loaded (to reload it after a restart)
  model: null, // the worker's description of it
  image: null, // {bytes, name, caption, rgba, width, height}
  samples: [],
  params: { ...DEFAULTS },
  embed: false,
  token: 0, // the newest task; older ones do not touch the page when they finish
  view: null,
};

// ---- state, progress, errors ---------------------------------------------------

function setState(state) {
  document.documentElement.dataset.state = state;
  // For measuring a cold load: when the first view was finished.
  if (state === "done" && !performance.getEntriesByName("convscope:first-done").length) performance.mark("convscope:first-done");
  if (window.parent !== window) window.parent.postMessage({ source: "convscope", state, error: state === "error" ? $("error").textContent : undefined }, "*");
}

function status(text) {
  $("status").textContent = text;
  $("status").hidden = !text;
}

function showError(err) {
  const message = err instanceof Error ? err.message : String(err);
  $("error").textContent = message;
  $("error").hidden = false;
  status("");
  setState("error");
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function progress(fraction, text = "") {
  const bar = $("progress");
  if (Number.isFinite(fraction)) bar.value = fraction;
  else bar.removeAttribute("value");
  $("progress-text").textContent = text;
}

/**
 * Runs `fn` as the page's current task: busy state, progress bar, cancel button; an
 * error shows in the error box and leaves the page usable with what was loaded before.
 * Answers true when `fn` finished and no newer task started meanwhile.
 */
async function task(label, fn) {
  const token = ++app.token;
  clearError();
  setState("busy");
  status(label);
  progress(NaN, "");
  $("progress-row").hidden = false;
  // A view may follow a run itself (opts.onProgress), e.g. to draw its partial results.
  const call = (type, args, opts = {}) =>
    app.worker.call(type, args, {
      ...opts,
      onProgress: (p, detail, partial) => {
        if (token !== app.token) return;
        progress(p, detail ?? "");
        opts.onProgress?.(p, detail, partial);
      },
    });
  try {
    // One computation at a time: a new task stops the one still running.
    if (app.worker.busy) await app.worker.cancel();
    await fn(call, token);
    return token === app.token;
  } catch (err) {
    if (token !== app.token) return false;
    if (err instanceof CancelledError) {
      status("Cancelled.");
      setState("ready");
    } else {
      console.warn(err);
      showError(err);
    }
    return false;
  } finally {
    if (token === app.token) $("progress-row").hidden = true;
  }
}

async function cancel() {
  app.token += 1; // whatever was running no longer owns the page
  $("progress-row").hidden = true;
  status("Cancelling…");
  setState("busy");
  try {
    await app.worker.cancel();
    status("Cancelled. The model and image are as before.");
    setState("ready");
  } catch (err) {
    showError(err);
  }
}

// ---- the worker's state, restorable -------------------------------------------

// After a cancel (or a crash) the fresh worker gets the last good model and image back.
async function restore(send) {
  if (app.source) await sources.loadModel(send, app.source);
  if (app.image) await send("setImage", { bytes: app.image.bytes.slice(0) });
}

// ---- models --------------------------------------------------------------------

async function useModel(source, label = `Loading ${source.name ?? "the model"}…`) {
  let loaded = false;
  const ok = await task(label, async (call, token) => {
    const send = (type, args, transfer) => call(type, args, { transfer });
    const model = await sources.loadModel(send, source, (p, text) => token === app.token && progress(p, text)).catch((err) => {
      if (err instanceof CancelledError) throw err;
      throw new Error(`could not load ${source.name ?? "the model"}; the previous model stays in use.\n${err.message}`);
    });
    app.source = source;
    app.model = model;
    loaded = true;
    showModel();
    if (app.image) await prepareImage(call, app.image);
  });
  if (!loaded) showModel(); // the select goes back to the model still loaded
  if (ok) await runView();
  return ok;
}

function showModel() {
  const select = $("model-select");
  const id = app.source?.id ?? app.source?.kind ?? DEFAULTS.model;
  if ([...select.options].some((o) => o.value === id)) select.value = id;
  $("url-row").hidden = select.value !== "vgg16";
  showTwin(sources.EMBEDDED_MODELS.find((m) => m.id === app.source?.id));
  if (!app.model) return;
  const m = app.model;
  $("model-name").textContent = `${m.name}: ${m.summary.total_params.toLocaleString("en-US")} parameters, input ${m.inChannels}×${m.inputSize}×${m.inputSize}, ${m.classes} classes`;
  Object.assign($("model-name"), { title: `wasm build ${m.wasmBuild}, ${m.threads} thread(s)` }).dataset.threads = m.threads;
  fillTargets();
  fillLayers();
}

/** An embedded model's note, and the button that swaps it for its twin (same image, same view). */
function showTwin(entry) {
  const twin = sources.EMBEDDED_MODELS.find((m) => m.id === entry?.twin);
  $("model-note").hidden = !entry?.note;
  $("model-note").textContent = entry?.note ?? "";
  $("twin-toggle").hidden = !twin;
  if (twin) $("twin-toggle").textContent = `Switch to: ${twin.name}`;
  $("twin-toggle").dataset.model = twin?.id ?? "";
}

/** The load button says whether the URL's weights are already in this browser. */
async function labelLoadButton() {
  const url = $("weights-url").value;
  let cached = false;
  try {
    cached = await sources.isCached(sources.checkUrl(url).href);
  } catch {
    // Not a URL (yet): pressing the button will say so.
  }
  $("load-url").textContent = cached ? "Load (cached)" : "Download and load";
}

async function onModelSelect() {
  const id = $("model-select").value;
  $("url-row").hidden = id !== "vgg16";
  if (id === "vgg16") {
    await labelLoadButton();
    return; // nothing is fetched until the user asks
  }
  if (id === "file") {
    $("weights-file").click();
    showModel(); // the list shows the model in use until a file is loaded
    return;
  }
  const source = sources.embeddedSource(id);
  if (source) {
    await useModel(source);
    writeUrl();
  }
}

async function loadFromUrl() {
  let url;
  try {
    url = sources.checkUrl($("weights-url").value, "weights URL").href;
  } catch (err) {
    showError(err);
    return;
  }
  $("consent").hidden = true;
  // timm's VGG16 has its card; other weights get the architecture typed in the side bar
  // and the core's defaults for labels and preprocessing.
  const card = url === sources.VGG16_URL ? sources.VGG16_CARD : { name: decodeURIComponent(url.split("/").pop()), arch: $("arch").value.trim() || "vgg16" };
  const ok = await useModel({ kind: "url", id: "vgg16", name: card.name, url, card }, `Downloading the weights from ${new URL(url).host}…`);
  if (ok) {
    app.params.weights = url;
    writeUrl();
  }
}

async function loadFromFiles(files) {
  const list = [...files];
  const weights = list.find((f) => !f.name.toLowerCase().endsWith(".json"));
  const cardFile = list.find((f) => f.name.toLowerCase().endsWith(".json"));
  if (!weights) {
    showError(new Error("pick the weights (.safetensors or .pth) too, not only a model card"));
    return;
  }
  const cardText = cardFile ? await cardFile.text() : undefined;
  const arch = $("arch").value.trim() || "vgg16";
  await useModel({ kind: "file", id: "file", name: weights.name, file: weights, cardText, arch }, `Loading ${weights.name}…`);
  writeUrl();
}

// ---- images --------------------------------------------------------------------

async function prepareImage(call, image, current = () => true) {
  const prepared = await call("setImage", { bytes: image.bytes.slice(0) });
  Object.assign(image, prepared);
  if (!current()) return; // a newer task owns the picture in the side bar
  const canvas = $("model-view");
  canvas.width = prepared.width;
  canvas.height = prepared.height;
  canvas.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(prepared.rgba), prepared.width, prepared.height), 0, 0);
  $("model-view-caption").textContent = `${image.caption}, as the model sees it (${prepared.width}×${prepared.height})`;
}

async function useImage(load, label, { keepTarget = false } = {}) {
  const ok = await task(label, async (call, token) => {
    const image = await load();
    // A newer task started while this image was fetched: it owns the page now.
    if (token !== app.token) return;
    await prepareImage(call, image, () => token === app.token);
    if (token !== app.token) return;
    app.image = image;
    app.params.image = image.name;
    // A new picture has its own top class: let the views pick it again (a link's
    // target stays).
    if (!keepTarget) app.params.target = undefined;
    fillTargets();
  });
  if (ok) {
    writeUrl();
    await runView();
  }
}

function imageFromSample(name, options) {
  return useImage(async () => {
    const sample = app.samples.find((s) => s.name === name);
    const bytes = await sources.imageBytes(name, app.samples);
    return { bytes, name, caption: sample?.caption ?? name };
  }, `Loading the image ${name}…`, options);
}

function imageFromFile(file) {
  return useImage(async () => ({ bytes: await file.arrayBuffer(), name: undefined, caption: file.name }), `Reading ${file.name}…`);
}

// ---- views ---------------------------------------------------------------------

async function runView() {
  if (!app.model || !app.image) return;
  const view = viewById(app.params.view) ?? viewById(DEFAULTS.view);
  app.params.view = view.id;
  showControls(view);
  if (app.view && app.view !== view) app.view.dispose?.();
  app.view = view;
  for (const b of document.querySelectorAll("#view-list button")) b.setAttribute("aria-current", String(b.dataset.view === view.id));
  const panel = $("panel");
  panel.dataset.view = view.id;
  if (view.pending) {
    ++app.token;
    clearError();
    await view.run({ panel });
    status("");
    setState("ready");
    return;
  }
  const ok = await task(`Computing ${view.title.toLowerCase()}…`, async (call, token) => {
    const scratch = document.createElement("div");
    const ctx = {
      call,
      panel: scratch,
      model: app.model,
      image: app.image,
      params: { ...app.params, layer: layerFor(view) },
      // How the model was loaded ({kind, id, ...}: sources.js), for views that name it.
      source: app.source,
      setParams,
      // For views that show something while they run (a live picture): these nodes go
      // into the page's panel now; `panel` still receives the finished view.
      show: (...nodes) => token === app.token && panel.replaceChildren(...nodes),
    };
    await view.run(ctx);
    if (token !== app.token) return;
    panel.replaceChildren(...scratch.childNodes);
    view.didMount?.();
    addExportButtons(panel, view.id);
  });
  if (ok) {
    status("");
    setState("done");
  }
}

function layerFor(view) {
  if (!view.needs.includes("layer")) return undefined;
  const names = view.layers ? view.layers(app.model) : app.model.layerNames;
  return names.includes(app.params.layer) ? app.params.layer : view.defaultLayer?.(app.model) ?? names.at(-1);
}

/** Changes parameters (from a view or a control), records them, reruns the view. */
async function setParams(changes, { rerun = true } = {}) {
  Object.assign(app.params, changes);
  if ("target" in changes) $("target-select").value = changes.target ?? "";
  writeUrl();
  if (rerun) await runView();
}

function showControls(view) {
  const controls = new Set(view.needs);
  for (const label of document.querySelectorAll("#view-controls [data-control]")) label.hidden = !controls.has(label.dataset.control);
  $("view-controls").hidden = controls.size === 0;
  if (controls.has("layer")) fillLayers(view);
}

function fillLayers(view = viewById(app.params.view)) {
  if (!app.model || !view?.needs.includes("layer")) return;
  const names = view.layers ? view.layers(app.model) : app.model.layerNames;
  const kinds = new Map(app.model.summary.layers.map((l) => [l.name, l.type]));
  $("layer-select").replaceChildren(...names.map((n) => new Option(`${n} (${kinds.get(n)})`, n)));
  $("layer-select").value = layerFor(view);
}

function fillTargets() {
  if (!app.model) return;
  const labels = app.model.card.labels;
  const options = [new Option("top class", "")];
  labels.forEach((label, i) => options.push(new Option(`${i}: ${label}`, String(i))));
  $("target-select").replaceChildren(...options);
  $("target-select").value = app.params.target === undefined ? "" : String(app.params.target);
}

// ---- address bar and embedding -------------------------------------------------

function writeUrl() {
  const state = {
    ...app.params,
    model: app.source?.kind === "file" ? undefined : app.source?.id,
    weights: app.source?.kind === "url" && app.source.url !== sources.VGG16_URL ? app.source.url : undefined,
    layer: app.model && viewById(app.params.view)?.needs.includes("layer") ? layerFor(viewById(app.params.view)) : undefined,
    embed: app.embed,
  };
  const query = formatState(state, DEFAULTS);
  history.replaceState(null, "", `${location.pathname}${query}`);
  const link = new URL(`${location.pathname}${formatState({ ...state, embed: true }, DEFAULTS)}`, location.href).href;
  $("embed-iframe").textContent = `<iframe src="${link}" width="720" height="560" title="convscope" loading="lazy"></iframe>`;
  const attrs = ["model", "image", "view", "target", "layer"].filter((k) => state[k] !== undefined).map((k) => ` ${k}="${state[k]}"`).join("");
  $("embed-element").textContent = `<script type="module" src="${new URL("embed.js", location.href).href}"></script>\n<convscope-view${attrs}></convscope-view>`;
}

// ---- controls ------------------------------------------------------------------

function buildControls() {
  const modelSelect = $("model-select");
  for (const m of sources.EMBEDDED_MODELS) modelSelect.append(new Option(m.name, m.id));
  modelSelect.append(new Option("VGG16 from a URL (553 MB)", "vgg16"), new Option("Weights from a file…", "file"));
  modelSelect.addEventListener("change", onModelSelect);
  $("twin-toggle").addEventListener("click", () => {
    modelSelect.value = $("twin-toggle").dataset.model;
    onModelSelect();
  });
  $("weights-url").value = app.params.weights ?? sources.VGG16_URL;
  $("load-url").addEventListener("click", loadFromUrl);
  $("weights-url").addEventListener("input", labelLoadButton);
  $("weights-file").addEventListener("change", (e) => {
    if (e.target.files.length) loadFromFiles(e.target.files);
    e.target.value = "";
  });

  $("sample-select").addEventListener("change", (e) => imageFromSample(e.target.value));
  $("image-file").addEventListener("change", (e) => {
    if (e.target.files[0]) imageFromFile(e.target.files[0]);
    e.target.value = "";
  });

  const list = $("view-list");
  for (const [group, title] of Object.entries(GROUPS)) {
    const views = VIEWS.filter((v) => v.group === group);
    const box = document.createElement("div");
    box.className = "view-group";
    const h = document.createElement("h3");
    h.textContent = title;
    box.append(h);
    for (const v of views) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.view = v.id;
      b.dataset.testid = `view-${v.id}`;
      b.textContent = v.title;
      if (v.pending) {
        b.classList.add("pending");
        b.title = "Not available in this build";
      }
      b.addEventListener("click", () => setParams({ view: v.id }));
      box.append(b);
    }
    list.append(box);
  }

  $("colormap-select").addEventListener("change", (e) => setParams({ colormap: e.target.value }));
  $("scaling-select").value = app.params.scaling;
  $("scaling-select").addEventListener("change", (e) => setParams({ scaling: e.target.value }));
  $("opacity").addEventListener("change", (e) => setParams({ opacity: Number(e.target.value) }));
  $("layer-select").addEventListener("change", (e) => setParams({ layer: e.target.value }));
  $("target-select").addEventListener("change", (e) => setParams({ target: e.target.value === "" ? undefined : Number(e.target.value) }));
  $("cancel").addEventListener("click", cancel);
  // A view that draws a new canvas after it finished (e.g. a feature map laid over the
  // image on click) announces it, and it gets its Save PNG button too.
  $("panel").addEventListener("exportable", () => addExportButtons($("panel"), app.params.view));

  // Drop or paste: images become the input, .safetensors/.json files the model.
  document.addEventListener("dragover", (e) => {
    e.preventDefault();
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", (e) => {
    if (!e.relatedTarget) document.body.classList.remove("dragging");
  });
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    document.body.classList.remove("dragging");
    takeFiles(e.dataTransfer?.files);
  });
  document.addEventListener("paste", (e) => {
    if (e.target instanceof HTMLInputElement && e.target.type === "text") return;
    const files = e.clipboardData?.files;
    if (files?.length) {
      e.preventDefault();
      takeFiles(files);
    }
  });
}

function takeFiles(files) {
  const list = [...(files ?? [])];
  if (!list.length) return;
  const image = list.find((f) => f.type.startsWith("image/"));
  if (image) imageFromFile(image);
  else loadFromFiles(list);
}

/** The first sample meant for model `id` (index.json's `models`), else the first general one. */
function defaultSample(id) {
  const forModel = app.samples.find((s) => Array.isArray(s.models) && s.models.includes(id));
  return (forModel ?? app.samples.find((s) => !Array.isArray(s.models)) ?? app.samples[0])?.name;
}

/** The sample list in groups (Fashion-MNIST test images, photos), in index order. */
function fillSamples() {
  const groups = new Map();
  for (const s of app.samples) {
    const label = s.group ?? "samples";
    if (!groups.has(label)) groups.set(label, Object.assign(document.createElement("optgroup"), { label }));
    groups.get(label).append(new Option(s.caption ?? s.name, s.name));
  }
  $("sample-select").replaceChildren(...groups.values());
}

/** A link that names VGG16 weights not yet in this browser asks before downloading. */
async function askForWeights(url) {
  if (await sources.isCached(url)) return loadFromUrl();
  $("consent").replaceChildren(
    `This link asks for weights from ${new URL(url).host} (VGG16: 553 MB). Nothing is downloaded until you press `,
    Object.assign(document.createElement("button"), { type: "button", textContent: "Download and load", onclick: loadFromUrl }),
  );
  $("consent").hidden = false;
}

/**
 * The core's colormaps (the select lists exactly these, each colour bar draws the
 * core's table) and its defaults for colormap and opacity, unless the address set them.
 */
function useRenderChoices({ colormaps, colormap, opacity, strips }) {
  setColourStrips(strips);
  Object.assign(DEFAULTS, { colormap, opacity });
  app.params.colormap ??= colormap;
  app.params.opacity ??= opacity;
  $("colormap-select").replaceChildren(...colormaps.map((c) => new Option(c, c)));
  $("colormap-select").value = app.params.colormap;
  $("opacity").value = String(app.params.opacity);
}

// ---- start ---------------------------------------------------------------------

async function main() {
  const initial = readState(location.search);
  app.embed = initial.embed;
  document.body.classList.toggle("embedded", app.embed);
  Object.assign(app.params, initial);
  delete app.params.embed;
  app.worker = new ModelWorker(new URL("./worker.js", import.meta.url), restore);
  // Exposed for tests and the curious: which worker generation runs, and the view list.
  window.convscope = { app, get generation() { return app.worker.generation; } };
  // Asked now, answered once the wasm module is up (while the samples load).
  const choices = app.worker.call("renderChoices");
  choices.catch(() => {}); // awaited below, after the samples
  // The attribution views come from the core's method catalogue. Without it (the wasm
  // did not start) the page goes on: the render choices below say what failed.
  const catalogue = await app.worker.call("catalogue").catch((err) => console.warn("no method catalogue:", err));
  app.catalogue = catalogue ?? null;
  useCatalogue(app.catalogue);
  // The architectures a weights file without card can name, from the core (as --arch).
  const archs = await app.worker.call("architectures").catch(() => []);
  $("arch-names").replaceChildren(...archs.map((name) => new Option(name, name)));
  buildControls();

  try {
    app.samples = await sources.loadSamples();
  } catch (err) {
    showError(err);
  }
  fillSamples();
  try {
    useRenderChoices(await choices);
  } catch (err) {
    showError(err);
    return;
  }

  const wanted = initial.model ?? DEFAULTS.model;
  const embedded = sources.embeddedSource(wanted) ? wanted : DEFAULTS.model;
  const loaded = await task("Loading the model…", async (call) => {
    const send = (type, args, transfer) => call(type, args, { transfer });
    const source = sources.embeddedSource(embedded);
    app.model = await sources.loadModel(send, source);
    app.source = source;
    showModel();
  });
  if (!loaded) return;

  const sample = initial.image ?? defaultSample(app.source?.id);
  if (sample) {
    $("sample-select").value = sample;
    if (initial.image && !app.samples.some((s) => s.name === initial.image)) {
      const load = async () => ({ bytes: await sources.imageBytes(initial.image, app.samples), name: initial.image, caption: initial.image });
      await useImage(load, "Loading the image…", { keepTarget: true });
    } else {
      await imageFromSample(sample, { keepTarget: true });
    }
  }

  if (wanted === "vgg16") {
    $("model-select").value = "vgg16";
    $("url-row").hidden = false;
    await askForWeights(initial.weights ?? sources.VGG16_URL);
  } else if (wanted !== embedded) {
    showError(new Error(`unknown model "${wanted}"; this page has ${sources.EMBEDDED_MODELS.map((m) => m.id).join(", ")} and vgg16`));
  }
}

window.addEventListener("unhandledrejection", (event) => showError(event.reason));
main().catch(showError);
