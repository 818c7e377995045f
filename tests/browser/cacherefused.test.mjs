// Weights from a URL when the browser will not keep them (issue 17): the Cache API's put
// or open refused, as a full quota or a private window does. The visitor is told that
// the file was not kept (it downloads again next time), the model still loads, and a
// cancelled run, which restarts the worker, does not download the weights again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForTests, withWatchedPage, waitForDone, waitForState, markStale, startLongMaximization } from "../support/browser.mjs";
import { randomVgg } from "../support/safetensors.mjs";

const TINY = { cfg: [8, "M", 16, "M", 32, "M"], inChannels: 3, pool: 2, hidden: 32, classes: 10, size: 32 };
const WEIGHTS = "/test/refused.safetensors";
const env = browserForTests({ extra: { [WEIGHTS]: randomVgg(TINY, 13) } });

// Chromium's own words for a full quota, from put or from open.
const REFUSALS = {
  put: () => {
    Cache.prototype.put = () => Promise.reject(new DOMException("Failed to execute 'put' on 'Cache': Quota exceeded.", "QuotaExceededError"));
  },
  open: () => {
    CacheStorage.prototype.open = () => Promise.reject(new DOMException("Failed to execute 'open' on 'CacheStorage': Unexpected internal error.", "UnknownError"));
  },
};

const notes = (page) => page.$$eval("[data-testid=notes] li", (items) => items.map((li) => li.textContent));

/** The tiny weights from the test server, through the side bar's URL field. */
async function loadFromUrl(page, url) {
  await page.goto(`${url}index.html?model=tiny`);
  await waitForDone(page, "first load");
  await page.selectOption("[data-testid=model-select]", "vgg16");
  await page.fill("[data-testid=arch]", "tiny");
  await page.fill("[data-testid=weights-url]", `${url}${WEIGHTS.slice(1)}`);
  await markStale(page);
  await page.click("[data-testid=load-url]");
  await waitForDone(page, "weights from a URL");
  assert.match(await page.textContent("#model-name"), /^refused\.safetensors: 11,546 parameters/);
}

for (const [what, refuse] of Object.entries(REFUSALS)) {
  test(`weights the cache refuses (${what}) still load, and the visitor is told they were not kept`, async () => {
    await withWatchedPage(env(), async ({ page, context }) => {
      await context.addInitScript(refuse);
      await loadFromUrl(page, env().server.url);
      assert.ok(await page.isVisible("[data-testid=notes]"), "no visible note");
      const text = (await notes(page)).join("\n");
      assert.match(text, /refused\.safetensors could not be kept in this browser's cache \(Failed to execute '(put|open)'.*\); it is loaded now, but will be downloaded again next time\./);
      assert.ok(await page.isHidden("[data-testid=error]"));
    });
  });
}

test("a cancelled run on weights from a URL does not download them again", async () => {
  await withWatchedPage(env(), async ({ page, context }) => {
    await context.addInitScript(REFUSALS.put);
    const downloads = env().server.hits.get(WEIGHTS) ?? 0;
    await loadFromUrl(page, env().server.url);
    assert.equal(env().server.hits.get(WEIGHTS), downloads + 1);
    await markStale(page);
    await page.click("[data-testid=view-maximize]");
    await waitForDone(page, "maximization");
    const generation = await page.evaluate(() => window.convscope.generation);

    // A long run (10,000 steps), cancelled while it runs: the worker is replaced.
    await startLongMaximization(page);
    await page.click("[data-testid=cancel]");
    assert.equal(await waitForState(page, ["ready", "error", "done"], 120_000), "ready", await page.textContent("[data-testid=error]"));
    assert.equal(await page.evaluate(() => window.convscope.generation), generation + 1, "the worker was not replaced");
    assert.equal(env().server.hits.get(WEIGHTS), downloads + 1, "the restarted worker downloaded the weights again");

    // The restarted worker has the same model: a run works.
    await markStale(page);
    await page.click("[data-testid=view-predictions]");
    await waitForDone(page, "predictions after the cancel");
    assert.match(await page.textContent("#model-name"), /^refused\.safetensors/);
    assert.equal(await page.$$eval("[data-testid=predictions] tbody tr", (r) => r.length), 5);
    assert.equal(env().server.hits.get(WEIGHTS), downloads + 1);
  });
});
