// Model.attribute in Node: the built wasm module (dist/pkg) against reference numbers
// from the shared fixtures (tests/wasm/tiny_gradcam.json, read from tiny_dev.npz case 0
// once; see its provenance): Grad-CAM's raw map and occlusion's drops for the tiny
// synthetic model, every method's display map, progress and the errors a page can cause.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../support/paths.mjs";
import { loadPkgAndImage } from "../support/pkg.mjs";

const ref = JSON.parse(readFileSync(path.join(ROOT, "tests", "wasm", "tiny_gradcam.json"), "utf8"));
// The fixture's values and shape, and the same in wasm memory (as the worker keeps it).
const { pkg, values, shape, input } = await loadPkgAndImage();
const { Input } = pkg;
const model = pkg.Model.synthetic(ref.arch, ref.seed);

/** max |ours - want| relative to the largest |want| (METHODS.md's measure). */
function relError(ours, want) {
  assert.equal(ours.length, want.length, "length");
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return Array.from(ours).reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0) / scale;
}

test("grad-cam matches pytorch-grad-cam's raw map at features.7 (case 0, target 9) to 1e-3", () => {
  const r = model.attribute("grad-cam", input, ref.target, { layer: ref.layer });
  assert.equal(r.method, "grad-cam");
  assert.equal(r.class, ref.target);
  assert.equal(r.layer, "features.7");
  assert.deepEqual(r.rawShape, ref.shape);
  assert.ok(r.raw instanceof Float32Array);
  const err = relError(r.raw, ref.gradcam_raw);
  assert.ok(err <= 1e-3, `relative error ${err}`);
  assert.equal(r.width, 32);
  assert.equal(r.height, 32);
  assert.equal(r.display.length, 32 * 32);
});

test("occlusion 4x4 matches captum's logit drops and gives the probability views", () => {
  const calls = [];
  const r = model.attribute("occlusion", input, ref.target, { window: 4, stride: 4 }, (done, total) => {
    calls.push([done, total]);
    return true;
  });
  // 0 before, each batch of occluded copies (one batch here) below 1, 1 at the end.
  assert.deepEqual(calls, [[0, 1], [0, 1], [1, 1]]);
  assert.deepEqual([r.rows, r.cols], ref.occlusion.shape);
  assert.deepEqual(r.rawShape, ref.occlusion.shape);
  const err = relError(r.grid, ref.occlusion.logit);
  assert.ok(err <= 1e-3, `relative error ${err}`);
  assert.equal(r.probs.length, r.rows * r.cols);
  assert.ok(r.baseProb > 0 && r.baseProb < 1);
  // The mask is 1 exactly over the windows whose relative probability is below 0.85
  // (windows do not overlap with stride = window).
  for (let i = 0; i < r.rows * r.cols; i++) {
    const [y, x] = [Math.floor(i / r.cols) * 4, (i % r.cols) * 4];
    assert.equal(r.mask[y * 32 + x], r.probs[i] < 0.85 ? 1 : 0, `window ${i}`);
  }
});

test("every method answers a 32x32 display map in [0, 1] for the top class", () => {
  const methods = ["saliency", "guided-backprop", "smoothgrad", "integrated-gradients", "grad-cam", "grad-cam++", "score-cam", "guided-grad-cam", "occlusion"];
  const options = { smoothgrad: { samples: 4, seed: 1 }, "integrated-gradients": { steps: 8 } };
  const top = model.predict(input, 1)[0].class;
  for (const method of methods) {
    const r = model.attribute(method, input, undefined, options[method] ?? {});
    assert.equal(r.class, top, method);
    assert.equal(r.display.length, 32 * 32, method);
    const max = Math.max(...r.display);
    assert.ok(r.display.every((v) => v >= 0 && v <= 1) && max > 0, `${method}: display in [0, 1], not blank`);
    const size = r.rawShape.reduce((a, b) => a * b, 1);
    assert.equal(r.raw.length, size, method);
    if (["saliency", "guided-backprop", "smoothgrad", "integrated-gradients", "guided-grad-cam"].includes(method)) assert.deepEqual(r.rawShape, [3, 32, 32], method);
    if (method.includes("cam") && method !== "guided-grad-cam") assert.deepEqual(r.rawShape, [8, 8], `${method} at the default layer features.7, the last ReLU`);
  }
});

test("smoothgrad with the same seed gives the same map, another seed another", () => {
  const a = model.attribute("smoothgrad", input, 9, { samples: 3, seed: 5 });
  const b = model.attribute("smoothgrad", input, 9, { samples: 3, seed: 5 });
  const c = model.attribute("smoothgrad", input, 9, { samples: 3, seed: 6 });
  assert.deepEqual(a.raw, b.raw);
  assert.notDeepEqual(a.raw, c.raw);
});

test("a progress callback answering false stops the run", () => {
  assert.throws(() => model.attribute("score-cam", input, 9, {}, () => false), /cancelled/);
  assert.throws(() => model.attribute("saliency", input, 9, {}, () => { throw new Error("boom"); }), /progress callback threw: boom/);
});

test("bad methods and options are refused with their message", () => {
  const cases = [
    [["nope", {}], /unknown method `nope`/],
    [["grad-cam", { steps: 4 }], /option --steps does not apply to grad-cam/],
    [["saliency", { colour: 1 }], /unknown field `colour`/],
    [["occlusion", { score: "loss" }], /unknown occlusion score `loss`/],
    [["occlusion", { window: 40 }], /window 40 is larger than the 32x32 input/],
    [["grad-cam", { layer: "classifier.0" }], /no spatial map/],
    [["grad-cam", { layer: "features.99" }], /features\.99/],
    [["smoothgrad", { samples: "many" }], /attribute options/],
  ];
  for (const [[method, options], message] of cases) {
    assert.throws(() => model.attribute(method, input, 9, options), message, `${method} ${JSON.stringify(options)}`);
  }
  assert.throws(() => model.attribute("saliency", input, 10, {}), /target class 10 is out of range/);
  assert.throws(() => new Input(values.subarray(1), shape), /needs 3072 values/);
  // The module still works afterwards.
  assert.equal(model.attribute("saliency", input, 9, {}).class, 9);
});
