// The 3D view's choice of layers and their layout (www/layers3d/graph.js, layout.js) on
// the summaries the core gives for each family (synthetic weights; no browser needed):
// chains stay on one line, ResNet's downsamples and the squeeze-and-excitation gates of
// EfficientNet and MobileNetV3 sit in a lane below the main path beside their block,
// DenseNet's concatenations join every earlier layer of their block, and every drawn
// layer reads only layers drawn before it.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { ROOT } from "../support/paths.mjs";
import { loadPkg } from "../support/pkg.mjs";

const { shownLayers } = await import(pathToFileURL(`${ROOT}/www/layers3d/graph.js`).href);
const { layoutLayers } = await import(pathToFileURL(`${ROOT}/www/layers3d/layout.js`).href);

let pkg;
before(async () => {
  pkg = await loadPkg();
});

/** The drawn layers of `arch` (the input first, as the view does) and their layout. */
function laid(arch) {
  const model = pkg.Model.synthetic(arch, 0);
  const summary = model.summary();
  model.free?.();
  const drawn = [{ name: "input", shape: summary.input_shape }, ...shownLayers(summary).map((l) => ({ ...l, shape: l.output_shape }))];
  const { nodes } = layoutLayers(drawn);
  const names = new Set(summary.layers.map((l) => l.name));
  drawn.forEach((l, i) => {
    if (i > 0) assert.ok(names.has(l.name), `${arch}: ${l.name} is not a node of the summary`);
    for (const j of nodes[i].preds) assert.ok(j < i, `${arch}: ${l.name} reads a later layer`);
    if (i > 0) assert.equal(nodes[i].preds.length, l.inputs.length, `${arch}: ${l.name} lost an input`);
  });
  assert.ok(nodes[0].main && nodes[nodes.length - 1].main, `${arch}: the ends are off the main path`);
  return { drawn, nodes, summary };
}

test("a chain (vgg16) stays one line of slabs", () => {
  const { nodes } = laid("vgg16");
  assert.ok(nodes.every((n, i) => n.main && n.lane === 0 && n.column === i));
});

test("resnet50: the four downsamples beside the main path, each block's output a join", () => {
  const { drawn, nodes } = laid("resnet50");
  const off = drawn.filter((_, i) => !nodes[i].main).map((l) => l.name);
  assert.deepEqual(off, ["layer1.0.downsample", "layer2.0.downsample", "layer3.0.downsample", "layer4.0.downsample"]);
  assert.ok(off.every((name) => nodes[drawn.findIndex((l) => l.name === name)].lane < 0));
  const blocks = drawn.filter((l, i) => nodes[i].preds.length === 2).map((l) => l.title);
  assert.equal(blocks.length, 16, blocks.join(", "));
  assert.ok(blocks.every((t) => /^layer\d\.\d+$/.test(t)), blocks.join(", "));
});

for (const arch of ["efficientnet_b0", "mobilenet_v3_small"]) {
  test(`${arch}: each squeeze-and-excitation in a lane below, beside its block, joined by a mul`, () => {
    const { drawn, nodes } = laid(arch);
    const muls = drawn.map((l, i) => i).filter((i) => drawn[i].type === "mul");
    assert.ok(muls.length >= 3, `${arch}: ${muls.length} squeeze-and-excitation joins`);
    for (const m of muls) {
      assert.ok(nodes[m].main, `${drawn[m].name} is off the main path`);
      const [mapIn, gate] = nodes[m].preds;
      assert.ok(nodes[mapIn].main && !nodes[gate].main && nodes[gate].lane < 0, `${drawn[m].name}: the gate is not beside the block`);
      assert.deepEqual(drawn[gate].shape.slice(1), [1, 1], `${drawn[m].name}: the branch is not the 1x1 gate`);
    }
  });
}

test("densenet121: each concatenation joins the block's input and every layer before it", () => {
  const { drawn, nodes } = laid("densenet121");
  const cat = drawn.findIndex((l) => l.name === "features.denseblock1.denselayer6.cat");
  assert.ok(cat > 0, "no concatenation before denselayer6");
  assert.equal(nodes[cat].preds.length, 6);
  assert.deepEqual(nodes[cat].preds.slice(1).map((j) => drawn[j].name), [1, 2, 3, 4, 5].map((k) => `features.denseblock1.denselayer${k}`));
  assert.ok(nodes.every((n) => n.main), "a DenseNet has no side branch: its skips run along the main path");
});
