// The page's wiring: controls, the address bar, drag and drop, progress and errors.
// Models run in the worker (worker.js, through rpc.js); views draw (views/); this file
// only connects them. <html data-state> is loading, ready, busy, done or error, for
// tests and embedding pages to wait on.
import { ModelWorker, CancelledError } from "./rpc.js";
import { VIEWS, GROUPS, viewById, useCatalogue, layerFor as layerOf } from "./views/index.js";
import { firstVisit } from "./tour/landing.js";
import * as sources from "./sources.js";
import { addExportButtons } from "./draw/export.js";
import { setColourStrips } from "./draw/canvas.js";
import { readState, formatState, malformed } from "./urlstate.js";
import { readOptions, formatOptions } from "./optionstate.js";
import { addNote, initNotes } from "./notes.js";
import { markStale, clearStale } from "./staleresult.js";
import * as weightsLink from "./weightslink.js";
import { onnxSource, showOrigin, preprocessingChoice } from "./imported.js";
import "./sidebar.js";

const $ = (id) => document.getElementById(id);
// `colormap` and `opacity` come from the core (renderChoices) once the worker is up.
const DEFAULTS = { model: "fashion", view: "predictions", scaling: "channel" };
// The model list's entry for weights from a URL (timm's VGG16 unless another is given).
const URL_OPTION = "VGG16 from a URL (553 MB)";

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
  // A link's model waiting for the visitor to agree to its download
  // (weightslink.linkedWeights, plus its size in words): no model is loaded meanwhile.
  waiting: null,
  linkLayer: undefined, // the link's layer, checked once against the first view that has layers
  // Until a waiting link's consent line is up: the page is not "ready" before it is.
  starting: true,
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
  if (app.source && app.image) await send("setImage", { bytes: app.image.bytes.slice(0) });
}

// ---- models --------------------------------------------------------------------

async function useModel(source, label = `Loading ${source.name ?? "the model"}…`) {
  let loaded = false;
  const ok = await task(label, async (call, token) => {
    const send = (type, args, transfer) => call(type, args, { transfer });
    const model = await sources.loadModel(send, source, (p, text) => token === app.token && progress(p, text)).catch((err) => {
      if (err instanceof CancelledError) throw err;
      throw new Error(`could not load ${source.name ?? "the model"}; ${app.model ? "the previous model stays in use" : "no model is loaded"}.\n${err.message}`);
    });
    app.source = source;
    app.model = model;
    // Loaded, but the browser would not keep the weights: the next visit downloads them again.
    if (source.notKept) addNote(`${source.name} could not be kept in this browser's cache (${source.notKept}); it is loaded now, but will be downloaded again next time.`);
    app.waiting = null; // whatever a link waited for, this model is now in use
    $("consent").hidden = true;
    nameArchitecture(source);
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
  const id = app.source?.id ?? app.source?.kind ?? (app.waiting ? "vgg16" : DEFAULTS.model);
  if ([...select.options].some((o) => o.value === id)) select.value = id;
  $("url-row").hidden = select.value !== "vgg16";
  // The URL entry names the model it stands for: a link's, the one loaded, or VGG16.
  const named = app.waiting ? `${app.waiting.name}, from the link` : app.source?.kind === "url" ? `${app.source.name}, from a URL` : URL_OPTION;
  select.querySelector('option[value="vgg16"]').textContent = named;
  // A long name is cut by the side bar's width: the whole of it on hover.
  select.title = select.selectedOptions[0]?.textContent ?? "";
  showTwin(sources.EMBEDDED_MODELS.find((m) => m.id === app.source?.id));
  if (!app.model) {
    $("model-name").textContent = app.waiting ? `${app.waiting.name}: not loaded yet (${app.waiting.size}).` : "";
    return;
  }
  const m = app.model;
  $("model-name").textContent = `${m.name}: ${m.summary.total_params.toLocaleString("en-US")} parameters, input ${m.inChannels}×${m.inputSize}×${m.inputSize}, ${m.classes} classes`;
  Object.assign($("model-name"), { title: `wasm build ${m.wasmBuild}, ${m.threads} thread(s)` }).dataset.threads = m.threads;
  showOrigin(app.source, m, (source) => useModel(source));
  fillTargets();
  fillLayers();
}

/**
 * A demo graph with generated weights whose note tells the visitor to name its
 * architecture for their own trained file of that family names it in the field (the
 * tiny VGG, which no one has a file of, leaves the field as it is): no typing, and
 * no ResNet-18 on screen beside a field that still says vgg16. Only when a model loads,
 * never over what the visitor typed for the file they are about to pick.
 */
function nameArchitecture(source) {
  const entry = sources.EMBEDDED_MODELS.find((m) => m.id === source.id);
  if (source.kind === "synthetic" && entry?.note) $("arch").value = source.arch;
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

/**
 * The visitor's own model or picture ends a view that brings its own (the tour, about the
 * embedded model): the page's default view shows what they chose.
 */
function leaveTour() {
  if (!viewById(app.params.view)?.wants) return;
  app.params.view = DEFAULTS.view;
  app.params.step = undefined;
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
    leaveTour();
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
  leaveTour();
  // timm's VGG16 has its card; other weights get the architecture typed in the side bar
  // and the core's defaults for labels and preprocessing.
  // An .onnx address is a whole model: no architecture, the page's preprocessing choice.
  const fileName = decodeURIComponent(new URL(url).pathname.split("/").pop());
  const onnx = sources.isOnnxAddress(url);
  const card = url === sources.VGG16_URL ? sources.VGG16_CARD : onnx ? undefined : { name: fileName, arch: $("arch").value.trim() || "vgg16" };
  // The address keeps a link's weights as written (a path relative to the page stays one).
  const link = app.waiting?.url === url ? app.waiting.weights : undefined;
  const source = onnx
    ? { kind: "url", format: "onnx", id: "vgg16", name: fileName, url, link, preprocessing: preprocessingChoice() }
    : { kind: "url", id: "vgg16", name: card.name, url, card, link };
  const ok = await useModel(source, `Downloading ${onnx ? "the model" : "the weights"} from ${new URL(url).host}…`);
  if (ok) {
    app.params.weights = url;
    writeUrl();
  } else if (app.waiting) {
    $("consent").hidden = false; // the link's model still waits: the visitor may try again
  }
}

async function loadFromFiles(files) {
  const list = [...files];
  leaveTour();
  // An ONNX model (imported.js) holds its architecture: no arch field.
  let onnx;
  try {
    onnx = await onnxSource(list, preprocessingChoice());
  } catch (err) {
    showError(err);
    return;
  }
  if (onnx) {
    await useModel(onnx, `Loading ${onnx.name}…`);
    writeUrl();
    return;
  }
  const weights = list.find((f) => !f.name.toLowerCase().endsWith(".json"));
  const cardFile = list.find((f) => f.name.toLowerCase().endsWith(".json"));
  if (!weights) {
    showError(new Error("pick the weights (.safetensors, .pth, Keras .h5/.keras) or an .onnx model too, not only a model card"));
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
    // A link's model may still wait for its download: the picture is prepared once it is loaded.
    if (app.model) await prepareImage(call, image, () => token === app.token);
    else waitingPicture(image);
    if (token !== app.token) return;
    app.image = image;
    app.params.image = image.name;
    showImageChoice(image);
    // A new picture has its own top class: let the views pick it again (a link's
    // target stays).
    if (!keepTarget) app.params.target = undefined;
    fillTargets();
  });
  if (ok) {
    writeUrl();
    await runView();
  }
  return ok;
}

/** The side bar's picture while no model is loaded: none, and why. */
function waitingPicture(image) {
  const canvas = $("model-view");
  canvas.width = canvas.height = 1;
  $("model-view-caption").textContent = `${image.caption}: shown as the model sees it once the model is loaded`;
}

/**
 * The sample menu names the picture in use: a sample, or else an entry for the
 * visitor's own file or the link's address, never the sample it replaced.
 */
function showImageChoice(image) {
  const select = $("sample-select");
  select.querySelector("option[data-own]")?.remove();
  if (app.samples.some((s) => s.name === image.name)) {
    select.value = image.name;
    return;
  }
  const own = new Option(`${image.name === undefined ? "Your image" : "From the link"}: ${image.caption}`, "");
  own.dataset.own = "";
  own.disabled = true; // a label, not a choice: it cannot be loaded again from here
  select.prepend(own);
  own.selected = true;
}

function imageFromSample(name, options) {
  return useImage(async () => {
    const sample = app.samples.find((s) => s.name === name);
    const bytes = await sources.imageBytes(name, app.samples);
    return { bytes, name, caption: sample?.caption ?? name };
  }, `Loading the image ${name}…`, options);
}

function imageFromFile(file) {
  leaveTour();
  return useImage(async () => ({ bytes: await file.arrayBuffer(), name: undefined, caption: file.name }), `Reading ${file.name}…`);
}

// ---- views ---------------------------------------------------------------------

async function runView() {
  if (app.waiting) return showWaiting();
  if (!app.model || !app.image) return;
  const view = currentView();
  // A view that shows a model and picture of its own (the tour) has them loaded first;
  // loading reruns this.
  const want = view.wants?.(app.params);
  if (want?.model && app.source?.id !== want.model) return useModel(sources.embeddedSource(want.model));
  if (want?.image && app.params.image !== want.image) return imageFromSample(want.image, { keepTarget: true });
  showControls(view);
  checkLinkLayer(view);
  if (app.view && app.view !== view) app.view.dispose?.();
  app.view = view;
  for (const b of document.querySelectorAll("#view-list button")) b.setAttribute("aria-current", String(b.dataset.view === view.id));
  const panel = $("panel");
  panel.dataset.view = view.id;
  if (view.pending) {
    ++app.token;
    clearError();
    clearStale();
    await view.run({ panel });
    status("");
    setState("ready");
    return;
  }
  const ok = await task(`Computing ${view.title.toLowerCase()}…`, async (call, token) => {
    const scratch = document.createElement("div");
    let shown = false; // whether this run put anything of its own in the panel
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
      show: (...nodes) => {
        if (token !== app.token) return;
        shown = true;
        clearStale();
        panel.replaceChildren(...nodes);
      },
    };
    try {
      await view.run(ctx);
    } catch (err) {
      // Failed before drawing anything: the panel holds an earlier request's result
      // (a cancel says so in the status line instead).
      if (token === app.token && !shown && !(err instanceof CancelledError)) markStale();
      throw err;
    }
    if (token !== app.token) return;
    clearStale();
    panel.replaceChildren(...scratch.childNodes);
    view.didMount?.();
    addExportButtons(panel, view.id);
  });
  if (ok) {
    status("");
    setState("done");
  }
}

/** The view the parameters name; an unknown one is noted and replaced by the default, in the address too. */
function currentView() {
  const view = viewById(app.params.view);
  if (view) return view;
  const fallback = viewById(DEFAULTS.view);
  addNote(`There is no view "${app.params.view}"; showing ${fallback.title} instead.`);
  app.params.view = fallback.id;
  writeUrl();
  return fallback;
}

/**
 * While a link's model waits for the visitor's consent, the view area says so instead
 * of drawing anything: the only model that could answer is another one.
 */
function showWaiting() {
  ++app.token; // a task still finishing must not draw over this
  const view = currentView();
  app.view?.dispose?.();
  app.view = null;
  for (const b of document.querySelectorAll("#view-list button")) b.setAttribute("aria-current", String(b.dataset.view === view.id));
  $("view-controls").hidden = true;
  $("progress-row").hidden = true;
  $("panel").dataset.view = "waiting";
  clearStale();
  $("panel").replaceChildren(weightsLink.waitingPanel(app.waiting, app.waiting.size, view.title));
  status("");
  if (!app.starting) setState("ready");
}

/** The link's layer, once a view with layers runs: one this view does not have is noted. */
function checkLinkLayer(view) {
  const asked = app.linkLayer;
  if (asked === undefined || !view.needs.includes("layer")) return;
  app.linkLayer = undefined;
  const names = view.layers ? view.layers(app.model) : app.model.layerNames;
  if (!names.includes(asked)) addNote(`${view.title} has no layer "${asked}" in ${app.model.name}; showing ${layerFor(view)} instead.`);
}

function layerFor(view) {
  return layerOf(view, app.model, app.params.layer);
}

/** Changes parameters (from a view or a control), records them, reruns the view. */
async function setParams(changes, { rerun = true, push = false } = {}) {
  Object.assign(app.params, changes);
  if ("target" in changes) $("target-select").value = changes.target ?? "";
  writeUrl({ push });
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
  if (app.params.target >= labels.length) {
    addNote(`${app.model.name} has no class ${app.params.target} (its classes are 0 to ${labels.length - 1}); showing the top class instead.`);
    app.params.target = undefined;
  }
  const options = [new Option("top class", "")];
  labels.forEach((label, i) => options.push(new Option(`${i}: ${label}`, String(i))));
  $("target-select").replaceChildren(...options);
  $("target-select").value = app.params.target === undefined ? "" : String(app.params.target);
}

// ---- address bar and embedding -------------------------------------------------

/**
 * The address for the current state. `push` makes it a new history entry (a new view:
 * Back returns to the previous one); other changes rewrite the current entry.
 */
function writeUrl({ push = false } = {}) {
  const url = app.source?.kind === "url" ? app.source : null;
  const state = {
    ...app.params,
    // A link's model that waits for the visitor's consent stays in the address, as written.
    model: app.waiting ? app.waiting.model : url ? url.card?.arch : app.source?.kind === "file" ? undefined : app.source?.id,
    weights: app.waiting ? app.waiting.weights : url && url.url !== sources.VGG16_URL ? url.link ?? url.url : undefined,
    step: app.params.view === "tour" ? app.params.step : undefined,
    layer: app.model && viewById(app.params.view)?.needs.includes("layer") ? layerFor(viewById(app.params.view)) : app.waiting ? app.params.layer : undefined,
    embed: app.embed,
  };
  // The views' form options too (optionstate.js), so a shared link keeps them.
  const options = formatOptions(app.params, app.catalogue?.checks);
  const query = formatState(state, DEFAULTS, options);
  const address = `${location.pathname}${query}`;
  if (push && address !== `${location.pathname}${location.search}`) history.pushState(null, "", address);
  else history.replaceState(null, "", address);
  const link = new URL(`${location.pathname}${formatState({ ...state, embed: true }, DEFAULTS, options)}`, location.href).href;
  $("embed-iframe").textContent = `<iframe src="${link}" width="720" height="560" title="convscope" loading="lazy"></iframe>`;
  const attrs = ["model", "weights", "image", "view", "target", "layer"].filter((k) => state[k] !== undefined).map((k) => ` ${k}="${state[k]}"`).join("");
  $("embed-element").textContent = `<script type="module" src="${new URL("embed.js", location.href).href}"></script>\n<convscope-view${attrs}></convscope-view>`;
}

// ---- controls ------------------------------------------------------------------

function buildControls() {
  const modelSelect = $("model-select");
  for (const m of sources.EMBEDDED_MODELS) modelSelect.append(new Option(m.name, m.id));
  modelSelect.append(new Option(URL_OPTION, "vgg16"), new Option("Weights from a file…", "file"));
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

  $("sample-select").addEventListener("change", (e) => {
    leaveTour();
    imageFromSample(e.target.value);
  });
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
      b.addEventListener("click", () => setParams({ view: v.id }, { push: v.id !== app.params.view }));
      box.append(b);
    }
    list.append(box);
  }

  $("colormap-select").addEventListener("change", (e) => setParams({ colormap: e.target.value }));
  const scalings = [...$("scaling-select").options].map((o) => o.value);
  if (!scalings.includes(app.params.scaling)) {
    addNote(`There is no scale "${app.params.scaling}" (${scalings.join(" or ")}); using ${DEFAULTS.scaling}.`);
    app.params.scaling = DEFAULTS.scaling;
  }
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

/** A link that names weights not yet in this browser asks before downloading them. */
async function askForWeights() {
  $("consent").replaceChildren(...weightsLink.consentLine(app.waiting, app.waiting.size, loadFromUrl));
  app.starting = false;
  if (await sources.isCached(app.waiting.url)) return loadFromUrl();
  $("consent").hidden = false;
  await runView(); // the view area says what waits, and the page is ready
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
  if (!colormaps.includes(app.params.colormap)) {
    addNote(`There is no colormap "${app.params.colormap}"; using ${colormap} (the page has ${colormaps.join(", ")}).`);
    app.params.colormap = colormap;
  }
  $("colormap-select").replaceChildren(...colormaps.map((c) => new Option(c, c)));
  $("colormap-select").value = app.params.colormap;
  $("opacity").value = String(app.params.opacity);
}

// ---- start ---------------------------------------------------------------------

async function main() {
  const initial = readState(location.search);
  const bad = malformed(location.search); // values readState dropped: each gets a note
  initNotes();
  app.embed = initial.embed;
  document.body.classList.toggle("embedded", app.embed);
  Object.assign(app.params, initial);
  delete app.params.embed;
  // A first visit to the bare address lands on the guided tour.
  if (!app.embed && firstVisit(location.search)) app.params.view = "tour";
  app.linkLayer = initial.layer;
  if (bad.step !== undefined) addNote(`Step "${bad.step}" is not a step number of the tour (1, 2, 3…); showing its first step.`);
  if (bad.target !== undefined) addNote(`Class "${bad.target}" is not a class number (0, 1, 2…); showing the top class.`);
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
  // The views' options in the link, checked against the catalogue: a malformed one is noted.
  const linked = readOptions(location.search, app.catalogue);
  Object.assign(app.params, linked.values);
  for (const text of linked.notes) addNote(text);
  // The architectures a weights file without card can name, from the core (as --arch).
  const archs = await app.worker.call("architectures").catch(() => []);
  $("arch-names").replaceChildren(...archs.map((name) => new Option(name, name)));
  buildControls();
  window.addEventListener("popstate", restoreAddress);

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
  if (bad.opacity !== undefined) addNote(`Opacity "${bad.opacity}" is not a number from 0 to 1; using ${DEFAULTS.opacity}.`);

  // A link naming weights waits for the visitor's consent with no model loaded, so that
  // no view shows another model's result under its name (weightslink.js).
  app.waiting = weightsLink.linkedWeights(initial, archs, addNote);
  if (app.waiting) {
    app.waiting.size = await weightsLink.downloadSize(app.waiting.url);
    $("weights-url").value = app.waiting.url;
    if (app.waiting.arch) $("arch").value = app.waiting.arch; // an ONNX model has none to name
    showModel();
    // The image first (the view area then says what waits), then the consent line, or
    // the weights at once if this browser has them.
    await linkedImage(initial.image);
    await askForWeights();
    return;
  }
  const wanted = initial.model ?? DEFAULTS.model;
  const embedded = sources.embeddedSource(wanted) ? wanted : DEFAULTS.model;
  if (wanted !== embedded) addNote(unknownModel(wanted, archs));
  const loaded = await task("Loading the model…", async (call) => {
    const send = (type, args, transfer) => call(type, args, { transfer });
    const source = sources.embeddedSource(embedded);
    app.model = await sources.loadModel(send, source);
    app.source = source;
    nameArchitecture(source);
    showModel();
  });
  if (!loaded) return;
  app.starting = false;
  await linkedImage(initial.image);
}

/** The note for a link's model the page does not have. */
function unknownModel(wanted, archs) {
  const fallback = sources.EMBEDDED_MODELS.find((m) => m.id === DEFAULTS.model).name;
  if (archs.includes(wanted)) return `model=${wanted} is an architecture: the link needs weights=URL of its weights too; showing ${fallback} instead.`;
  return `There is no model "${wanted}" (this page has ${sources.EMBEDDED_MODELS.map((m) => m.id).join(", ")}, or an architecture with weights=URL); showing ${fallback} instead.`;
}

/**
 * The link's image: a sample by name, or an address (resolved against the page). A name
 * that is neither, or an address that cannot be loaded, gives the default sample and a note.
 */
async function linkedImage(wanted) {
  // The tour's own picture when the page opens on it, so that it is loaded once.
  const fallback = viewById(app.params.view)?.wants?.(app.params)?.image ?? defaultSample(app.source?.id);
  const caption = app.samples.find((s) => s.name === fallback)?.caption ?? fallback;
  const isSample = app.samples.some((s) => s.name === wanted);
  if (wanted !== undefined && !isSample && !sources.looksLikeAddress(wanted)) {
    addNote(`There is no sample image "${wanted}"; showing ${caption} instead.`);
  } else if (wanted !== undefined && !isSample) {
    const load = async () => ({ bytes: await sources.imageBytes(wanted, app.samples), name: wanted, caption: wanted });
    if (await useImage(load, "Loading the image…", { keepTarget: true })) return;
    addNote(`The image ${wanted} could not be loaded (${$("error").textContent}); showing ${caption} instead.`);
  }
  const sample = isSample ? wanted : fallback;
  if (sample) await imageFromSample(sample, { keepTarget: true });
}

/**
 * Back and Forward: the entry's view and its settings (and its sample image, if another)
 * come back; the model stays (another one may be a download the visitor did not ask for).
 */
async function restoreAddress() {
  const s = readState(location.search);
  Object.assign(app.params, {
    view: s.view ?? DEFAULTS.view,
    step: s.step,
    layer: s.layer,
    target: s.target,
    colormap: s.colormap ?? DEFAULTS.colormap,
    opacity: s.opacity ?? DEFAULTS.opacity,
    scaling: s.scaling ?? DEFAULTS.scaling,
    // The entry's form options (none: the defaults).
    attribution: undefined,
    maximize: undefined,
    filterChannel: undefined,
    ...Object.fromEntries((app.catalogue?.checks ?? []).map((c) => [c.name, undefined])),
    ...readOptions(location.search, app.catalogue).values,
  });
  $("colormap-select").value = app.params.colormap;
  $("opacity").value = String(app.params.opacity);
  $("scaling-select").value = app.params.scaling;
  $("target-select").value = app.params.target === undefined ? "" : String(app.params.target);
  writeUrl(); // the entry's address, but with the model in use (which Back does not change)
  if (s.image !== undefined && s.image !== app.params.image && app.samples.some((x) => x.name === s.image)) await imageFromSample(s.image, { keepTarget: true });
  else await runView();
}

window.addEventListener("unhandledrejection", (event) => showError(event.reason));
main().catch(showError);
