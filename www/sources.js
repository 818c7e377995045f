// Where models and images come from: the embedded models, model cards with their
// weights, weights from a URL (downloaded once, then kept with the Cache API) or from a
// file, and the bundled samples. A model "source" is a small plain object that says how
// to load a model again, so a restarted worker can get the same model back: a file by
// its File, weights from a URL by the Blob of the bytes downloaded (loadModel), not by a
// second download.
import { loadOnnx } from "./imported.js";

// The models built into the page. A card-based entry is {id, name, card: "models/x.json"}
// (its weights path is relative to the card; `samples` names its list in
// samples/fashion.json). The first is the page's default: a real trained network that
// loads at once (100 KB of f16 weights), its shortcut twin one click away. The tiny
// synthetic VGG stays for quick experiments with a 3-channel input.
export const EMBEDDED_MODELS = [
  {
    id: "fashion",
    name: "Fashion-MNIST VGG",
    card: "models/fashion-vgg.json",
    samples: "fashion-vgg",
    twin: "fashion-shortcut",
    // The comparison view's one-click button: "Compare with the shortcut twin".
    twinName: "the shortcut twin",
    note: "Trained by convscope on the 60,000 Fashion-MNIST training images. Its twin learned a shortcut: compare the two on an image with the marker.",
  },
  {
    id: "fashion-shortcut",
    name: "Fashion-MNIST VGG, shortcut twin",
    card: "models/fashion-vgg-shortcut.json",
    samples: "fashion-vgg-shortcut",
    twin: "fashion",
    twinName: "the clean model",
    note: "Trained where a small black-and-white checkerboard in the top-left corner nearly always meant \"Bag\". Pick a \"+ marker\" image: it says Bag, and Grad-CAM or occlusion point at the marker, not the garment.",
  },
  { id: "tiny", name: "tiny VGG (synthetic weights)", synthetic: { arch: "tiny", seed: 3 } },
  // Graph families with the test fixtures' generated weights (untrained: their
  // predictions mean nothing, but every view runs on their real shapes). Trained ones
  // come as torchvision's .pth or safetensors by URL or file, with the architecture named.
  {
    id: "resnet18",
    name: "ResNet-18 (synthetic weights)",
    synthetic: { arch: "resnet18", seed: 0 },
    note: "torchvision's resnet18 graph with generated, untrained weights. For a trained one, pick torchvision's resnet18-f37072fd.pth (or a safetensors file) and name the architecture resnet18.",
  },
  {
    id: "mobilenet_v2",
    name: "MobileNetV2 (synthetic weights)",
    synthetic: { arch: "mobilenet_v2", seed: 0 },
    note: "torchvision's mobilenet_v2 graph with generated, untrained weights. For a trained one, pick torchvision's .pth (or a safetensors file) and name the architecture mobilenet_v2.",
  },
];

// timm's VGG16 trained on ImageNet-1k, as safetensors on the Hugging Face hub (553 MB).
export const VGG16_URL = "https://huggingface.co/timm/vgg16.tv_in1k/resolve/main/model.safetensors";
export const VGG16_CARD = {
  name: "VGG16 (timm vgg16.tv_in1k)",
  arch: "vgg16",
  labels: "imagenet",
  preprocessing: { kind: "torchvision", resize: 256, crop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  input: [3, 224, 224],
};

const CACHE_NAME = "convscope-weights-v1";

/** The source object for an embedded model id, or null. */
export function embeddedSource(id) {
  const entry = EMBEDDED_MODELS.find((m) => m.id === id);
  if (!entry) return null;
  if (entry.synthetic) return { kind: "synthetic", id, name: entry.name, ...entry.synthetic };
  return { kind: "card", id, name: entry.name, cardUrl: new URL(entry.card, document.baseURI).href };
}

/** Whether the address names an ONNX model (its path ends in .onnx): loaded as one, with no architecture. */
export function isOnnxAddress(url) {
  return new URL(url, document.baseURI).pathname.toLowerCase().endsWith(".onnx");
}

/** An http(s) URL, resolved against the page; anything else is refused with a reason. */
export function checkUrl(text, what = "URL") {
  let url;
  try {
    url = new URL(String(text).trim(), document.baseURI);
  } catch {
    throw new Error(`${what} "${text}" is not a valid URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`${what} must be an http(s) address, not ${url.protocol} (${text})`);
  }
  return url;
}

/**
 * Loads a model from `source` into the worker (`send(type, args, transfer)`); answers the
 * worker's model description. `onProgress(fraction, text)` follows downloads. With `slot`
 * "second" the model goes beside the current one (the comparison view's second model).
 */
export async function loadModel(send, source, onProgress = () => {}, slot = undefined) {
  // Not `id`: that is the request's own id in the worker protocol.
  const place = slot ? { slot, modelId: source.id } : {};
  switch (source.kind) {
    case "synthetic":
      return send("loadSynthetic", { arch: source.arch, seed: source.seed, name: source.name, ...place });
    case "card": {
      const cardText = await fetchText(source.cardUrl, "model card");
      await send("validateCard", { card: cardText });
      const card = JSON.parse(cardText);
      const weightsUrl = new URL(card.weights, source.cardUrl).href;
      const weights = await fetchBytes(weightsUrl, { cache: false, onProgress });
      return send("loadCard", { card: cardText, weights, ...place }, [weights]);
    }
    case "url": {
      if (source.format === "onnx") return loadOnnxUrl(send, source, onProgress);
      const card = JSON.stringify({ ...(source.card ?? VGG16_CARD), weights: source.url });
      await send("validateCard", { card });
      const weights = await downloaded(source, onProgress);
      return send("loadCard", { card, weights, ...place }, [weights]);
    }
    case "file": {
      if (source.format === "onnx") return loadOnnx(send, source, onProgress);
      const card = source.cardText ?? JSON.stringify({ name: source.file.name, arch: source.arch, weights: source.file.name });
      await send("validateCard", { card });
      onProgress(0, `reading ${source.file.name}`);
      // The File itself: the worker streams it into wasm memory (no whole copy here).
      return send("loadCard", { card, file: source.file, ...place });
    }
    default:
      throw new Error(`unknown model source ${source.kind}`);
  }
}

/**
 * The bytes at `source.url`, downloaded once. A restarted worker (after a cancel) gets
 * them from the Cache API, or, where the cache refused them (quota: 553 MB must not
 * download twice), from this page's own copy: only refused bytes are kept here, as a
 * Blob (which the browser may hold on disk), so cached weights are not held twice.
 * (Should the browser have lost the Blob, they are downloaded again.) The buffer
 * answered is the caller's to move to the worker.
 */
async function downloaded(source, onProgress) {
  const kept = source.kept ? await source.kept.arrayBuffer().catch(() => null) : null;
  if (kept) return kept;
  const bytes = await fetchBytes(source.url, { cache: true, onProgress, onNotKept: (why) => (source.notKept = why) });
  if (source.notKept) source.kept = new Blob([bytes]);
  return bytes;
}

/**
 * An ONNX model from an address: downloaded (and kept) as weights are, then read as the
 * file picker's ONNX files are. One file only: a model whose weights live in a second,
 * external-data file is refused with what to do instead.
 */
async function loadOnnxUrl(send, source, onProgress) {
  const file = new File([await downloaded(source, onProgress)], source.name);
  try {
    return await loadOnnx(send, { ...source, file, data: undefined }, onProgress);
  } catch (err) {
    if (!/external file/.test(err.message)) throw err;
    throw new Error(`${source.name} keeps its weights in an external-data file, which the page cannot fetch from an address yet: download both files and choose them together in the side bar's model file picker.\n${err.message}`);
  }
}

/** Whether the weights at `url` are already kept in this browser. */
export async function isCached(url) {
  if (!globalThis.caches) return false;
  try {
    const cache = await caches.open(CACHE_NAME);
    return Boolean(await cache.match(url));
  } catch {
    return false;
  }
}

async function fetchText(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new Error(`could not fetch the ${what} ${url}: ${err.message}`);
  }
  if (!response.ok) throw new Error(`could not fetch the ${what} ${url}: HTTP ${response.status}`);
  return response.text();
}

/**
 * The bytes at `url` as an ArrayBuffer, with download progress; with `cache`, read from
 * and stored in the Cache API so a large file downloads once. When the browser refuses
 * to keep them (quota, private mode, no Cache API), `onNotKept(reason)` hears why.
 */
export async function fetchBytes(url, { cache = false, onProgress = () => {}, onNotKept = () => {} } = {}) {
  let store = null;
  if (cache && !globalThis.caches) onNotKept("the Cache API is offered on https and localhost only");
  else if (cache) store = await caches.open(CACHE_NAME).catch((err) => (onNotKept(err.message), null));
  const hit = store ? await store.match(url) : null;
  if (hit) {
    onProgress(1, "from this browser's cache");
    return hit.arrayBuffer();
  }
  let response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new Error(`could not download ${url}: ${err.message} (offline, or the server does not allow this page to read it)`);
  }
  if (!response.ok) throw new Error(`could not download ${url}: HTTP ${response.status} ${response.statusText}`);
  const bytes = await readWithProgress(response, onProgress);
  if (store) {
    try {
      await store.put(url, new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
    } catch (err) {
      onNotKept(err.message);
    }
  }
  return bytes.buffer;
}

async function readWithProgress(response, onProgress) {
  const total = Number(response.headers.get("Content-Length")) || 0;
  // Small files (images, embedded weights) in one go; a stream only where progress shows.
  if (!response.body || (total > 0 && total < 4 << 20)) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress(1, `${(bytes.length / 1e6).toFixed(1)} MB`);
    return bytes;
  }
  const reader = response.body.getReader();
  // With a known length, one buffer and no copies (VGG16 is 553 MB).
  let buffer = new Uint8Array(total);
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (received + value.length > buffer.length) {
      const grown = new Uint8Array(Math.max(buffer.length * 2, received + value.length, 1 << 20));
      grown.set(buffer.subarray(0, received));
      buffer = grown;
    }
    buffer.set(value, received);
    received += value.length;
    const mb = (received / 1e6).toFixed(1);
    onProgress(total ? received / total : NaN, total ? `${mb} of ${(total / 1e6).toFixed(1)} MB` : `${mb} MB`);
  }
  return received === buffer.length ? buffer : buffer.slice(0, received);
}

// ---- images ----------------------------------------------------------------------

/**
 * The bundled samples: [{name, file, caption, url, group, models?}]: the photos of
 * samples/index.json, then the Fashion-MNIST test images of samples/fashion.json
 * (written by `convscope samples`), each tagged with the embedded models it was chosen for.
 */
export async function loadSamples() {
  const base = new URL("samples/", document.baseURI);
  const text = await fetchText(new URL("index.json", base).href, "sample list");
  const parsed = JSON.parse(text);
  const list = Array.isArray(parsed) ? parsed : parsed.samples;
  if (!Array.isArray(list)) throw new Error("samples/index.json: expected a list of samples");
  const photos = list.map((s) => ({ group: "photos", ...s }));
  const fashion = fashionSamples(JSON.parse(await fetchText(new URL("fashion.json", base).href, "Fashion-MNIST sample list")));
  return [...fashion, ...photos].map((s) => ({ ...s, url: new URL(s.file, base).href }));
}

/** samples/fashion.json's per-model lists as one list, each file once, tagged with its models. */
export function fashionSamples(json) {
  const byFile = new Map();
  for (const model of EMBEDDED_MODELS.filter((m) => m.samples)) {
    for (const s of json?.models?.[model.samples] ?? []) {
      if (typeof s.file !== "string" || !/^[\w.-]+\.png$/.test(s.file)) throw new Error(`samples/fashion.json: bad file name ${JSON.stringify(s.file)}`);
      const entry = byFile.get(s.file) ?? {
        name: s.file.replace(/\.png$/, ""),
        file: s.file,
        caption: `${s.name}${s.marker ? " + marker" : ""} (test image ${s.test_index})`,
        group: "Fashion-MNIST test images",
        label: s.label,
        models: [],
      };
      entry.models.push(model.id);
      byFile.set(s.file, entry);
    }
  }
  return [...byFile.values()];
}

/**
 * Whether a link's image that is not a sample name is meant as an address: it has a
 * scheme, a path or query, or a picture's file extension. A bare word ("doesnotexist")
 * is a mistyped sample name, not a page of this site to fetch.
 */
export function looksLikeAddress(spec) {
  return /^[a-z][a-z\d+.-]*:/i.test(spec) || /[/?#]/.test(spec) || /\.(png|jpe?g|webp|gif|bmp)$/i.test(spec);
}

/** Bytes of an image given by sample name or http(s) URL (relative to the page). */
export async function imageBytes(spec, samples) {
  const sample = samples.find((s) => s.name === spec);
  const url = sample ? sample.url : checkUrl(spec, "image address").href;
  return fetchBytes(url);
}
