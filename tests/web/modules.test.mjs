// The page's DOM-free modules in Node: the address format, the maximization form's
// channel lists and the comparison grid's order. (The colour tables are the core's:
// tests/wasm/render.test.mjs.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readState, formatState, malformed } from "../../www/urlstate.js";
import { sortRows, isSort } from "../../www/views/scoresort.js";

test("readState parses the issue's parameters and drops malformed ones", () => {
  const s = readState("?model=vgg16&weights=https%3A%2F%2Fx%2Fw.safetensors&image=coffee&view=grad-cam%2B%2B&target=281&layer=features.29&opacity=0.4&embed=1&junk=1");
  assert.deepEqual(s, {
    model: "vgg16",
    weights: "https://x/w.safetensors",
    image: "coffee",
    view: "grad-cam++",
    target: 281,
    layer: "features.29",
    opacity: 0.4,
    embed: true,
  });
  assert.deepEqual(readState("?target=-1&opacity=3&view="), { embed: false });
  assert.deepEqual(readState("?target=1.5"), { embed: false });
  // What was dropped, so the page can say so.
  assert.deepEqual(malformed("?target=-1&opacity=3&view="), { target: "-1", opacity: "3" });
  assert.deepEqual(malformed("?target=2&opacity=0.5"), {});
});

test("formatState round-trips and leaves out defaults", () => {
  const state = { model: "tiny", image: "coffee", view: "features", layer: "features.4", target: 0, colormap: "magma", embed: false };
  const text = formatState(state, { model: "tiny", colormap: "viridis" });
  assert.equal(text, "?image=coffee&view=features&target=0&layer=features.4&colormap=magma");
  assert.deepEqual(readState(text), { image: "coffee", view: "features", target: 0, layer: "features.4", colormap: "magma", embed: false });
  assert.equal(formatState({ view: "3d", embed: true }), "?view=3d&embed=1");
  assert.equal(formatState({}), "");
});

test("the maximization view reads channel lists and ranges", async () => {
  const { parseUnits } = await import("../../www/views/maximize.js");
  assert.deepEqual(parseUnits("3"), [3]);
  assert.deepEqual(parseUnits(" 0-3, 7 ,9-9"), [0, 1, 2, 3, 7, 9]);
  assert.throws(() => parseUnits("3-1"), /the range 3-1 runs backwards/);
  assert.throws(() => parseUnits("a"), /"a" is not a number or a range like 0-7/);
  assert.throws(() => parseUnits(" , "), /at least one channel/);
  // No endless lists: one more than the core's limit of 64 is enough for its message.
  assert.equal(parseUnits("0-100000").length, 65);
});

test("the comparison view's address: sort, sanity flag, two-model mode", () => {
  const s = readState("?view=compare&sort=insertion&sanityscore=1&mode=models&method=occlusion&other=fashion-shortcut");
  assert.deepEqual(s, { view: "compare", mode: "models", sort: "insertion", sanityscore: "1", method: "occlusion", other: "fashion-shortcut", embed: false });
  assert.equal(readState(formatState(s)).sort, "insertion");
  // A flag is "1" or nothing.
  assert.equal(readState("?sanityscore=yes").sanityscore, undefined);
});

test("the comparison grid sorts best first, as convscope compare --sort, keeping ties in order", () => {
  const rows = [
    { method: "a", deletionAuc: 0.3, insertionAuc: 0.1, sanity: null },
    { method: "b", deletionAuc: 0.1, insertionAuc: 0.5, sanity: 0.9 },
    { method: "c", deletionAuc: 0.3, insertionAuc: 0.5, sanity: 0.2 },
  ];
  const order = (by) => sortRows(rows, by).map((r) => r.method);
  assert.deepEqual(order("deletion"), ["b", "a", "c"]);
  assert.deepEqual(order("insertion"), ["b", "c", "a"]);
  // A missing score goes last.
  assert.deepEqual(order("sanity"), ["c", "b", "a"]);
  assert.deepEqual(order("method"), ["a", "b", "c"]);
  assert.deepEqual(rows.map((r) => r.method), ["a", "b", "c"], "the rows themselves were reordered");
  assert.ok(isSort("deletion") && !isSort("best") && !isSort("toString"));
});

test("the views' form options in the address: written, read back, malformed ones noted", async () => {
  const { readOptions, formatOptions } = await import("../../www/optionstate.js");
  const catalogue = {
    methods: [
      { name: "occlusion", title: "Occlusion", options: [
        { name: "window", type: "integer", defaultText: "4" },
        { name: "fill", type: "number", defaultText: "0" },
        { name: "score", type: "choice", choices: ["logit", "prob"], defaultText: "logit" },
      ] },
      { name: "saliency", title: "Saliency", options: [] },
    ],
    checks: [{ name: "sanity", title: "Sanity check", options: [{ name: "init-seed", type: "integer", defaultText: "0" }] }],
  };
  const params = { attribution: { occlusion: { window: 7, fill: -0.5, score: "prob" }, saliency: undefined }, maximize: { steps: 20, fourier: true, channels: "0-3" }, filterChannel: 2, sanity: { method: "saliency", options: { "init-seed": 3 } } };
  const pairs = formatOptions(params, catalogue.checks);
  assert.deepEqual(pairs, [
    ["opt.occlusion.window", "7"], ["opt.occlusion.fill", "-0.5"], ["opt.occlusion.score", "prob"],
    ["opt.maximize.steps", "20"], ["opt.maximize.fourier", "1"], ["opt.maximize.channels", "0-3"],
    ["opt.filters.channel", "2"],
    ["opt.sanity.method", "saliency"], ["opt.sanity.init-seed", "3"],
  ]);
  const text = formatState({ view: "occlusion" }, {}, pairs);
  assert.deepEqual(readOptions(text, catalogue), { values: { attribution: { occlusion: params.attribution.occlusion }, maximize: params.maximize, filterChannel: 2, sanity: params.sanity }, notes: [] });
  assert.deepEqual(formatOptions({}), []);

  const bad = readOptions("?opt.occlusion.window=1.5&opt.occlusion.fill=x&opt.occlusion.score=odds&opt.occlusion.size=3&opt.saliency.k=1&opt.maximize.steps=0&opt.maximize.lr=0.1&opt.maximize.channels=3-1&opt.maximize.fourier=yes&opt.filters.channel=-1&opt.nosuch.a=1&opt.sanity.method=nosuch&opt.sanity.init-seed=x&opt.sanity.steps=2", catalogue);
  assert.deepEqual(bad.values, { maximize: { lr: 0.1 } });
  assert.equal(bad.notes.length, 13);
  assert.match(bad.notes[10], /opt\.sanity\.method=nosuch was not used: there is no method "nosuch" \(occlusion, saliency\); using Grad-CAM\.$/);
  assert.match(bad.notes[12], /Sanity check has no option "steps" \(it has method, init-seed\)/);
  assert.match(bad.notes[0], /^The link's opt\.occlusion\.window=1\.5 was not used: window takes a whole number; using its default, 4\.$/);
  assert.match(bad.notes[3], /Occlusion has no option "size" \(it has window, fill, score\)/);
  assert.match(bad.notes[4], /Saliency has no option "k"\.$/);
  assert.match(bad.notes[6], /the range 3-1 runs backwards/);
});
