// The 3D layer view reads as a diagram: no label drawn over another (from the labels'
// boxes on screen, zoomed out and zoomed in), the main path left to right, ResNet-18's
// downsample branches beside the main path (below it, joining it at the addition), and
// the layers reachable by keyboard (arrows select, Enter opens). Screenshots go to
// docs/images/web-3d.png and web-3d-resnet18.png with UPDATE_SCREENSHOTS=1. MobileNetV2's
// skips are joins of two on the main path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForTests, withWatchedPage, waitForDone, screenshot } from "../support/browser.mjs";

const env = browserForTests();

async function open3d(page, model) {
  await page.goto(`${env().server.url}index.html?model=${model}&view=3d`);
  await waitForDone(page, `3D view of ${model}`, 180_000);
  assert.equal(await page.getAttribute("#panel", "data-view"), "3d");
}

/** Every label of the view: its box on screen, whether shown, and its layer's place. */
function readLabels(page) {
  return page.$$eval("[data-testid=label3d]", (elements) =>
    elements.map((e) => {
      const r = e.getBoundingClientRect();
      const shown = !e.hidden && getComputedStyle(e).display !== "none" && r.width > 0 && r.height > 0;
      return {
        name: e.dataset.name,
        text: e.textContent,
        shown,
        box: { left: r.left, top: r.top, right: r.right, bottom: r.bottom },
        lane: Number(e.dataset.lane),
        main: e.dataset.main === "1",
        column: Number(e.dataset.column),
        joins: Number(e.dataset.joins),
        cx: Number(e.dataset.cx),
        cy: Number(e.dataset.cy),
        wy: Number(e.dataset.wy),
      };
    }),
  );
}

function assertNoOverlap(labels, what) {
  const shown = labels.filter((l) => l.shown);
  for (let i = 0; i < shown.length; i++) {
    for (let j = i + 1; j < shown.length; j++) {
      const a = shown[i].box;
      const b = shown[j].box;
      const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
      assert.ok(apart, `${what}: label "${shown[i].text}" overlaps "${shown[j].text}"`);
    }
  }
}

/** Both ends labelled, the input's label left of the output's, centres left to right. */
function assertLeftToRight(labels, what) {
  const layers = labels.filter((l) => l.name !== "top classes");
  const first = layers.find((l) => l.name === "input");
  const last = layers[layers.length - 1];
  assert.ok(first?.shown, `${what}: the input has no label`);
  assert.ok(last.shown, `${what}: the output has no label`);
  assert.ok(first.box.right <= last.box.left, `${what}: the input's label is not left of the output's`);
  const main = layers.filter((l) => l.main).sort((a, b) => a.column - b.column);
  for (let k = 1; k < main.length; k++) {
    assert.ok(main[k].cx > main[k - 1].cx, `${what}: ${main[k].name} (x ${main[k].cx}) is not right of ${main[k - 1].name} (x ${main[k - 1].cx})`);
  }
}

async function zoomIn(page) {
  const box = await page.locator("[data-testid=canvas3d]").boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  for (let k = 0; k < 4; k++) await page.mouse.wheel(0, -300);
}

/**
 * A test of `model`'s 3D view: once it is open, its labels read left to right with none
 * over another, then `check(page, labels)`.
 */
function test3d(name, model, check) {
  test(name, () =>
    withWatchedPage(env(), async ({ page }) => {
      await open3d(page, model);
      const labels = await readLabels(page);
      assertNoOverlap(labels, model);
      assertLeftToRight(labels, model);
      await check(page, labels);
    }),
  );
}

test3d("Fashion-MNIST VGG: a chain, left to right, no label over another", "fashion", async (page, labels) => {
  assert.ok(labels.length >= 8, `only ${labels.length} labels`);
  // A chain stays on one line, and its output keeps its top classes.
  assert.ok(labels.every((l) => l.lane === 0 || l.name === "top classes"), "a chain drew a branch");
  assert.ok(labels.find((l) => l.name === "top classes")?.shown, "the top classes are hidden");
  await page.mouse.move(0, 0);
  await screenshot(page, "3d");
  await zoomIn(page);
  assertNoOverlap(await readLabels(page), "fashion, zoomed in");
  // Every map layer open at once (the four of the feature extractor; not the input).
  await page.click("text=Expand all");
  await page.waitForFunction(() => document.querySelector("[data-testid=stage3d]").dataset.open === "4", null, { timeout: 60_000 });
  assertNoOverlap(await readLabels(page), "fashion, every layer open");
});

test3d("ResNet-18: downsample branches beside the main path, no label over another, keyboard", "resnet18", async (page, labels) => {
  // Three stages start with a downsample: each off the main path, below the main
  // layer of its column, in the scene and on screen.
  const branches = labels.filter((l) => /\.downsample$/.test(l.name));
  assert.equal(branches.length, 3, `downsample branches: ${branches.map((l) => l.name)}`);
  for (const b of branches) {
    const beside = labels.find((l) => l.main && l.column === b.column);
    assert.ok(beside, `${b.name}: no main-path layer in its column`);
    assert.ok(!b.main && b.lane < 0, `${b.name} is on the main path`);
    assert.ok(beside.wy - b.wy > 1, `${b.name} at y ${b.wy}, the main path at ${beside.wy}`);
    assert.ok(b.cy - beside.cy > 10, `${b.name} is not drawn below ${beside.name} on screen`);
    // The next column is the addition (with its ReLU), on the main path, joining two.
    const join = labels.find((l) => l.main && l.column === b.column + 1);
    assert.equal(join?.joins, 2, `${b.name}: the layer after it joins ${join?.joins} (${join?.name})`);
    assert.equal(join.name, b.name.replace(/downsample$/, "relu:1"));
  }
  await page.mouse.move(0, 0);
  await screenshot(page, "3d-resnet18");
  await zoomIn(page);
  assertNoOverlap(await readLabels(page), "resnet18, zoomed in");

  // Keyboard: from the input, Down reaches the nearest branch; Right, Enter opens a layer.
  await page.focus("[data-testid=stage3d]");
  await page.keyboard.press("Home");
  assert.match(await page.textContent(".tip3d"), /^input/);
  await page.keyboard.press("ArrowDown");
  assert.match(await page.textContent(".tip3d"), /downsample.*branch beside the main path/);
  await page.keyboard.press("Home");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  assert.match(await page.textContent(".tip3d"), /^maxpool · MaxPool2d · main path[^]*Enter opens its channels/);
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => /open: every channel shown/.test(document.querySelector(".tip3d").textContent), null, { timeout: 60_000 });
  assert.equal(await page.$$eval("[data-testid=label3d][data-name=maxpool]", (e) => e.filter((x) => !x.hidden).length), 1, "the selected layer's label is hidden");
  assertNoOverlap(await readLabels(page), "resnet18, a layer open");
});

test3d("MobileNetV2: its inverted-residual skips join the main path, no label over another", "mobilenet_v2", async (page, labels) => {
  // torchvision's mobilenet_v2 adds its input back in ten blocks: ten joins of two.
  const joins = labels.filter((l) => l.main && l.joins === 2);
  assert.equal(joins.length, 10, `joins: ${joins.map((l) => l.name)}`);
  assert.ok(joins.every((l) => /\.add$/.test(l.name)), `joins: ${joins.map((l) => l.name)}`);
  await zoomIn(page);
  assertNoOverlap(await readLabels(page), "mobilenet_v2, zoomed in");
});
