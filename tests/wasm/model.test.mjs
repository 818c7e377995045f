// The built wasm module (dist/pkg, made by scripts/build-web.sh) in Node: the tiny
// synthetic model must reproduce the PyTorch float64 reference logits, and bad input
// must throw a readable Error without breaking the module.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { readNpy } from "../support/npy.mjs";
import { PKG_JS, PKG_WASM, INPUT_NPY, TINY_REF } from "../support/paths.mjs";

const ref = JSON.parse(readFileSync(TINY_REF, "utf8"));
let Model;
let input;

before(async () => {
  assert.ok(existsSync(PKG_JS) && existsSync(PKG_WASM), `${PKG_JS} is missing: run scripts/build-web.sh first`);
  const pkg = await import(pathToFileURL(PKG_JS).href);
  pkg.initSync({ module: readFileSync(PKG_WASM) });
  Model = pkg.Model;
  const npy = readNpy(INPUT_NPY);
  assert.deepEqual(npy.shape, ref.shape);
  input = Float32Array.from(npy.data);
});

function maxAbs(values) {
  return values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

function assertClose(ours, want, rel, what) {
  assert.equal(ours.length, want.length, `${what}: length`);
  const err = maxAbs(Array.from(ours, (v, i) => v - want[i]));
  const tol = rel * maxAbs(want);
  assert.ok(err <= tol, `${what}: max |ours - ref| = ${err.toExponential(3)} > ${tol.toExponential(3)}\nours ${Array.from(ours)}\nref  ${want}`);
}

test("tiny synthetic model reproduces the reference logits", () => {
  const model = Model.synthetic(ref.arch, ref.seed);
  try {
    const logits = model.logits(input, ref.shape);
    assert.ok(logits instanceof Float32Array);
    assertClose(logits, ref.logits, 1e-4, "logits");
  } finally {
    model.free();
  }
});

test("the built-in name tiny is the same model (the page uses it)", () => {
  const model = Model.synthetic("tiny", ref.seed);
  try {
    assert.equal(model.inputSize, 32);
    assertClose(model.logits(input, ref.shape), ref.logits, 1e-4, "tiny logits");
  } finally {
    model.free();
  }
});

test("predict gives the reference top classes and probabilities", () => {
  const model = Model.synthetic(ref.arch, ref.seed);
  try {
    const top = model.predict(input, ref.shape, 5);
    assert.equal(top.length, 5);
    const order = ref.probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 5);
    for (const [j, p] of top.entries()) {
      assert.deepEqual(Object.keys(p).sort(), ["class", "label", "logit", "prob"]);
      assert.equal(p.class, order[j][1], `rank ${j + 1} class`);
      assert.ok(Math.abs(p.prob - order[j][0]) <= 1e-4, `rank ${j + 1} prob ${p.prob} vs ${order[j][0]}`);
      assert.equal(typeof p.label, "string");
    }
  } finally {
    model.free();
  }
});

test("layer activations match the reference channel means", () => {
  const model = Model.synthetic(ref.arch, ref.seed);
  try {
    const names = model.layerNames();
    for (const [layer, want] of Object.entries(ref.feat_mean)) {
      assert.ok(names.includes(layer), `layer ${layer} not in ${names}`);
      const act = model.activations(input, ref.shape, layer);
      const channels = want.length;
      assert.equal(act.length % channels, 0, `${layer}: ${act.length} values for ${channels} channels`);
      const plane = act.length / channels;
      const means = want.map((_, c) => act.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane);
      assertClose(means, want, 1e-4, `${layer} channel means`);
    }
  } finally {
    model.free();
  }
});

test("summary describes the model's layers", () => {
  const model = Model.synthetic(ref.arch, ref.seed);
  try {
    const summary = model.summary();
    assert.equal(typeof summary, "object");
    assert.ok(!(summary instanceof Map), "summary must be a plain object");
    assert.equal(model.classes, 10);
    assert.equal(model.inChannels, 3);
    assert.equal(model.inputSize, 32);
    const text = JSON.stringify(summary);
    for (const name of model.layerNames()) assert.ok(text.includes(`"${name}"`), `summary lacks layer ${name}`);
  } finally {
    model.free();
  }
});

test("bad weights throw a readable Error and the module keeps working", () => {
  const junk = new Uint8Array([7, 1, 99, 42, 0, 13, 255, 8]);
  assert.throws(() => Model.load(ref.arch, junk), (err) => {
    assert.ok(err instanceof Error, `threw ${err}`);
    assert.match(err.message, /weights/i);
    return true;
  });
  assert.throws(() => Model.synthetic("not-an-arch", 1), (err) => err instanceof Error && err.message.length > 0);
  const model = Model.synthetic(ref.arch, ref.seed);
  try {
    assert.throws(() => model.logits(input.subarray(0, 10), ref.shape), /input/i);
    assert.throws(() => model.activations(input, ref.shape, "features.99"), /features\.99/);
    const top = model.predict(input, ref.shape, 3);
    assert.equal(top.length, 3);
    assert.ok(top.every((p) => p.prob > 0 && p.prob <= 1));
  } finally {
    model.free();
  }
});
