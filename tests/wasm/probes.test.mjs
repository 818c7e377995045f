// The feature-visualization bindings in Node: Model.filters draws the kernels so that
// undoing the stated scaling gives the weights back, and Model.maximize raises its
// objective, reports every step, stops when told and repeats itself for a seed.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { safetensors, specString, vggParams } from "../support/safetensors.mjs";
import { loadPkg } from "../support/pkg.mjs";

let Model;
let colormapStrip;

before(async () => {
  const pkg = await loadPkg();
  ({ Model, colormapStrip } = pkg);
});

// Two convolutions: features.0 (8 kernels of 3x3x3) and features.3 (16 of 8x3x3).
const SPEC = { cfg: [8, "M", 16, "M"], inChannels: 3, pool: 1, hidden: 8, classes: 4, size: 16 };

/** A model with seeded weights in [-1, 1), and those weights by name. */
function knownModel(spec = SPEC, seed = 5) {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return (2 * state) / 2 ** 31 - 1;
  };
  const tensors = vggParams(spec).map(([name, shape]) => [name, shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, next)]);
  return { model: Model.load(specString(spec), safetensors(tensors)), weights: Object.fromEntries(tensors.map(([n, s, d]) => [n, { shape: s, data: d }])) };
}

/** The 8-bit level of channel `c` at pixel (x, y) of tile `i`, y/x in kernel cells. */
function levelAt(grid, i, y, x, c, corner = false) {
  const { columns, zoom, gap, margin } = grid.layout;
  const ox = margin + (i % columns) * (grid.tileWidth * zoom + gap);
  const oy = margin + Math.floor(i / columns) * (grid.tileHeight * zoom + gap);
  const d = corner ? zoom - 1 : 0;
  return grid.rgba[4 * ((oy + y * zoom + d) * grid.width + ox + x * zoom + d) + c];
}

/**
 * Every kernel cell of every tile, read back through the tile's stated scaling
 * (raw = lo + level / 255 * (hi - lo)), is the weight to within half a level.
 * `picture` maps (output channel, drawn channel) to the kernel's input channel.
 */
function assertReadsBack(grid, weight, picture, readChannel = (c) => c) {
  const [outs, ins, kh, kw] = weight.shape;
  assert.equal(grid.tiles.length, outs);
  assert.deepEqual([grid.tileHeight, grid.tileWidth], [kh, kw]);
  let worst = 0;
  for (const [i, tile] of grid.tiles.entries()) {
    assert.equal(tile.index, i);
    for (let c = 0; c < grid.channels; c++) {
      const input = picture(c);
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const level = levelAt(grid, i, y, x, readChannel(c));
          assert.equal(levelAt(grid, i, y, x, readChannel(c), true), level, "a zoomed cell is one colour");
          const raw = tile.lo + (level / 255) * (tile.hi - tile.lo);
          const want = weight.data[((i * ins + input) * kh + y) * kw + x];
          const err = Math.abs(raw - want);
          worst = Math.max(worst, err / (tile.hi - tile.lo));
          assert.ok(err <= (tile.hi - tile.lo) / 510 + 1e-6, `tile ${i} channel ${input} (${y},${x}): ${raw} vs ${want}`);
        }
      }
    }
  }
  return worst;
}

test("filters of features.0 give the weights back after undoing the stated scaling", () => {
  const { model, weights } = knownModel();
  try {
    const w = weights["features.0.weight"];
    const grid = model.filters("features.0", {});
    assert.ok(grid.rgba instanceof Uint8ClampedArray);
    assert.equal(grid.rgba.length, 4 * grid.width * grid.height);
    assert.equal(grid.channels, 3);
    assert.equal(grid.scaling, "channel");
    assert.match(grid.caption, /features\.0 filters, RGB = input channels 0,1,2; 8 tiles; per-tile scaling/);
    // Per-tile scaling: each tile's black and white are its own kernel's extremes.
    for (const [i, tile] of grid.tiles.entries()) {
      const kernel = w.data.subarray(i * 27, (i + 1) * 27);
      assert.equal(tile.lo, Math.min(...kernel));
      assert.equal(tile.hi, Math.max(...kernel));
    }
    const worst = assertReadsBack(grid, w, (c) => c);
    assert.ok(worst > 0, "nothing was quantised: the test reads nothing");

    // Shared scaling: one range, the layer's extremes.
    const shared = model.filters("features.0", { scaling: "shared" });
    assert.equal(shared.scaling, "shared");
    for (const tile of shared.tiles) assert.deepEqual([tile.lo, tile.hi], [Math.min(...w.data), Math.max(...w.data)]);
    assertReadsBack(shared, w, (c) => c);
    assert.match(shared.caption, /shared scaling: -?\d\.\d{4}\.\.-?\d\.\d{4} is black\.\.white/);
  } finally {
    model.free();
  }
});

test("deeper filters show one input channel, through the page's colormap", () => {
  const { model, weights } = knownModel();
  try {
    const w = weights["features.3.weight"];
    const gray = model.filters("features.3", { channel: 5 });
    assert.equal(gray.channels, 1);
    assert.match(gray.caption, /features\.3 filters, input channel 5/);
    assertReadsBack(gray, w, () => 5);
    // A colormap by name: every pixel of a tile is the core's table entry at the gray
    // level (the table the page's colour bar shows), so the same levels come out.
    const coloured = model.filters("features.3", { channel: 5, colormap: "viridis" });
    const table = colormapStrip("viridis");
    for (let i = 0; i < gray.tiles.length; i++) {
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 3; x++) {
          const level = levelAt(gray, i, y, x, 0);
          const got = [0, 1, 2].map((c) => levelAt(coloured, i, y, x, c));
          assert.deepEqual(got, [...table.subarray(4 * level, 4 * level + 3)], `tile ${i} (${y},${x}) at gray level ${level}`);
        }
      }
    }
    assert.deepEqual([...table.subarray(0, 3)], [68, 1, 84], "viridis starts at matplotlib's first entry");
    // Without a channel, a layer of 8 input channels shows channel 0.
    assertReadsBack(model.filters("features.3", undefined), w, () => 0);
  } finally {
    model.free();
  }
});

test("filters name what is wrong", () => {
  const { model } = knownModel();
  try {
    assert.throws(() => model.filters("features.1", {}), /`features\.1` is a ReLU layer and has no kernels; the convolutions are features\.0, features\.3/);
    assert.throws(() => model.filters("features.3", { channel: 8 }), /input channel 8 is out of range: `features\.3` has 8 input channel\(s\) \(0\.\.7\)/);
    assert.throws(() => model.filters("features.9", {}), /features\.9/);
    assert.throws(() => model.filters("features.0", { scaling: "loud" }), /scaling "loud" is not one of "channel", "shared"/);
    assert.throws(() => model.filters("features.0", { colormap: "rainbow" }), /filters options: .*unknown colormap `rainbow`; known: jet, turbo, viridis, inferno, magma, gray/);
    assert.throws(() => model.filters("features.0", { chanel: 1 }), /filters options: unknown field `chanel`/);
    assert.equal(model.filters("features.0", {}).tiles.length, 8, "the model still works");
  } finally {
    model.free();
  }
});

// ---- activation maximization ------------------------------------------------

/** The bar: the objective at least doubles, or goes from <= 0 to > 0. */
function assertRaised(what, start, end) {
  assert.ok(start > 0 ? end >= 2 * start : end > 0, `${what}: objective ${start} -> ${end} is not raised enough`);
}

test("maximizeDefaults are the core's for the model: its size up to 128 px", () => {
  const tiny = Model.synthetic("tiny", 3);
  const big = Model.load("cfg=4,M;in=3;pool=1;hidden=4;classes=3;size=224", safetensors(vggParams({ cfg: [4, "M"], inChannels: 3, pool: 1, hidden: 4, classes: 3 }).map(([n, s]) => [n, s, new Float32Array(s.reduce((a, b) => a * b, 1))])));
  try {
    assert.deepEqual(tiny.maximizeDefaults(), { size: 32, steps: 128, lr: Math.fround(0.05), seed: 0, jitter: 2, tv: 0, l2: 0, blurEvery: 0, blurSigma: 0.5, fourier: false });
    assert.equal(big.maximizeDefaults().size, 128);
    assert.equal(big.maximizeDefaults().jitter, 8);
  } finally {
    tiny.free();
    big.free();
  }
});

test("maximizing a class raises its logit, reporting every step with the live picture", () => {
  const model = Model.synthetic("tiny", 3);
  try {
    const calls = [];
    const r = model.maximize({ kind: "class", classes: [3] }, { steps: 40 }, (step, steps, objective, pictures) => {
      assert.ok(objective instanceof Float32Array && pictures instanceof Float32Array);
      assert.equal(objective.length, 1);
      assert.equal(pictures.length, 3 * 32 * 32);
      assert.ok(pictures.every((v) => v >= 0 && v <= 1), "a picture left [0, 1]");
      calls.push([step, steps, objective[0]]);
      return true;
    });
    assert.deepEqual(calls.map(([s, n]) => [s, n]), Array.from({ length: 40 }, (_, i) => [i + 1, 40]));
    assert.equal(r.layer, "classifier.6");
    assert.deepEqual(r.units, [3]);
    assert.deepEqual([r.channels, r.size, r.steps, r.cancelled], [3, 32, 40, false]);
    assert.ok(r.pictures instanceof Float32Array && r.pictures.length === 3 * 32 * 32);
    assertRaised("tiny class 3", r.objectiveStart[0], r.objectiveEnd[0]);
    // The objective reported at the last step (jittered picture) is well above the start.
    assert.ok(calls.at(-1)[2] > calls[0][2], `steps report ${calls[0][2]} -> ${calls.at(-1)[2]}`);
  } finally {
    model.free();
  }
});

test("the same seed gives the same pixels; another seed other pixels", () => {
  const model = Model.synthetic("tiny", 3);
  try {
    const run = (seed, fourier = false) => model.maximize({ kind: "channel", layer: "features.4", channels: [0, 5] }, { steps: 8, seed, fourier }).pictures;
    const a = run(11);
    assert.equal(a.length, 2 * 3 * 32 * 32);
    assert.deepEqual(run(11), a);
    assert.notDeepEqual(run(12), a);
    assert.deepEqual(run(11, true), run(11, true));
  } finally {
    model.free();
  }
});

test("channels of a layer go in one batch, each raised; options change size and steps", () => {
  const model = Model.synthetic("tiny", 3);
  try {
    const r = model.maximize({ kind: "channel", layer: "features.4", channels: [0, 5] }, { size: 16, steps: 30, tv: 0.01, l2: 0.001, blurEvery: 10 });
    assert.deepEqual([r.layer, r.units, r.size, r.steps], ["features.4", [0, 5], 16, 30]);
    assert.equal(r.pictures.length, 2 * 3 * 16 * 16);
    r.units.forEach((u, i) => assertRaised(`features.4 channel ${u}`, r.objectiveStart[i], r.objectiveEnd[i]));
  } finally {
    model.free();
  }
});

test("a callback answering false stops the run, which answers what it has", () => {
  const model = Model.synthetic("tiny", 3);
  try {
    let seen = 0;
    const r = model.maximize({ kind: "class", classes: [1] }, { steps: 50 }, () => ++seen < 3);
    assert.equal(seen, 3);
    assert.deepEqual([r.steps, r.cancelled], [3, true]);
    assert.equal(r.pictures.length, 3 * 32 * 32);
    assert.throws(() => model.maximize({ kind: "class", classes: [1] }, { steps: 5 }, () => {
      throw new Error("boom");
    }), /the progress callback threw: boom/);
  } finally {
    model.free();
  }
});

test("maximize names what is wrong", () => {
  const model = Model.synthetic("tiny", 3);
  try {
    const cases = [
      [{ kind: "class", classes: [10] }, {}, /class 10 is out of range: `classifier\.6` has 10 classes \(0\.\.9\)/],
      [{ kind: "channel", layer: "features.99", channels: [0] }, {}, /features\.99/],
      [{ kind: "channel", layer: "features.4", channels: [16] }, {}, /channel 16 is out of range: `features\.4` has 16 channels/],
      [{ kind: "class", classes: [] }, {}, /at least one class or channel/],
      [{ kind: "neuron", classes: [1] }, {}, /objective: unknown variant `neuron`, expected `class` or `channel`/],
      [undefined, {}, /objective: give \{kind: "class"/],
      [{ kind: "class", classes: [1] }, { size: 4 }, /image size 4 is too small/],
      [{ kind: "class", classes: [1] }, { size: 1000 }, /over the limit of 512 px/],
      [{ kind: "class", classes: [1] }, { lr: -1 }, /learning rate must be a positive number/],
      [{ kind: "class", classes: [1] }, { stpes: 3 }, /maximize options: unknown field `stpes`/],
    ];
    for (const [objective, options, message] of cases) assert.throws(() => model.maximize(objective, options), message);
    assert.equal(model.maximize({ kind: "class", classes: [0] }, { steps: 1 }).steps, 1, "the model still works");
  } finally {
    model.free();
  }
});
