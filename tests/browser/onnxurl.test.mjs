// An ONNX model from an address (the side bar's URL field, or a link ?weights=URL.onnx):
// downloaded once, read as a picked .onnx file is, named with where it came from; a
// model whose weights live in an external-data file is refused with what to do instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { browserForTests, withWatchedPage, waitForDone, waitForState, markStale } from "../support/browser.mjs";
import { ROOT } from "../support/paths.mjs";

const ONNX = path.join(ROOT, "crate", "tests", "fixtures", "onnx");
const MODEL = "/m/tiny_resnet.onnx";
const EXTERNAL = "/m/tiny_densenet.onnx";
const env = browserForTests({
  extra: { [MODEL]: readFileSync(path.join(ONNX, "tiny_resnet.onnx")), [EXTERNAL]: readFileSync(path.join(ONNX, "tiny_densenet.onnx")) },
});
const query = (page) => new URL(page.url()).searchParams;

async function loadUrl(page, url) {
  await page.selectOption("[data-testid=model-select]", "vgg16");
  await page.fill("[data-testid=weights-url]", url);
  await markStale(page);
  await page.click("[data-testid=load-url]");
  return waitForState(page, ["done", "error"]);
}

test("an .onnx address in the URL field loads the model, states where it came from, and stays in the address", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    await page.goto(`${env().server.url}index.html?model=tiny`);
    await waitForDone(page, "first load");
    assert.equal(await loadUrl(page, `${env().server.url}${MODEL.slice(1)}`), "done", await page.textContent("[data-testid=error]"));
    assert.match(await page.textContent("#model-name"), /^tiny_resnet: [\d,]+ parameters, input 3×32×32, 10 classes/);
    assert.match(await page.textContent("[data-testid=model-origin]"), /^ONNX file tiny_resnet\.onnx from 127\.0\.0\.1:\d+: 3×32×32 input, 10 classes\. Preprocessing: ImageNet mean\/std/);
    assert.equal(env().server.hits.get(MODEL), 1);
    // The address names the model by its file alone (no architecture to name).
    assert.equal(query(page).get("model"), null);
    assert.match(query(page).get("weights"), /\/m\/tiny_resnet\.onnx$/);

    // A model with an external-data file cannot come from one address: said, and the
    // loaded model stays.
    assert.equal(await loadUrl(page, `${env().server.url}${EXTERNAL.slice(1)}`), "error");
    assert.match(await page.textContent("[data-testid=error]"), /tiny_densenet\.onnx keeps its weights in an external-data file.*choose them together/s);
    assert.match(await page.textContent("#model-name"), /^tiny_resnet: /);
  });
});

test("a link ?weights=PATH.onnx waits for consent, then shows its view on that model", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    const before = env().server.hits.get(MODEL) ?? 0;
    await page.goto(`${env().server.url}index.html?weights=${MODEL.slice(1)}&view=grad-cam`);
    await waitForState(page, ["ready", "error"]);
    assert.match(await page.textContent("[data-testid=consent]"), /tiny_resnet\.onnx \(ONNX model\)/);
    assert.equal(env().server.hits.get(MODEL) ?? 0, before, "downloaded before the visitor agreed");
    await markStale(page);
    await page.click("[data-testid=consent] button");
    await waitForDone(page, "the linked ONNX model");
    assert.equal(await page.getAttribute("#panel", "data-view"), "grad-cam");
    assert.match(await page.textContent("#model-name"), /^tiny_resnet: /);
    assert.equal(query(page).get("weights"), MODEL.slice(1), "the link's relative address is kept as written");
  });
});
