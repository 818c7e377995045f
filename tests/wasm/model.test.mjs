// The built wasm module (dist/pkg, made by scripts/build-web.sh) in Node: the tiny
// synthetic model must reproduce the PyTorch float64 reference logits, and bad input
// must throw a readable Error without breaking the module.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { PKG_JS, TINY_REF } from "../support/paths.mjs";
import { loadPkgAndImage } from "../support/pkg.mjs";

const ref = JSON.parse(readFileSync(TINY_REF, "utf8"));
// The fixture's values, and the same in wasm memory (an Input, as the worker keeps it).
const { pkg, npy, values, input } = await loadPkgAndImage();
const { Model, Input } = pkg;

before(() => assert.deepEqual(npy.shape, ref.shape));

function maxAbs(values) {
  return values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

function assertClose(ours, want, rel, what) {
  assert.equal(ours.length, want.length, `${what}: length`);
  const err = maxAbs(Array.from(ours, (v, i) => v - want[i]));
  const tol = rel * maxAbs(want);
  assert.ok(err <= tol, `${what}: max |ours - ref| = ${err.toExponential(3)} > ${tol.toExponential(3)}\nours ${Array.from(ours)}\nref  ${want}`);
}

/** `use(model)` of the synthetic model `arch` (seed `ref.seed`), freed afterwards. */
async function withModel(arch, use) {
  const model = Model.synthetic(arch, ref.seed);
  try {
    return await use(model);
  } finally {
    model.free();
  }
}

test("tiny synthetic model reproduces the reference logits", () => {
  return withModel(ref.arch, (model) => {
    const logits = model.logits(input);
    assert.ok(logits instanceof Float32Array);
    assertClose(logits, ref.logits, 1e-4, "logits");
  });
});

test("the built-in name tiny is the same model (the page uses it)", () => {
  return withModel("tiny", (model) => {
    assert.equal(model.inputSize, 32);
    assertClose(model.logits(input), ref.logits, 1e-4, "tiny logits");
  });
});

test("predict gives the reference top classes and probabilities", () => {
  return withModel(ref.arch, (model) => {
    const top = model.predict(input, 5);
    assert.equal(top.length, 5);
    const order = ref.probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 5);
    for (const [j, p] of top.entries()) {
      assert.deepEqual(Object.keys(p).sort(), ["class", "label", "logit", "prob"]);
      assert.equal(p.class, order[j][1], `rank ${j + 1} class`);
      assert.ok(Math.abs(p.prob - order[j][0]) <= 1e-4, `rank ${j + 1} prob ${p.prob} vs ${order[j][0]}`);
      assert.equal(typeof p.label, "string");
    }
  });
});

test("layer activations match the reference channel means", () => {
  return withModel(ref.arch, (model) => {
    const names = model.layerNames();
    for (const [layer, want] of Object.entries(ref.feat_mean)) {
      assert.ok(names.includes(layer), `layer ${layer} not in ${names}`);
      const act = model.activations(input, layer);
      const channels = want.length;
      assert.equal(act.length % channels, 0, `${layer}: ${act.length} values for ${channels} channels`);
      const plane = act.length / channels;
      const means = want.map((_, c) => act.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane);
      assertClose(means, want, 1e-4, `${layer} channel means`);
    }
  });
});

test("summary describes the model's layers", () => {
  return withModel(ref.arch, (model) => {
    const summary = model.summary();
    assert.equal(typeof summary, "object");
    assert.ok(!(summary instanceof Map), "summary must be a plain object");
    assert.equal(model.classes, 10);
    assert.equal(model.inChannels, 3);
    assert.equal(model.inputSize, 32);
    const text = JSON.stringify(summary);
    for (const name of model.layerNames()) assert.ok(text.includes(`"${name}"`), `summary lacks layer ${name}`);
  });
});

test("bad weights throw a readable Error and the module keeps working", () => {
  const junk = new Uint8Array([7, 1, 99, 42, 0, 13, 255, 8]);
  assert.throws(() => Model.load(ref.arch, junk), (err) => {
    assert.ok(err instanceof Error, `threw ${err}`);
    assert.match(err.message, /weights/i);
    return true;
  });
  assert.throws(() => Model.synthetic("not-an-arch", 1), (err) => err instanceof Error && err.message.length > 0);
  return withModel(ref.arch, (model) => {
    assert.throws(() => new Input(values.subarray(0, 10), ref.shape), /input: shape \[1, 3, 32, 32\] needs 3072 values, got 10/);
    assert.throws(() => model.activations(input, "features.99"), /features\.99/);
    const top = model.predict(input, 3);
    assert.equal(top.length, 3);
    assert.ok(top.every((p) => p.prob > 0 && p.prob <= 1));
  });
});

// ---- the bindings the page's worker uses ---------------------------------------

test("prepareImage decodes a PNG into the fixture's tensor and the picture the model sees", async () => {
  const { readFileSync: read } = await import("node:fs");
  const { ROOT } = await import("../support/paths.mjs");
  const png = read(`${ROOT}/crate/tests/fixtures/astronaut32.png`);
  return withModel("tiny", (model) => {
    const prepared = model.prepareImage(png);
    assert.deepEqual(Array.from(prepared.shape), [1, 3, 32, 32]);
    // The tensor stays in wasm memory (an Input the worker passes to every request).
    assert.ok(prepared.input instanceof Input);
    assert.deepEqual(Array.from(prepared.input.shape), [1, 3, 32, 32]);
    // A 32x32 picture passes resize/crop untouched, so the tensor is the .npy's.
    assertClose(prepared.input.values(), Array.from(values), 1e-6, "prepared input");
    assertClose(model.logits(prepared.input), model.logits(input), 1e-6, "logits of the prepared input");
    prepared.input.free();
    assert.equal(prepared.width, 32);
    assert.equal(prepared.height, 32);
    assert.ok(prepared.rgba instanceof Uint8ClampedArray);
    assert.equal(prepared.rgba.length, 32 * 32 * 4);
    // Pixel 0's red, recovered from the normalised value: (v * std + mean) * 255.
    assert.equal(prepared.rgba[0], Math.round((values[0] * 0.229 + 0.485) * 255));
    assert.equal(prepared.rgba[3], 255);
    assert.throws(() => model.prepareImage(new Uint8Array([1, 2, 3])), /image: not a PNG, JPEG or WebP/);
  });
});

test("validateCard fills in defaults and names what is wrong", async () => {
  const { validateCard } = await import(pathToFileURL(PKG_JS).href);
  const card = validateCard(JSON.stringify({ name: "t", arch: "tiny", weights: "w.safetensors" }));
  assert.equal(card.labels.length, 10);
  assert.equal(card.labels[0], "class 0");
  assert.equal(card.preprocessing.kind, "torchvision");
  assert.equal(card.preprocessing.crop, 32);
  assert.throws(() => validateCard('{"name":"t","arch":"tiny","weights":"w","labels":["a"]}'), /1 labels for a model with 10 classes/);
  assert.throws(() => validateCard("not json"), /model card/);
});

test("fromCard labels predictions with the card's names", async () => {
  const { safetensors, vggParams } = await import("../support/safetensors.mjs");
  const spec = { cfg: [4, "M"], inChannels: 1, pool: 1, hidden: 4, classes: 3, size: 8 };
  const tensors = vggParams(spec).map(([name, shape]) => [name, shape, new Float32Array(shape.reduce((a, b) => a * b, 1))]);
  // Zero weights, classifier.6 bias 0, 2, 1: the logits are the bias, class 1 wins.
  tensors.find(([n]) => n === "classifier.6.bias")[2].set([0, 2, 1]);
  const card = JSON.stringify({ name: "t", arch: "cfg=4,M;in=1;pool=1;hidden=4;classes=3;size=8", weights: "w", labels: ["cat", "dog", "eel"] });
  const model = Model.fromCard(card, safetensors(tensors));
  try {
    assert.equal(model.inputSize, 8);
    assert.equal(model.inChannels, 1);
    const top = model.predict(new Input(new Float32Array(64), [1, 1, 8, 8]), 3);
    assert.deepEqual(top.map((p) => p.label), ["dog", "eel", "cat"]);
    assert.deepEqual(top.map((p) => p.logit), [2, 1, 0]);
    assert.equal(model.card().name, "t");
  } finally {
    model.free();
  }
  assert.throws(() => Model.fromCard(card, new Uint8Array(16)), /weights/i);
});

test("inspect and weightHistogram describe a layer's parameters", () => {
  return withModel("tiny", (model) => {
    const conv = model.inspect("features.0");
    assert.equal(conv.config.type, "Conv2d");
    assert.equal(conv.config.filters, 8);
    assert.deepEqual(conv.config.input_shape, [3, 32, 32]);
    assert.equal(conv.weights.weight.count, 8 * 3 * 3 * 3);
    assert.deepEqual(conv.weights.bias.shape, [8]);
    const relu = model.inspect("features.1");
    assert.equal(relu.weights, null);
    const hist = model.weightHistogram("features.0", 16);
    assert.equal(hist.weight.counts.length, 16);
    assert.equal(hist.weight.counts.reduce((a, b) => a + b, 0), 216);
    assert.equal(hist.bias.counts.reduce((a, b) => a + b, 0), 8);
    assert.equal(hist.weight.min, conv.weights.weight.min);
    assert.equal(hist.weight.max, conv.weights.weight.max);
    assert.equal(model.weightHistogram("features.1", 16), null);
    assert.throws(() => model.inspect("features.99"), /features\.99/);
  });
});

test("trace returns the asked layers' outputs from one pass, with progress", () => {
  return withModel("tiny", (model) => {
    const calls = [];
    const out = model.trace(input, ["features.4", "features.1"], (done, total) => {
      calls.push([done, total]);
      return true;
    });
    const a4 = model.activations(input, "features.4");
    const a1 = model.activations(input, "features.1");
    assert.equal(out.length, a4.length + a1.length);
    assert.deepEqual(Array.from(out.subarray(0, a4.length)), Array.from(a4));
    assert.deepEqual(Array.from(out.subarray(a4.length)), Array.from(a1));
    // Calls after the nodes up to the deepest asked for (features.4 is node 5 of 5),
    // counting up; a convolution fused with its ReLU reports once, at the ReLU.
    assert.ok(calls.length >= 2, JSON.stringify(calls));
    assert.ok(calls.every(([d, t], i) => t === 5 && (i === 0 || d > calls[i - 1][0])), JSON.stringify(calls));
    assert.deepEqual(calls.at(-1), [5, 5]);
    // A callback answering false stops the pass.
    let seen = 0;
    assert.throws(() => model.trace(input, ["classifier.6"], () => ++seen < 2), /cancelled/);
    assert.equal(seen, 2);
  });
});
