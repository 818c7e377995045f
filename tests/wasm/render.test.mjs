// The renderer's wasm face in Node (wasm/render.rs): the colormaps the page offers, their
// tables, and the heatmaps, overlays, masks, tile grids and saved picture it gets, checked
// against hand computations.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { loadPkg } from "../support/pkg.mjs";

let core;

before(async () => {
  core = await loadPkg();
});

const rgb = (rgba, i) => [...rgba.subarray(4 * i, 4 * i + 3)];

test("the page's choices are the core's: six colormaps, jet and 0.5 by default", () => {
  assert.deepEqual(core.renderChoices(), {
    colormaps: ["jet", "turbo", "viridis", "inferno", "magma", "gray"],
    colormap: "jet",
    opacity: 0.5,
  });
});

test("colour tables run from the first entry to the last", () => {
  for (const name of core.renderChoices().colormaps) assert.equal(core.colormapStrip(name).length, 256 * 4, name);
  const gray = core.colormapStrip("gray");
  assert.deepEqual(rgb(gray, 0), [0, 0, 0]);
  assert.deepEqual(rgb(gray, 255), [255, 255, 255]);
  assert.deepEqual(rgb(gray, 128), [128, 128, 128]);
  assert.deepEqual(rgb(core.colormapStrip("viridis"), 0), [0x44, 0x01, 0x54]);
  assert.deepEqual(rgb(core.colormapStrip("viridis"), 255), [0xfd, 0xe7, 0x25]);
  // matplotlib's magma, not an approximation: entry 127 is (0.709962, 0.212797, 0.477201).
  assert.deepEqual(rgb(core.colormapStrip("magma"), 127), [181, 54, 122]);
  // A grid takes the nearest entry: 0.5 is 128, 7 is clamped to 255, NaN is 0.
  const grid = core.tileGrid(Float32Array.from([0.5, 7, NaN]), Uint32Array.from([3, 1, 1, 1]), { scaling: "none", gap: 0, colormap: "gray" });
  assert.deepEqual([0, 1, 2].map((i) => grid.rgba[4 * i]), [128, 255, 0]);
  assert.throws(() => core.colormapStrip("rainbow"), /unknown colormap `rainbow`/);
});

test("heatmaps and overlays are show_cam_on_image's pixels", () => {
  // Heatmaps take entry floor(255 v): 0.5 -> 127; NaN (no value) is white.
  assert.deepEqual([...core.heatmap(Float32Array.from([0.5, NaN]), 2, 1, "gray")], [127, 127, 127, 255, 255, 255, 255, 255]);
  // A white pixel under jet's top colour [128, 0, 0] at alpha 0.5: [0.751, 0.5, 0.5],
  // divided by its maximum -> [255, 169, 169].
  const white = Uint8Array.from([255, 255, 255, 255]);
  assert.deepEqual([...core.overlay(white, 1, 1, Float32Array.from([1]), 1, 1, "jet", 0.5)], [255, 169, 169, 255]);
  // A 1x2 map over a black 1x4 picture is stretched bilinearly first: [0, .25, .75, 1].
  const black = new Uint8Array(16).fill(0);
  const stretched = core.overlay(black, 4, 1, Float32Array.from([0, 1]), 2, 1, "gray", 1);
  assert.deepEqual([0, 1, 2, 3].map((i) => stretched[4 * i]), [0, 63, 191, 255]);
  assert.throws(() => core.overlay(white, 1, 1, Float32Array.from([1]), 1, 1, "jet", 1.5), /overlay alpha must be in \[0, 1\], got 1\.5/);
  assert.throws(() => core.overlay(white, 2, 1, Float32Array.from([1, 1]), 2, 1, "jet", 0.5), /the picture has 4 bytes, not 2x1 RGBA/);
});

test("the occlusion mask dims the pixels outside it to 0.3", () => {
  const picture = Uint8Array.from([200, 100, 40, 255, 200, 100, 40, 255]);
  assert.deepEqual([...core.maskPicture(picture, 2, 1, Float32Array.from([1, 0]))], [200, 100, 40, 255, 60, 30, 12, 255]);
});

test("the saved picture is the CLI's: enlarged to 224 px with the colour bar beside it", () => {
  const picture = new Uint8Array(28 * 28 * 4).fill(255);
  const png = core.explanationPng(picture, 28, 28, new Float32Array(28 * 28).fill(0.5), "jet", 0.5, false);
  const view = new DataView(png.buffer, png.byteOffset);
  assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(""), "PNG");
  // IHDR: 28 x 8 = 224 wide plus the bar (6 + 16 + 6), 224 high.
  assert.deepEqual([view.getUint32(16), view.getUint32(20)], [224 + 28, 224]);
  const mask = core.explanationPng(picture, 28, 28, new Float32Array(28 * 28), "jet", 0.5, true);
  assert.deepEqual([new DataView(mask.buffer, mask.byteOffset).getUint32(16)], [224], "a mask has no bar");
});

test("tile grids pack maps, scaled per tile or shared, and lay one over the picture", () => {
  // Two 1x2 maps [0, 2] and [1, 5], 1 pixel apart on a transparent ground.
  const values = Float32Array.from([0, 2, 1, 5]);
  const shape = Uint32Array.from([2, 1, 1, 2]);
  const grid = core.tileGrid(values, shape, { colormap: "gray", scaling: "channel", gap: 1, background: [0, 0, 0, 0] });
  assert.deepEqual([grid.width, grid.height], [2, 3]); // ceil(sqrt(2 * 1 / 2)) = 1 column
  assert.deepEqual(grid.layout, { columns: 1, zoom: 1, gap: 1, margin: 0, background: [0, 0, 0, 0] });
  assert.deepEqual([...grid.rgba], [0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255]);
  assert.deepEqual(grid.tiles.map((t) => [t.lo, t.hi, t.mean]), [[0, 2, 1], [1, 5, 3]]);
  // Shared: one range 0..5, so 2 is 0.4 -> level 102.
  const shared = core.tileGrid(values, shape, { colormap: "gray", scaling: "shared" });
  assert.equal(shared.rgba[4], 102);
  // Tile 1 over a black 1x4 picture at opacity 1: scaled [0, 1], stretched, in gray.
  const over = core.tileOverlay(values, shape, { colormap: "gray" }, 1, new Uint8Array(16), 4, 1, 1);
  assert.deepEqual([0, 1, 2, 3].map((i) => over[4 * i]), [0, 63, 191, 255]);
  assert.throws(() => core.tileGrid(values, Uint32Array.from([2, 1, 2]), {}), /tiles: shape must be \[count, channels, height, width\]/);
  assert.throws(() => core.tileGrid(values, shape, { scaling: "loud" }), /scaling "loud" is not one of "channel", "shared"/);
  assert.throws(() => core.tileOverlay(values, shape, {}, 2, new Uint8Array(16), 4, 1, 1), /tile 2 is out of range/);
});
