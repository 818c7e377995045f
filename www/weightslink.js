// A link that names weights (?model=ARCH&weights=URL, ?weights=URL.onnx for an ONNX
// model, or ?model=vgg16 alone for timm's VGG16): read before anything is loaded, so that the page can wait for the visitor's
// consent without showing another model's result meanwhile (app.js), with a consent
// line and a panel that name the model and the size of its download.
import * as sources from "./sources.js";
import { el } from "./views/dom.js";

// timm's VGG16 (sources.VGG16_URL): its size is known, so nothing is asked of its host.
const VGG16_SIZE = "553 MB";

/**
 * `{model, weights, url, arch, name}` for a link whose weights the page can load, null
 * for one without weights (or with weights it cannot use: `note(text)` hears why).
 * `model` and `weights` are as written in the link, so the address keeps them; `url` is
 * `weights` resolved against the page; `archs` the architectures the core knows.
 */
export function linkedWeights({ model, weights }, archs, note) {
  if (weights === undefined) {
    if (model !== "vgg16") return null;
    return { model, weights, url: sources.VGG16_URL, arch: "vgg16", name: sources.VGG16_CARD.name };
  }
  // An ONNX model holds its architecture: ?weights=URL.onnx alone is enough. A VGG spec
  // string (cfg=...;in=3...) is an architecture too; the core checks it on load.
  const onnx = isOnnx(weights);
  const isArch = onnx || (model !== undefined && (archs.includes(model) || model.includes("=")));
  if (!isArch) {
    const why = model === undefined
      ? "the link names no architecture for them (add model=vgg16, resnet18... for what the weights are)"
      : sources.embeddedSource(model)
        ? `model=${model} is built into this page and takes no weights (name an architecture: model=vgg16, resnet18...)`
        : `model=${model} is not an architecture this page knows (${archs.join(", ")})`;
    note(`The weights ${weights} were not loaded: ${why}.`);
    return null;
  }
  let url;
  try {
    url = sources.checkUrl(weights, "weights address").href;
  } catch (err) {
    note(`The weights were not loaded: ${err.message}.`);
    return null;
  }
  const file = decodeURIComponent(new URL(url).pathname.split("/").pop());
  if (onnx) return { model, weights, url, arch: undefined, name: `${file} (ONNX model)` };
  const name = url === sources.VGG16_URL ? sources.VGG16_CARD.name : `${file} (architecture ${model})`;
  return { model, weights, url, arch: model, name };
}

/** Whether a link's weights address names an ONNX model (a malformed one is refused later). */
function isOnnx(weights) {
  try {
    return sources.isOnnxAddress(weights);
  } catch {
    return false;
  }
}

/**
 * The download's size in words. Known for timm's VGG16; for weights on this page's own
 * site, its Content-Length (a HEAD request); another site is asked nothing before the
 * visitor agrees, so there the size stays unknown until the download starts.
 */
export async function downloadSize(url) {
  if (url === sources.VGG16_URL) return VGG16_SIZE;
  const unknown = "size unknown until the download starts";
  if (new URL(url).origin !== location.origin) return unknown;
  try {
    const response = await fetch(url, { method: "HEAD" });
    const bytes = Number(response.headers.get("Content-Length"));
    if (!response.ok || !bytes) return unknown;
    return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} KB`;
  } catch {
    return unknown;
  }
}

/** The consent line: what would be downloaded, how much, from where, and the button. */
export function consentLine(link, size, onAccept) {
  return [
    `This link asks for ${link.name}, ${size}, from ${new URL(link.url).host}. Nothing is downloaded until you press `,
    el("button", { type: "button", textContent: "Download and load", on: { click: onAccept } }),
  ];
}

/** The view area while the link's model waits: what waits and why nothing else is shown. */
export function waitingPanel(link, size, viewTitle) {
  return el("div", { className: "waiting", dataset: { testid: "waiting" } }, [
    el("h2", {}, `Waiting for ${link.name}`),
    el("p", {}, `This link shows ${viewTitle} for ${link.name}, whose weights (${size}) come from ${new URL(link.url).host}. They are downloaded only when you press "Download and load" above.`),
    el("p", { className: "hint" }, [
      "No view is drawn until then: the page's own model would answer in its place, and its result would not be this model's.",
      // Embedded (?embed=1) the page has no side bar.
      el("span", { className: "side-bar-only" }, " Or pick another model in the side bar."),
    ]),
  ]);
}
