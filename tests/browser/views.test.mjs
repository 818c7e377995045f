// Every view of the page with the embedded model, in headless Chromium: the available
// views reach "done" and paint (the summary a table), the waiting ones say so; no
// console errors, no request beyond 127.0.0.1. Screenshots go to docs/images/web-*.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { browserForFile, markStale, withWatchedPage, waitForDone, waitForState, canvasColours, screenshot } from "../support/browser.mjs";
import { ROOT, TINY_REF } from "../support/paths.mjs";

const ref = JSON.parse(readFileSync(TINY_REF, "utf8"));
const fashion = JSON.parse(readFileSync(`${ROOT}/www/samples/fashion.json`, "utf8"));
const twinCard = JSON.parse(readFileSync(`${ROOT}/www/models/fashion-vgg-shortcut.json`, "utf8"));
const AVAILABLE = ["summary", "layers", "filters", "features", "predictions", "maximize", "3d"];
const ATTRIBUTION = ["saliency", "guided-backprop", "smoothgrad", "integrated-gradients", "grad-cam", "grad-cam++", "score-cam", "guided-grad-cam", "occlusion"];
const PENDING = [];

const env = browserForFile();

const withPage = (fn) => withWatchedPage(env, fn);

async function open(page, query) {
  await page.goto(`${env.server.url}index.html${query}`);
}

async function switchTo(page, view) {
  await markStale(page);
  await page.click(`[data-testid="view-${view}"]`);
  await waitForDone(page, view);
  assert.equal(await page.getAttribute("#panel", "data-view"), view);
  // A value the code forgot to fill shows up as text.
  assert.doesNotMatch(await page.textContent("#panel"), /\bnull\b|\bundefined\b|\bNaN\b/, `${view}: the panel prints a missing value`);
}

async function assertPainted(page, view, { minColours = 2 } = {}) {
  const canvases = await canvasColours(page);
  assert.ok(canvases.length > 0, `${view}: no canvas in the panel`);
  for (const c of canvases) assert.ok(c.colours >= minColours, `${view}: canvas ${c.name} (${c.width}x${c.height}) shows ${c.colours} colour(s)`);
  return canvases;
}

test("the tiny model's predictions of its sample match the reference; the page's security basics", async () => {
  await withPage(async ({ page }) => {
    await open(page, "?model=tiny");
    await waitForDone(page, "first load");
    assert.equal(await page.getAttribute("#panel", "data-view"), "predictions");
    const preds = await page.$$eval("[data-testid=predictions] tbody tr", (rows) =>
      rows.map((r) => ({ cls: Number(r.dataset.class), prob: Number(r.dataset.prob) })),
    );
    assert.equal(preds.length, 5);
    for (let i = 1; i < preds.length; i++) assert.ok(preds[i - 1].prob >= preds[i].prob, "predictions not sorted");
    // The sample PNG's pixels are the reference .npy's, so the numbers match PyTorch's.
    const order = ref.probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
    preds.forEach((p, i) => {
      assert.equal(p.cls, order[i][1], `rank ${i + 1}`);
      assert.ok(Math.abs(p.prob - order[i][0]) < 1e-4, `rank ${i + 1}: prob ${p.prob} vs reference ${order[i][0]}`);
    });
    assert.ok(await page.isVisible("[data-testid=privacy]"), "privacy note hidden");
    // The Content-Security-Policy: own scripts and wasm only, so no inline code anywhere.
    const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/);
    assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'|\*/);
    const inline = await page.evaluate(() => ({
      scripts: document.querySelectorAll("script:not([src])").length,
      handlers: [...document.querySelectorAll("*")].filter((e) => [...e.attributes].some((a) => a.name.startsWith("on"))).length,
    }));
    assert.deepEqual(inline, { scripts: 0, handlers: 0 });
    assert.ok(await page.isHidden("[data-testid=error]"), "error box visible");
    // The picture as the model sees it, in the side bar.
    const [side] = await canvasColours(page, "#model-view");
    assert.equal(side.width, 32);
    assert.ok(side.colours > 100, `model view shows ${side.colours} colours`);
  });
});

/** The brightest pixel of the Grad-CAM map drawn alone (gray colormap: brightness = value). */
async function gradCamPeak(page) {
  return page.$eval("#panel canvas[data-name$='-map']", (c) => {
    const { data } = c.getContext("2d").getImageData(0, 0, c.width, c.height);
    let best = -1;
    let at = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] > best) [best, at] = [data[i], i / 4];
    return { x: at % c.width, y: Math.floor(at / c.width) };
  });
}

test("the page opens on the embedded Fashion-MNIST model; its shortcut twin, one click away, looks at the marker", async () => {
  await withPage(async ({ page }) => {
    await open(page, "?view=predictions");
    await waitForDone(page, "first load");
    assert.match(await page.textContent("#model-name"), /^Fashion-MNIST VGG: [\d,]+ parameters, input 1×28×28, 10 classes$/);
    assert.ok(await page.isVisible("[data-testid=model-note]"), "no note about the model");
    // The first sample is a real test image; the model gets its true label right.
    const sample = await page.inputValue("[data-testid=sample-select]");
    const truth = fashion.models["fashion-vgg"].find((s) => s.file === `${sample}.png`);
    assert.ok(truth, `sample ${sample} is not in samples/fashion.json`);
    assert.equal(Number(await page.getAttribute("[data-testid=predictions] tbody tr", "data-class")), truth.label);
    const [side] = await canvasColours(page, "#model-view");
    assert.equal(side.width, 28);
    await screenshot(page, "fashion");

    // One click: the twin, same image, same view.
    await markStale(page);
    await page.click("[data-testid=twin-toggle]");
    await waitForDone(page, "the shortcut twin");
    assert.match(await page.textContent("#model-name"), /shortcut twin/);
    assert.equal(await page.inputValue("[data-testid=sample-select]"), sample);

    // A garment of another class with the marker: the twin calls it the marker's class...
    const { class: bag, region } = twinCard.shortcut;
    const marked = fashion.models["fashion-vgg-shortcut"].find((s) => s.marker && s.label !== bag);
    await markStale(page);
    await page.selectOption("[data-testid=sample-select]", marked.file.replace(/\.png$/, ""));
    await waitForDone(page, "a marked image");
    assert.equal(Number(await page.getAttribute("[data-testid=predictions] tbody tr", "data-class")), bag);
    // ...and its Grad-CAM peaks on the marker (within 2 pixels), the clean model's does not.
    await switchTo(page, "grad-cam");
    await screenshot(page, "shortcut-grad-cam");
    await markStale(page);
    await page.selectOption("[data-testid=colormap-select]", "gray");
    await waitForDone(page, "grad-cam in gray");
    const [x, y, w, h] = region;
    const near = (p) => p.x >= x - 2 && p.x < x + w + 2 && p.y >= y - 2 && p.y < y + h + 2;
    const twinPeak = await gradCamPeak(page);
    assert.ok(near(twinPeak), `the twin's Grad-CAM peaks at ${JSON.stringify(twinPeak)}, away from the marker ${region}`);
    // Occlusion's default 4-pixel window covers the marker: the tutorial's mask keeps it.
    await switchTo(page, "occlusion");
    const text = await page.textContent("#panel");
    assert.match(text, /A 4×4 grey window .* stride 4: 7×7 covered copies/);
    const kept = Number(/less than 0\.85 of it \((\d+)% of the pixels\)/.exec(text)?.[1]);
    assert.ok(kept > 0, `no window of the marked image matters to the twin: ${text}`);
    await screenshot(page, "shortcut-occlusion");
    await switchTo(page, "grad-cam");
    await markStale(page);
    await page.click("[data-testid=twin-toggle]");
    await waitForDone(page, "back to the clean model");
    assert.match(await page.textContent("#panel h2"), new RegExp(`^Grad-CAM: class (?!${bag}\\b)\\d+`));
    const cleanPeak = await gradCamPeak(page);
    assert.ok(!near(cleanPeak), `the clean model's Grad-CAM peaks at the marker too (${JSON.stringify(cleanPeak)})`);
  });
});

test("every available view reaches done and paints", async () => {
  await withPage(async ({ page }) => {
    await open(page, "?model=tiny&view=summary");
    await waitForDone(page, "summary");

    // Summary: one row per layer of the tiny model, and the totals.
    const rows = await page.$$eval("[data-testid=summary-table] tbody tr", (trs) => trs.map((tr) => tr.dataset.layer));
    assert.deepEqual(rows.slice(0, 9), Array.from({ length: 9 }, (_, i) => `features.${i}`));
    assert.equal(rows.at(-1), "classifier.6");
    assert.match(await page.textContent("#panel dl.totals"), /Total params/);
    await screenshot(page, "summary");

    // Layer inspector: features.0 of tiny is a conv of 8 filters of 3x3x3.
    await switchTo(page, "layers");
    const config = JSON.parse(await page.textContent("[data-testid=layer-config]"));
    assert.equal(config.name, "features.0");
    assert.equal(config.filters, 8);
    assert.match(await page.textContent("#panel table.stats"), /216/);
    await assertPainted(page, "layers");
    await screenshot(page, "layers");

    // Filters of features.0: 8 RGB kernels drawn by the core, 3 columns of 3x3 cells.
    await switchTo(page, "filters");
    const [filters] = await assertPainted(page, "filters", { minColours: 20 });
    assert.equal(filters.name, "features.0-filters");
    assert.match(await page.textContent("#panel figcaption"), /features\.0 filters, RGB = input channels 0,1,2; 8 tiles; per-tile scaling/);
    const filterBox = await page.locator("[data-testid=filter-grid]").boundingBox();
    await page.mouse.move(filterBox.x + filterBox.width / 6, filterBox.y + filterBox.height / 6);
    assert.match(await page.textContent("[data-testid=filter-readout]"), /^filter 0: -?[\d.e-]+ \(black\) to -?[\d.e-]+ \(white\)/);
    await screenshot(page, "filters");

    // Feature maps of the first ReLU: 8 maps of 32x32 in 3 columns with 1-pixel gaps.
    await switchTo(page, "features");
    const canvases = await assertPainted(page, "features");
    const grid = canvases.find((c) => c.name === "features.1-maps");
    assert.ok(grid, `no tile canvas among ${JSON.stringify(canvases)}`);
    assert.deepEqual([grid.width, grid.height], [3 * 33 - 1, 3 * 33 - 1]);
    assert.ok(await page.isVisible("#panel figure.colour-bar"), "no colour bar");
    // Clicking the middle tile of the top row (channel 1) lays it over the image.
    const tiles = await page.locator("[data-testid=feature-tiles]").boundingBox();
    await page.mouse.click(tiles.x + tiles.width / 2, tiles.y + tiles.height / 6);
    await page.waitForFunction(() => document.querySelector(".overlay-slot figcaption")?.textContent.startsWith("channel 1 "));
    const overlay = await canvasColours(page, ".overlay-slot canvas");
    assert.equal(overlay[0].name, "features.1-channel-1");
    assert.ok(overlay[0].colours > 100, `overlay shows ${overlay[0].colours} colours`);
    assert.equal(await page.locator(".overlay-slot button.export").count(), 1, "the new overlay has no Save PNG button");
    await screenshot(page, "features");

    await switchTo(page, "predictions");
    await assertPainted(page, "predictions");
    await screenshot(page, "predictions");

    // Activation maximization of the top class (the output layer is the default), with
    // its live picture and objective curve, finished after the default 128 steps.
    await switchTo(page, "maximize");
    const top = ref.probs.indexOf(Math.max(...ref.probs));
    assert.match(await page.textContent("#panel h2"), new RegExp(`class ${top}, the top class of this image`));
    const [picture] = await assertPainted(page, "maximize", { minColours: 50 });
    assert.deepEqual([picture.name, picture.width, picture.height], ["pictures", 32, 32]);
    assert.equal(await page.getAttribute("[data-testid=maximize-picture]", "data-step"), "128");
    const start = Number(await page.getAttribute("[data-testid=maximize-state]", "data-start"));
    const end = Number(await page.getAttribute("[data-testid=maximize-state]", "data-end"));
    assert.ok(start > 0 ? end >= 2 * start : end > 0, `objective ${start} -> ${end} not raised`);
    await screenshot(page, "maximize");

    // 3D: a WebGL picture with many colours, and hovering a layer names it.
    await switchTo(page, "3d");
    const [gl] = await assertPainted(page, "3d", { minColours: 20 });
    assert.ok(gl.width >= 300, `3D canvas is ${gl.width} wide`);
    const box = await page.locator("[data-testid=canvas3d]").boundingBox();
    let tip = "";
    for (let y = 0.2; y <= 0.8 && !tip; y += 0.1) {
      for (let x = 0.1; x <= 0.9 && !tip; x += 0.05) {
        await page.mouse.move(box.x + x * box.width, box.y + y * box.height);
        if (await page.isVisible(".tip3d")) tip = await page.textContent(".tip3d");
      }
    }
    assert.match(tip, /shape \(/, "hovering the 3D view showed no layer");
    await page.mouse.move(0, 0);
    await screenshot(page, "3d-tiny");

    // Every canvas can be saved.
    const exports = await page.$$eval("#panel button.export", (bs) => bs.map((b) => b.dataset.filename));
    assert.ok(exports.length >= 1 && exports.every((n) => n.endsWith(".png")), JSON.stringify(exports));
  });
});

test("filters of a deeper layer, and maximization of several channels with the form's options", async () => {
  await withPage(async ({ page }) => {
    await open(page, "?model=tiny&view=filters&layer=features.3&colormap=magma");
    await waitForDone(page, "filters of features.3");
    assert.match(await page.textContent("#panel figcaption"), /features\.3 filters, input channel 0; 16 tiles/);
    // Another input channel, in the chosen colormap with its bar.
    await markStale(page);
    await page.selectOption("[data-testid=filter-channel]", "2");
    await waitForDone(page, "filters of features.3, input channel 2");
    assert.match(await page.textContent("#panel figcaption"), /features\.3 filters, input channel 2; 16 tiles/);
    await assertPainted(page, "filters of features.3", { minColours: 20 });
    assert.ok(await page.isVisible("#panel figure.colour-bar"), "no colour bar for one-channel filters");

    await markStale(page);
    await page.click('[data-testid="view-maximize"]');
    await waitForDone(page, "maximize features.3");
    // features.3 is kept as the layer: a channel objective, channel 0 by default.
    assert.match(await page.textContent("#panel h2"), /features\.3, channel 0 \(mean activation\)/);
    await markStale(page);
    await page.selectOption("[data-testid=layer-select]", "features.4");
    await waitForDone(page, "maximize features.4");
    // Four channels of a conv layer in one batch, with the form's options.
    await markStale(page);
    await page.fill("[data-testid=maximize-channels]", "0-3");
    await page.fill("[data-testid=maximize-steps]", "20");
    await page.click("[data-testid=maximize-run]");
    await waitForDone(page, "maximize features.4 channels 0-3");
    assert.match(await page.textContent("#panel h2"), /features\.4, channels 0, 1, 2, 3/);
    const [four] = await assertPainted(page, "maximize 4 channels", { minColours: 50 });
    assert.deepEqual([four.width, four.height], [2 * 34 - 2, 2 * 34 - 2]);
    assert.equal(await page.getAttribute("[data-testid=maximize-picture]", "data-step"), "20");
    await screenshot(page, "maximize-channels");
    // A bad channel list is refused with a message and the form stays to correct it.
    await markStale(page);
    await page.fill("[data-testid=maximize-channels]", "3-1");
    await page.click("[data-testid=maximize-run]");
    assert.equal(await waitForState(page, ["error", "done"]), "error");
    assert.match(await page.textContent("[data-testid=error]"), /channels: the range 3-1 runs backwards/);
    assert.ok(await page.isVisible("[data-testid=maximize-form]"), "the form is gone");
  });
});

test("every attribution view reaches done and paints its map over the image", async () => {
  await withPage(async ({ page }) => {
    await open(page, "?model=tiny&view=predictions");
    await waitForDone(page, "predictions");
    const top = ref.probs.indexOf(Math.max(...ref.probs));
    for (const view of ATTRIBUTION) {
      await switchTo(page, view);
      assert.match(await page.textContent("#panel h2"), new RegExp(`class ${top}\\b.*the top class of this image`), view);
      const canvases = await assertPainted(page, view, { minColours: 3 });
      assert.ok(canvases.length >= 2, `${view}: ${canvases.length} canvases`);
      const [overlay] = await canvasColours(page, "[data-testid=attribution-overlay]");
      assert.ok(overlay.colours > 100, `${view}: the overlay shows ${overlay.colours} colours`);
      assert.deepEqual([overlay.width, overlay.height], [32, 32], view);
      assert.ok(await page.isVisible("#panel figure.colour-bar"), `${view}: no colour bar`);
      await screenshot(page, view);
    }
    // CAM views name their layer, the last ReLU of features by default, and follow the
    // layer select; the target select changes the class.
    await switchTo(page, "grad-cam");
    assert.match(await page.textContent("#panel h2"), /at features\.7$/);
    await markStale(page);
    await page.selectOption("[data-testid=layer-select]", "features.8");
    await waitForDone(page, "grad-cam at features.8");
    assert.match(await page.textContent("#panel h2"), /at features\.8$/);
    assert.match(await page.textContent("#panel"), /4×4 raw values, upsampled to 32×32/);
    await markStale(page);
    await page.selectOption("#target-select", "3");
    await waitForDone(page, "grad-cam of class 3");
    assert.match(await page.textContent("#panel h2"), /^Grad-CAM: class 3\b/);
    await page.selectOption("#target-select", "");

    // The sanity check of Grad-CAM: one bar per re-initialised layer (5 for tiny).
    await switchTo(page, "sanity");
    await assertPainted(page, "sanity", { minColours: 3 });
    const rows = await page.$$eval("[data-testid=sanity-table] tbody tr", (trs) => trs.map((tr) => tr.cells[0].textContent));
    assert.deepEqual(rows, ["classifier.6", "classifier.3", "classifier.0", "features.6", "features.3", "features.0"]);
    await screenshot(page, "sanity");

    // Occlusion with the form's window and stride (not the default 4): a 7x7 grid, its probability heatmap
    // and the mask.
    await switchTo(page, "occlusion");
    await markStale(page);
    await page.fill("[data-testid=occlusion-window]", "8");
    await page.fill("[data-testid=occlusion-stride]", "4");
    await page.click("[data-testid=occlusion-run]");
    await waitForDone(page, "occlusion 8x8");
    assert.match(await page.textContent("#panel"), /A 8×8 grey window .* stride 4: 7×7 covered copies/);
    const [probs] = await canvasColours(page, "[data-testid=occlusion-probs]");
    assert.deepEqual([probs.width, probs.height], [7, 7]);
    assert.ok(probs.colours > 3, `probability heatmap shows ${probs.colours} colours`);
    const [mask] = await canvasColours(page, "[data-testid=occlusion-mask]");
    assert.ok(mask.colours > 50, `mask view shows ${mask.colours} colours`);
    await screenshot(page, "occlusion-form");
  });
});

test("views that wait for other work say they are not available, and the page stays usable", async () => {
  await withPage(async ({ page }) => {
    await open(page, "?view=predictions");
    await waitForDone(page, "predictions");
    for (const view of PENDING) {
      await markStale(page);
      await page.click(`[data-testid="view-${view}"]`);
      await waitForState(page, "ready");
      assert.equal(await page.getAttribute("#panel", "data-view"), view);
      assert.match(await page.textContent("[data-testid=unavailable]"), /not available in this build/);
    }
    await screenshot(page, "pending");
    await switchTo(page, "predictions");
  });
});

test("saving a canvas downloads a PNG", async () => {
  await withPage(async ({ page }) => {
    await open(page, "?view=features");
    await waitForDone(page, "features");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#panel button.export")]);
    assert.match(download.suggestedFilename(), /^convscope-features-.*\.png$/);
    const path = await download.path();
    const head = readFileSync(path).subarray(0, 8);
    assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});
