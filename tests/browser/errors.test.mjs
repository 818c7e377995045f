// Bad files a user can give the page: each puts it in "error" with a message that names
// the problem, and the page keeps working with what it had loaded before.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { browserForFile, markStale, watchedPage, withWatchedPage, waitForDone, waitForState, screenshot } from "../support/browser.mjs";
import { ROOT } from "../support/paths.mjs";

const env = browserForFile();

const errorText = (page) => page.textContent("[data-testid=error]");
const topClasses = (page) => page.$$eval("[data-testid=predictions] tbody tr", (rows) => rows.map((r) => r.dataset.class).join(","));

test("a broken weights file is an error; an image picked afterwards uses the previous model", async () => withWatchedPage(env, async (w) => {
  const { page } = w;
  await page.goto(`${env.server.url}index.html?model=tiny`);
  await waitForDone(page, "first load");
  const modelName = await page.textContent("#model-name");
  assert.match(modelName, /tiny/);

  await markStale(page);
  await page.setInputFiles("[data-testid=weights-file]", { name: "broken.safetensors", mimeType: "application/octet-stream", buffer: Buffer.from([7, 1, 99, 42, 0, 13, 255, 8, 1, 2]) });
  assert.equal(await waitForState(page, ["error", "done"]), "error");
  const message = await errorText(page);
  assert.match(message, /weights/i, message);
  assert.ok(await page.isVisible("[data-testid=error]"));
  assert.equal(await page.textContent("#model-name"), modelName, "the model in use changed");
  await screenshot(page, "error");

  // An image now: the tiny model classifies it, and the error is gone.
  await markStale(page);
  await page.setInputFiles("[data-testid=image-file]", { name: "coffee.png", mimeType: "image/png", buffer: readFileSync(`${ROOT}/www/samples/coffee.png`) });
  await waitForDone(page, "image after the error");
  assert.ok(await page.isHidden("[data-testid=error]"));
  assert.equal(await page.$$eval("[data-testid=predictions] tbody tr", (r) => r.length), 5);
  assert.match(await page.textContent("#model-view-caption"), /coffee\.png.*32×32/);
}));

test("a file that is not an image, weights for another architecture, and a bad URL are named as such", async () => {
  const w = await watchedPage(env.browser);
  const { page } = w;
  try {
    await page.goto(`${env.server.url}index.html?model=tiny`);
    await waitForDone(page, "first load");
    const before = await topClasses(page);

    await markStale(page);
    await page.setInputFiles("[data-testid=image-file]", { name: "notes.png", mimeType: "image/png", buffer: Buffer.from("hello, this is text") });
    assert.equal(await waitForState(page, ["error", "done"]), "error");
    assert.match(await errorText(page), /image: not a PNG, JPEG or WebP/);

    // The sample's tiny weights offered as VGG16 (the arch field's default).
    const { safetensors, vggParams } = await import("../support/safetensors.mjs");
    const tiny = vggParams({ cfg: [8, "M", 16, "M", 32, "M"], inChannels: 3, pool: 2, hidden: 32, classes: 10 })
      .map(([n, s]) => [n, s, new Float32Array(s.reduce((a, b) => a * b, 1))]);
    await markStale(page);
    await page.setInputFiles("[data-testid=weights-file]", { name: "tiny.safetensors", mimeType: "application/octet-stream", buffer: safetensors(tiny) });
    assert.equal(await waitForState(page, ["error", "done"]), "error");
    assert.match(await errorText(page), /vgg16|architecture|shape/i);

    // Only http(s): nothing is fetched for another scheme.
    await page.selectOption("[data-testid=model-select]", "vgg16");
    await page.fill("[data-testid=weights-url]", "file:///etc/passwd");
    await markStale(page);
    await page.click("[data-testid=load-url]");
    assert.equal(await waitForState(page, ["error", "done"]), "error");
    assert.match(await errorText(page), /http\(s\)/);

    // A weights URL that answers 404, and one that answers a web page, not safetensors.
    for (const [path, message] of [
      ["missing/weights.safetensors", /HTTP 404/],
      ["index.html", /weights file|safetensors|header/i],
    ]) {
      // A failed load puts the select back on the model in use, so choose VGG16 again.
      await page.selectOption("[data-testid=model-select]", "vgg16");
      await page.fill("[data-testid=weights-url]", `${env.server.url}${path}`);
      await markStale(page);
      await page.click("[data-testid=load-url]");
      assert.equal(await waitForState(page, ["error", "done"]), "error", path);
      assert.match(await errorText(page), message, path);
    }

    // Still the first model and image.
    await markStale(page);
    await page.click('[data-testid="view-predictions"]');
    await waitForDone(page, "predictions after the errors");
    assert.equal(await topClasses(page), before);
    // The 404 the test asked for (the response and Chromium's log line); anything else is
    // a problem.
    const problems = w.problems.filter((p) => !p.includes(`${env.server.url}missing/weights.safetensors`));
    assert.deepEqual(problems, [], problems.join("\n"));
  } finally {
    await w.close();
  }
});
