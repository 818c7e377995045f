// Models a visitor brings as files, through the built wasm module (dist/pkg) in Node:
// ONNX files (Model.fromOnnx) against PyTorch's float64 references on astronaut32.npy
// (crate/tests/fixtures/onnx/references.npz, the tolerance crate/tests/onnx.rs uses),
// with their external data, a card and the page's preprocessing choice; Keras' VGG
// weights (Model.fromCard) with Keras' "caffe" preprocessing chosen for them and
// Keras' own logits; and each refusal as a readable Error that leaves the module usable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { readNpy } from "../support/npy.mjs";
import { readNpz } from "../support/npz.mjs";
import { onnxModel, freeSizeModel } from "../support/onnxproto.mjs";
import { ROOT } from "../support/paths.mjs";
import { loadPkgAndImage } from "../support/pkg.mjs";

const ONNX = path.join(ROOT, "crate", "tests", "fixtures", "onnx");
const KERAS = path.join(ROOT, "crate", "tests", "fixtures", "keras");
// crate/tests/keras.rs's MINI: the architecture of the mini Keras fixtures.
const MINI = "cfg=4,4,M,8,M;in=3;pool=2;hidden=8;classes=5";

// The fixture image in wasm memory, as the worker keeps its prepared image.
const { pkg, input } = await loadPkgAndImage();
const { Model, FileBytes, Input } = pkg;
const refs = readNpz(path.join(ONNX, "references.npz"));

const bytes = (file) => new Uint8Array(readFileSync(file));
/** `data` in wasm memory, as the worker streams a file there (www/readfile.js), in two pieces. */
function wasmBytes(data) {
  const sink = new FileBytes(data.length);
  sink.push(data.subarray(0, data.length >> 1));
  sink.push(data.subarray(data.length >> 1));
  return sink;
}
const maxAbs = (values) => values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

function assertClose(ours, want, rel, what) {
  assert.equal(ours.length, want.length, `${what}: length`);
  const err = maxAbs(Array.from(ours, (v, i) => v - want[i]));
  const tol = rel * maxAbs(Array.from(want));
  assert.ok(err <= tol, `${what}: max |ours - ref| = ${err.toExponential(3)} > ${tol.toExponential(3)}`);
}

/** Model.fromOnnx for a fixture; answers {model, notes, ...}. */
function onnx(name, { data, card, preprocessing } = {}) {
  const file = `${name}.onnx`;
  return Model.fromOnnx(wasmBytes(bytes(path.join(ONNX, file))), file, data && `${file}.data`, data ? wasmBytes(bytes(path.join(ONNX, `${file}.data`))) : undefined, card, preprocessing);
}

test("tiny_resnet.onnx gives PyTorch's logits, with the page's default preprocessing stated in its card", () => {
  const { model, notes, preprocessingFromCard, labelsFromCard } = onnx("tiny_resnet");
  try {
    assertClose(model.logits(input), refs.get("tiny_resnet__logits").data, 1e-4, "tiny_resnet logits");
    assert.deepEqual(notes, []);
    assert.equal(preprocessingFromCard, false);
    assert.equal(labelsFromCard, false);
    const card = model.card();
    assert.equal(card.preprocessing.kind, "torchvision");
    assert.deepEqual(card.preprocessing.mean.map((v) => +v.toFixed(3)), [0.485, 0.456, 0.406]);
    assert.equal(model.inputSize, 32);
    assert.equal(model.classes, 10);
    // Grad-CAM's default layer is a layer of the model (the views ask for it by name).
    assert.ok(model.layerNames().includes(model.camLayer), model.camLayer);
  } finally {
    model.free();
  }
});

test("tiny_densenet.onnx reads its weights from the .onnx.data given with it; without it, the file is named", () => {
  const { model } = onnx("tiny_densenet", { data: true });
  try {
    assertClose(model.logits(input), refs.get("tiny_densenet__logits").data, 1e-4, "tiny_densenet logits");
  } finally {
    model.free();
  }
  assert.throws(() => onnx("tiny_densenet"), /external file tiny_densenet\.onnx\.data: choose that file together with the \.onnx/);
  // The wrong data file (another's bytes): a message, not a trap.
  const file = "tiny_densenet.onnx";
  assert.throws(
    () => Model.fromOnnx(wasmBytes(bytes(path.join(ONNX, file))), file, "x.data", wasmBytes(new Uint8Array(100)), undefined, undefined),
    (err) => err instanceof Error && !(err instanceof WebAssembly.RuntimeError) && /truncated or the wrong file|bytes/.test(err.message),
  );
});

test("a card beside the model gives its name, labels and preprocessing; the page's choice applies only without one", () => {
  const labels = Array.from({ length: 10 }, (_, i) => `thing ${i}`);
  const card = JSON.stringify({ name: "My ResNet", labels, preprocessing: { kind: "scale", size: 32, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } });
  const a = onnx("tiny_resnet", { card, preprocessing: "caffe" });
  try {
    assert.equal(a.preprocessingFromCard, true);
    assert.equal(a.labelsFromCard, true);
    assert.equal(a.model.card().name, "My ResNet");
    assert.equal(a.model.card().preprocessing.kind, "scale");
    const top = a.model.predict(input, 1)[0];
    assert.equal(top.label, labels[top.class]);
    assert.equal(top.class, refs.get("tiny_resnet__target").data[0]);
  } finally {
    a.model.free();
  }
  const b = onnx("tiny_resnet", { preprocessing: "caffe" });
  try {
    assert.deepEqual(b.model.card().preprocessing, { kind: "caffe", size: 32 });
  } finally {
    b.model.free();
  }
  const c = onnx("tiny_resnet", { preprocessing: "scale" });
  try {
    assert.deepEqual(c.model.card().preprocessing, { kind: "scale", size: 32, mean: [0], std: [1] });
  } finally {
    c.model.free();
  }
  assert.throws(() => onnx("tiny_resnet", { preprocessing: "zscore" }), /unknown preprocessing `zscore`/);
  assert.throws(() => onnx("tiny_resnet", { card: JSON.stringify({ labels: ["a", "b"] }) }), /model card: 2 labels for a model with 10 classes/);
  assert.throws(() => onnx("tiny_resnet", { card: "{not json" }), /model card/);
});

test("a file read only in part is named; one that grows while read is refused", () => {
  const whole = bytes(path.join(ONNX, "tiny_resnet.onnx"));
  const part = new FileBytes(whole.length);
  part.push(whole.subarray(0, 1000));
  assert.throws(() => Model.fromOnnx(part, "tiny_resnet.onnx", undefined, undefined, undefined, undefined), new RegExp(`tiny_resnet\\.onnx: only 1000 of its ${whole.length} bytes could be read`));
  const small = new FileBytes(10);
  assert.throws(() => small.push(new Uint8Array(11)), /the file grew while it was read/);
  small.free();
});

test("a truncated or empty .onnx is a readable error, and the module keeps working", () => {
  const whole = bytes(path.join(ONNX, "tiny_resnet.onnx"));
  for (const [what, part] of [["half", whole.subarray(0, whole.length >> 1)], ["empty", new Uint8Array(0)], ["garbage", new Uint8Array([8, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1])]]) {
    assert.throws(
      () => Model.fromOnnx(wasmBytes(part), "broken.onnx", undefined, undefined, undefined, undefined),
      (err) => err instanceof Error && !(err instanceof WebAssembly.RuntimeError) && /onnx|ONNX/.test(err.message),
      what,
    );
  }
  const { model } = onnx("tiny_resnet");
  try {
    assertClose(model.logits(input), refs.get("tiny_resnet__logits").data, 1e-4, "after the errors");
  } finally {
    model.free();
  }
});

test("an unsupported operator and a second input are refused by name; a free input size is a note", () => {
  const refused = [
    [onnxModel({ inputs: [["x", [1, 3, 8, 8]]], outputs: [["y", [1, 3, 8, 8]]], nodes: [{ op: "Softplus", inputs: ["x"], outputs: ["y"], name: "soft" }] }), /operator Softplus \(node `soft`\) is not supported; the engine runs Add, /],
    [onnxModel({ inputs: [["a", [1, 3, 8, 8]], ["b", [1, 3, 8, 8]]], outputs: [["y", [1, 3, 8, 8]]], nodes: [{ op: "Add", inputs: ["a", "b"], outputs: ["y"] }] }), /the graph has 2 inputs \(`a`, `b`\); the engine runs models with one image input/],
  ];
  for (const [model, message] of refused) {
    assert.throws(() => Model.fromOnnx(wasmBytes(model), "made.onnx", undefined, undefined, undefined, undefined), message);
  }
  const free = freeSizeModel();
  const { model, notes } = Model.fromOnnx(wasmBytes(free), "free.onnx", undefined, undefined, undefined, undefined);
  try {
    assert.deepEqual(notes, ["the input `x` leaves its size free ([1, 3, H, W]); shapes are checked at 224x224"]);
    assert.equal(model.inputSize, 224);
    assert.deepEqual(model.layerNames(), ["relu", "pool", "flat"]);
  } finally {
    model.free();
  }
});

test("Keras' mini VGG (.weights.h5, .keras, Keras 2 .h5) loads with \"caffe\" chosen and gives Keras' logits", () => {
  const x = readNpy(path.join(KERAS, "mini_input.npy"));
  const want = readNpy(path.join(KERAS, "mini_keras_logits.npy")).data;
  for (const file of ["mini.weights.h5", "mini.keras", "mini_keras2.h5"]) {
    const model = Model.fromCard(JSON.stringify({ name: file, arch: MINI, weights: file }), bytes(path.join(KERAS, file)));
    try {
      assert.equal(model.card().preprocessing.kind, "caffe", file);
      assertClose(model.logits(new Input(Float32Array.from(x.data), Uint32Array.from(x.shape))), want, 1e-4, file);
    } finally {
      model.free();
    }
  }
  // A card's own preprocessing wins; safetensors weights keep the architecture's default.
  const pre = { kind: "scale", size: 8, mean: [0], std: [1] };
  const carded = Model.fromCard(JSON.stringify({ name: "m", arch: MINI, weights: "w", preprocessing: pre }), bytes(path.join(KERAS, "mini.weights.h5")));
  assert.equal(carded.card().preprocessing.kind, "scale");
  carded.free();
  const plain = Model.fromCard(JSON.stringify({ name: "m", arch: MINI, weights: "w" }), bytes(path.join(KERAS, "mini.safetensors")));
  assert.equal(plain.card().preprocessing.kind, "torchvision");
  plain.free();
});
