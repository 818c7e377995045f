// Models a visitor brings as files (the side bar's weights picker or a drop): which files
// make an ONNX model (the .onnx, its external-data file, a model card), how the worker
// gets them, and the line under the model's name that says what the page understood:
// where the model came from, its input, the preprocessing in use and where that came
// from. An ONNX model without a card gets the page's preprocessing choice (a select),
// since nothing in the file says how its pictures were normalised.

const $ = (id) => document.getElementById(id);
const lower = (f) => f.name.toLowerCase();

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/**
 * The model source for `files` if they hold an ONNX model (a `kind: "file"` source with
 * `format: "onnx"`, so the address and the model list treat it as any file), else null
 * (weights for an architecture: the page's usual path). Throws, naming the problem, for
 * a set of files that cannot make one model.
 */
export async function onnxSource(files, preprocessing) {
  const onnx = files.filter((f) => lower(f).endsWith(".onnx"));
  const data = files.filter((f) => lower(f).endsWith(".data"));
  const cards = files.filter((f) => lower(f).endsWith(".json"));
  if (!onnx.length) {
    if (data.length) throw new Error(`${data[0].name} is an ONNX external-data file: choose it together with its .onnx file`);
    return null;
  }
  if (onnx.length > 1) throw new Error(`one ONNX model at a time: ${onnx.map((f) => f.name).join(", ")} were chosen together`);
  const others = files.filter((f) => !onnx.includes(f) && !data.includes(f) && !cards.includes(f));
  if (others.length) throw new Error(`${others[0].name} does not belong with an ONNX model (choose the .onnx, its .data file and a model card .json)`);
  if (data.length > 1) throw new Error(`one external-data file at most (PyTorch writes one, model.onnx.data), got ${data.map((f) => f.name).join(", ")}`);
  if (cards.length > 1) throw new Error(`one model card at most, got ${cards.map((f) => f.name).join(", ")}`);
  const card = cards[0];
  return {
    kind: "file",
    format: "onnx",
    id: "file",
    name: onnx[0].name,
    file: onnx[0],
    data: data[0],
    cardName: card?.name,
    cardText: card ? await card.text() : undefined,
    preprocessing,
  };
}

/** Loads an ONNX source into the worker; the File objects go as they are (the worker reads them). */
export async function loadOnnx(send, source, onProgress = () => {}) {
  onProgress(NaN, `reading ${source.name}${source.data ? ` and ${source.data.name}` : ""}`);
  return send("loadOnnx", {
    onnx: source.file,
    data: source.data,
    card: source.cardText,
    preprocessing: source.preprocessing,
  });
}

// A card's f32 values as typed (0.286, not 0.28600001335144043).
const numbers = (list) => `[${list.map((v) => Number(v.toPrecision(6))).join(", ")}]`;

/** Preprocessing (the card's resolved object) in words. */
export function describePreprocessing(p) {
  if (!p) return "unknown";
  if (p.kind === "caffe") return `Keras "caffe" (BGR, ImageNet means subtracted on the 0-255 scale, no scaling), ${p.size}×${p.size}`;
  const near = (a, b) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-6);
  const norm = near(p.mean, IMAGENET_MEAN) && near(p.std, IMAGENET_STD)
    ? "ImageNet mean/std"
    : p.mean.every((v) => v === 0) && p.std.every((v) => v === 1)
      ? "pixels scaled to [0, 1]"
      : `(pixels/255 − mean ${numbers(p.mean)}) / std ${numbers(p.std)}`;
  const size = p.kind === "torchvision"
    ? p.resize === p.crop ? `${p.crop}×${p.crop}` : `resized to ${p.resize}, centre-cropped to ${p.crop}×${p.crop}`
    : `resized to ${p.size}×${p.size}`;
  return `${norm}, ${size}`;
}

/** Where the preprocessing of a file's model came from, in words. */
function preprocessingOrigin(source, model) {
  if (model.imported) return model.imported.preprocessingFromCard ? `from the card ${source.cardName}` : "the page's choice: no card with it";
  if (source.cardText && JSON.parse(source.cardText).preprocessing) return `from the card ${source.cardName}`;
  if (model.card.preprocessing?.kind === "caffe") return "chosen for Keras weights";
  return "the architecture's default: no card with it";
}

/** Where a file's model's labels came from. */
function labelsOrigin(source, model) {
  const fromCard = model.imported ? model.imported.labelsFromCard : Boolean(source.cardText && JSON.parse(source.cardText).labels);
  if (fromCard) return "the card's";
  return model.classes === 1000 ? "ImageNet's class names" : `class numbers 0-${model.classes - 1}`;
}

/**
 * Fills the line under the model's name (#model-origin) for a model from the visitor's
 * files: what the files are, its input, the preprocessing in use and where that came from, the labels,
 * and what the reader assumed. For an ONNX model without a card's preprocessing, the
 * select (#preprocessing-row) offers the others; `reload(source)` loads it again with
 * the one chosen.
 */
export function showOrigin(source, model, reload) {
  const line = $("model-origin");
  const row = $("preprocessing-row");
  if (!line || !model) return;
  // Only for a visitor's files: the page's own models are described by their notes, and
  // a taller side bar moves the views (and what tests hover) down.
  line.hidden = source?.kind !== "file" && source?.format !== "onnx";
  row.hidden = true;
  if (line.hidden) return;
  const input = `${model.inChannels}×${model.inputSize}×${model.inputSize} input, ${model.classes} classes`;
  const what = source.format === "onnx"
    ? `ONNX file ${source.name}${source.kind === "url" ? ` from ${new URL(source.url).host}` : ""}${source.data ? ` with its data ${source.data.name}` : ""}${source.cardName ? ` and card ${source.cardName}` : ""}`
    : `Weights file ${source.name} (${model.card.arch}${source.cardName ? `, card ${source.cardName}` : ""})`;
  const pre = `${describePreprocessing(model.card.preprocessing)} (${preprocessingOrigin(source, model)})`;
  const notes = model.imported?.notes?.length ? ` The reader assumed: ${model.imported.notes.join("; ")}.` : "";
  line.textContent = `${what}: ${input}. Preprocessing: ${pre}. Labels: ${labelsOrigin(source, model)}.${notes}`;

  const choosable = source.format === "onnx" && !model.imported?.preprocessingFromCard;
  row.hidden = !choosable;
  if (!choosable) return;
  const select = $("preprocessing-select");
  select.value = source.preprocessing ?? "imagenet";
  select.onchange = () => reload({ ...source, preprocessing: select.value });
}

/** The preprocessing choice for the next ONNX file (the select's value). */
export function preprocessingChoice() {
  return $("preprocessing-select")?.value ?? "imagenet";
}
