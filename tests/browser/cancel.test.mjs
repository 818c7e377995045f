// Cancelling a long run: the worker is stopped (a new one takes its place), the page
// returns to "ready" with the same model and image, and the next run works. One long
// run is a network of six convolutions fed 384-px pictures (about 45 GFLOP, seconds in
// wasm), given to the page as a weights file with its model card, as a user would; the
// first also runs an occlusion sweep of that network, cancelled; the
// other a 10,000-step activation maximization with the embedded model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForFile, cancelMidRun, markStale, withWatchedPage, waitForDone, waitForState, canvasColours, startLongMaximization } from "../support/browser.mjs";
import { randomVgg, specString } from "../support/safetensors.mjs";

const SPEC = { cfg: [64, 64, "M", 128, 128, "M", 256, 256, "M"], inChannels: 3, pool: 2, hidden: 32, classes: 10, size: 224 };
const CARD = {
  name: "medium test VGG",
  arch: specString(SPEC),
  weights: "medium.safetensors",
  labels: ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
  preprocessing: { kind: "torchvision", resize: 384, crop: 384, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  input: [3, 384, 384],
};

const env = browserForFile();

test("a cancelled long run stops, and the next run works", async () => withWatchedPage(env, async (w) => {
  const { page } = w;
  await page.goto(`${env.server.url}index.html?view=summary&image=coffee`);
  await waitForDone(page, "first load");
  await markStale(page);
  await page.setInputFiles("[data-testid=weights-file]", [
    { name: "medium.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(CARD)) },
    { name: "medium.safetensors", mimeType: "application/octet-stream", buffer: randomVgg(SPEC, 7) },
  ]);
  await waitForDone(page, "loading the medium model", 180_000);
  assert.match(await page.textContent("#model-name"), /medium test VGG/);
  const generation = await page.evaluate(() => window.convscope.generation);

  // The deepest feature maps: a whole forward pass, reported layer by layer.
  await markStale(page);
  await page.click('[data-testid="view-features"]');
  await waitForDone(page, "features.1", 180_000);
  await markStale(page);
  await page.selectOption("[data-testid=layer-select]", "features.13");
  const progressAtCancel = await cancelMidRun(page);
  assert.equal(await waitForState(page, ["ready", "error", "done"], 120_000), "ready");
  assert.ok(progressAtCancel > 0 && progressAtCancel < 1, `cancelled at progress ${progressAtCancel}`);
  assert.match(await page.textContent("[data-testid=status]"), /Cancelled/);
  assert.equal(await page.evaluate(() => window.convscope.generation), generation + 1, "the worker was not replaced");
  assert.ok(!(await page.textContent("#panel")).includes("features.13"), "the cancelled run still painted");

  // An occlusion sweep of this model (a 16x16 grid of covered 384-px copies): cancelled
  // while it runs, the worker is replaced and nothing of it is drawn.
  await markStale(page);
  await page.click('[data-testid="view-occlusion"]');
  assert.equal(await waitForState(page, ["busy", "done", "error"], 120_000), "busy");
  await page.waitForFunction(() => document.querySelector("[data-testid=status]")?.textContent.includes("occlusion"), null, { timeout: 120_000, polling: 20 });
  // The bar moves batch by batch, not only at the start and the end.
  await cancelMidRun(page);
  assert.equal(await waitForState(page, ["ready", "error", "done"], 120_000), "ready");
  assert.match(await page.textContent("[data-testid=status]"), /Cancelled/);
  assert.equal(await page.evaluate(() => window.convscope.generation), generation + 2, "the worker was not replaced after the occlusion cancel");
  assert.ok(!(await page.textContent("#panel")).includes("covered copies"), "the cancelled occlusion still painted");

  // The next run works, on the same model and image (restored into the new worker).
  await markStale(page);
  await page.click('[data-testid="view-predictions"]');
  await waitForDone(page, "predictions after the cancel", 180_000);
  const labels = await page.$$eval("[data-testid=predictions] tbody tr td:nth-child(3)", (tds) => tds.map((td) => td.textContent));
  assert.equal(labels.length, 5);
  assert.ok(labels.every((l) => CARD.labels.includes(l)), `labels ${labels} are not the card's`);
  assert.match(await page.textContent("#model-view-caption"), /coffee.*384×384/);
}));

test("a cancelled activation maximization stops with its live picture, and the next run works", async () => withWatchedPage(env, async (w) => {
  const { page } = w;
  await page.goto(`${env.server.url}index.html?model=tiny&view=maximize`);
  await waitForDone(page, "first maximization");
  const generation = await page.evaluate(() => window.convscope.generation);

  // A long run (10,000 steps); cancelled once the live picture has been drawn.
  await startLongMaximization(page);
  const [live] = await canvasColours(page, "[data-testid=maximize-picture]");
  assert.ok(live.colours > 50, `the live picture shows ${live.colours} colours`);
  await page.click("[data-testid=cancel]");
  assert.equal(await waitForState(page, ["ready", "error", "done"], 120_000), "ready");
  const step = Number(await page.getAttribute("[data-testid=maximize-picture]", "data-step"));
  assert.ok(step > 0 && step < 10000, `cancelled at step ${step}`);
  assert.match(await page.textContent("[data-testid=status]"), /Cancelled/);
  assert.match(await page.textContent("[data-testid=maximize-state]"), new RegExp(`^Cancelled at step ${step};`));
  assert.equal(await page.evaluate(() => window.convscope.generation), generation + 1, "the worker was not replaced");

  // The next run works in the new worker, with the same model and image.
  await markStale(page);
  await page.fill("[data-testid=maximize-steps]", "12");
  await page.click("[data-testid=maximize-run]");
  await waitForDone(page, "maximization after the cancel");
  assert.equal(await page.getAttribute("[data-testid=maximize-picture]", "data-step"), "12");
  const [after] = await canvasColours(page, "[data-testid=maximize-picture]");
  assert.ok(after.colours > 50, `the new picture shows ${after.colours} colours`);
}));
