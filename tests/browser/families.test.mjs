// The layer-graph families in the page: ResNet-18 and MobileNetV2 (torchvision's graphs
// with the fixtures' generated weights) load from the model list, and the views that
// walk the graph work on them: predictions, the summary (every node, with the graph's
// joins), Grad-CAM at pytorch-grad-cam's usual layer (layer4's last block for ResNet,
// features' last block for MobileNet), feature maps and the 3D view; the architecture
// field offers every family the core knows. No console errors, nothing beyond 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForFile, markStale, withWatchedPage, waitForDone, canvasColours, screenshot } from "../support/browser.mjs";

const env = browserForFile();

async function switchTo(page, view) {
  await markStale(page);
  await page.click(`[data-testid="view-${view}"]`);
  await waitForDone(page, view, 180_000);
  assert.equal(await page.getAttribute("#panel", "data-view"), view);
  assert.doesNotMatch(await page.textContent("#panel"), /\bnull\b|\bundefined\b|\bNaN\b/, `${view}: the panel prints a missing value`);
  const canvases = await canvasColours(page);
  for (const c of canvases) assert.ok(c.colours >= 2, `${view}: canvas ${c.name} (${c.width}x${c.height}) shows ${c.colours} colour(s)`);
  return canvases;
}

for (const [id, camLayer, nodes] of [
  ["resnet18", "layer4.1", 60],
  ["mobilenet_v2", "features.18", 100],
]) {
  test(`${id} runs in the page: predictions, summary, Grad-CAM at ${camLayer}, features, 3D`, async () => {
    await withWatchedPage(env, async ({ page }) => {
      await page.goto(`${env.server.url}index.html?model=${id}&image=coffee`);
      await waitForDone(page, "first load", 180_000);
      assert.equal(await page.$$eval("[data-testid=predictions] tbody tr", (rows) => rows.length), 5);
      // The architecture field names the demo's family, for the visitor's trained file of it.
      assert.equal(await page.inputValue("[data-testid=arch]"), id);
      await switchTo(page, "summary");
      const rows = await page.$$eval("[data-testid=summary-table] tbody tr", (r) => r.length);
      assert.ok(rows >= nodes, `${id}: the summary shows ${rows} rows, fewer than its ${nodes} nodes`);
      const canvases = await switchTo(page, "grad-cam");
      assert.ok(canvases.length > 0, "grad-cam painted nothing");
      assert.match(await page.textContent("#panel"), new RegExp(camLayer.replace(".", "\\.")), `${id}: Grad-CAM does not name ${camLayer}`);
      await screenshot(page, `${id}-grad-cam`);
      await switchTo(page, "features");
      await switchTo(page, "3d");
      await screenshot(page, `${id}-3d`);
    });
  });
}

test("the architecture field offers every family the core knows", async () => {
  await withWatchedPage(env, async ({ page }) => {
    await page.goto(`${env.server.url}index.html?model=tiny`);
    await waitForDone(page, "first load");
    const names = await page.$$eval("#arch-names option", (o) => o.map((x) => x.value));
    for (const name of ["vgg16", "resnet50", "resnext50_32x4d", "mobilenet_v3_large", "efficientnet_b3", "densenet169", "convnext_small"]) {
      assert.ok(names.includes(name), `${name} is not offered (${names.join(", ")})`);
    }
  });
});
