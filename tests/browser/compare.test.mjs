// The comparison view (?view=compare) with the embedded Fashion-MNIST model, in headless
// Chromium: one tile per method of the catalogue, each with deletion and insertion areas
// in [0, 1] equal to `convscope compare --json`'s (the native CLI, same model and image);
// sorting reorders the tiles without running anything again and is kept in the address,
// which restores the view on reload; the sanity scores on request; the shortcut twin one
// click away (two maps, two top classes); a bad address says what is wrong; Cancel stops
// a long grid and the page works on. Prints (does not assert) the grid's time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForFile, markStale, withWatchedPage, waitForDone, waitForState, canvasColours, screenshot } from "../support/browser.mjs";
import { convscope } from "../support/cli.mjs";

const env = browserForFile();

const withPage = (fn) => withWatchedPage(env, fn);

/** Each tile's {method, deletion, insertion, sanity} in the order shown. */
function tiles(page, testid = "compare-tile") {
  return page.$$eval(`[data-testid=${testid}]`, (figures) =>
    figures.map((f) => ({
      method: f.dataset.method,
      deletion: Number(f.dataset.deletion),
      insertion: Number(f.dataset.insertion),
      sanity: f.dataset.sanity === undefined ? undefined : Number(f.dataset.sanity),
      shown: Object.fromEntries([...f.querySelectorAll("dd[data-score]")].map((dd) => [dd.dataset.score, dd.textContent])),
    })),
  );
}

async function waitForCompare(page, what) {
  await waitForDone(page, what, 180_000);
  assert.equal(await page.getAttribute("#panel", "data-view"), "compare");
  assert.doesNotMatch(await page.textContent("#panel"), /\bnull\b|\bundefined\b|\bNaN\b/, `${what}: the panel prints a missing value`);
}

const query = (page) => new URL(page.url()).searchParams;

/** Opens the comparison grid, then waits for what `change` asks of it (`what`). */
async function fromTheGrid(page, change, what) {
  await page.goto(`${env.server.url}index.html?view=compare`);
  await waitForCompare(page, "the grid");
  await markStale(page);
  await change();
  await waitForCompare(page, what);
}

test("every method side by side: areas as the CLI's, sorted on request, kept in the address", async () => {
  await withPage(async ({ page }) => {
    // The views' default sample (the T-shirt), not the tour's pullover: on the pullover
    // Grad-CAM's deletion area differs between the page (wasm) and the CLI by 3e-4, more
    // than this test's 1e-4 (near-tied map values ranked apart by float noise; noted in
    // stop 21's closing note).
    await page.goto(`${env.server.url}index.html?view=predictions`);
    await waitForDone(page, "first load");
    const methods = await page.evaluate(() => window.convscope.app.catalogue.methods.map((m) => m.name));
    assert.ok(methods.length >= 9, `only ${methods.length} methods in the catalogue`);
    // Timed from the click (model and image loaded) to the last tile.
    await markStale(page);
    const start = Date.now();
    await page.click("[data-testid=view-compare]");
    await waitForCompare(page, "the comparison grid");
    const wall = Date.now() - start;
    const measured = Number(await page.getAttribute("[data-testid=compare-grid]", "data-ms"));
    console.log(`compare grid, ${methods.length} methods on the embedded Fashion-MNIST model: ${measured} ms from request to last tile (${wall} ms from the click to done)`);
    assert.equal(query(page).get("view"), "compare");

    const shown = await tiles(page);
    assert.deepEqual(shown.map((t) => t.method), methods, "one tile per method, in the catalogue's order");
    for (const t of shown) {
      for (const metric of ["deletion", "insertion"]) {
        const v = t[metric];
        assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `${t.method}: ${metric} area ${v} is not in [0, 1]`);
        assert.equal(t.shown[metric], v.toFixed(3), `${t.method}: the tile shows ${t.shown[metric]} for ${metric} ${v}`);
      }
      assert.equal(t.sanity, undefined, `${t.method}: a sanity score nobody asked for`);
    }
    const canvases = await canvasColours(page, "[data-testid=compare-tile] canvas");
    assert.equal(canvases.length, methods.length);
    for (const c of canvases) assert.ok(c.colours >= 2, `${c.name}: its map shows ${c.colours} colour(s)`);
    await screenshot(page, "compare");

    // The native CLI on the same model and image: the same areas.
    const sample = await page.inputValue("[data-testid=sample-select]");
    const picked = ["grad-cam", "saliency"];
    const run = convscope(["compare", ...picked, "--model", "www/models/fashion-vgg.json", "--image", `www/samples/${sample}.png`, "--json"]);
    assert.equal(run.status, 0, run.stderr);
    const rows = JSON.parse(run.stdout);
    assert.deepEqual(rows.map((r) => r.method), picked);
    for (const row of rows) {
      const t = shown.find((x) => x.method === row.method);
      assert.ok(Math.abs(t.deletion - row.deletion_auc) <= 1e-4, `${row.method}: deletion ${t.deletion} in the page, ${row.deletion_auc} by the CLI`);
      assert.ok(Math.abs(t.insertion - row.insertion_auc) <= 1e-4, `${row.method}: insertion ${t.insertion} in the page, ${row.insertion_auc} by the CLI`);
    }

    // Sorting reorders the same tiles, best first, without running anything again.
    for (const [by, better] of [
      ["deletion", (a, b) => a.deletion <= b.deletion],
      ["insertion", (a, b) => a.insertion >= b.insertion],
    ]) {
      const generation = await page.evaluate(() => window.convscope.generation);
      await page.selectOption("[data-testid=compare-sort]", by);
      const sorted = await tiles(page);
      assert.equal(await page.evaluate(() => document.documentElement.dataset.state), "done", `sorting by ${by} ran something`);
      assert.equal(await page.evaluate(() => window.convscope.generation), generation);
      assert.deepEqual([...sorted.map((t) => t.method)].sort(), [...methods].sort(), `sorting by ${by} lost or added tiles`);
      assert.notDeepEqual(sorted.map((t) => t.method), methods, `sorting by ${by} left the catalogue's order`);
      for (let i = 1; i < sorted.length; i++) assert.ok(better(sorted[i - 1], sorted[i]), `by ${by}: ${sorted[i - 1].method} before ${sorted[i].method}`);
      assert.equal(query(page).get("sort"), by);
    }

    // The address restores the view, sorted.
    const order = (await tiles(page)).map((t) => t.method);
    await markStale(page);
    await page.reload();
    await waitForCompare(page, "the grid after a reload");
    assert.deepEqual((await tiles(page)).map((t) => t.method), order, "the reloaded grid is not sorted as before");
    assert.equal(await page.inputValue("[data-testid=compare-sort]"), "insertion");
  });
});

test("the sanity scores on request, and sorted by", async () => {
  await withPage(async ({ page }) => {
    await fromTheGrid(page, () => page.check("[data-testid=compare-sanity]"), "the grid with sanity scores");
    assert.equal(query(page).get("sanityscore"), "1");
    const shown = await tiles(page);
    for (const t of shown) {
      assert.ok(Number.isFinite(t.sanity) && t.sanity >= -1 && t.sanity <= 1, `${t.method}: sanity ${t.sanity}`);
      assert.equal(t.shown.sanity, t.sanity.toFixed(3));
    }
    await page.selectOption("[data-testid=compare-sort]", "sanity");
    const sorted = await tiles(page);
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i - 1].sanity <= sorted[i].sanity, `by sanity: ${sorted[i - 1].method} before ${sorted[i].method}`);
    assert.equal(query(page).get("sort"), "sanity");
  });
});

test("the shortcut twin in one click: two maps, each model's top class", async () => {
  await withPage(async ({ page }) => {
    await fromTheGrid(page, () => page.click("[data-testid=compare-twin]"), "two models");
    assert.equal(query(page).get("mode"), "models");
    assert.equal(query(page).get("other"), "fashion-shortcut");
    const pair = await tiles(page, "compare-model");
    assert.equal(pair.length, 2, "not two maps");
    for (const t of pair) assert.equal(t.method, "grad-cam");
    const names = await page.$$eval("[data-testid=compare-model] h3", (h) => h.map((x) => x.textContent));
    assert.match(names[0], /^Fashion-MNIST VGG$/);
    assert.match(names[1], /shortcut twin/);
    const tops = await page.$$eval("[data-testid=compare-top]", (p) => p.map((x) => x.textContent));
    assert.equal(tops.length, 2);
    for (const top of tops) assert.match(top, /^top class .+ \([\d.]+%\)/);
    const canvases = await canvasColours(page, "[data-testid=compare-model] canvas");
    assert.equal(canvases.length, 2);
    for (const c of canvases) assert.ok(c.colours >= 2, `${c.name} shows ${c.colours} colour(s)`);
    await screenshot(page, "compare-twin");

    // Another method for both; the address keeps it and restores it.
    await markStale(page);
    await page.selectOption("[data-testid=compare-method]", "occlusion");
    await waitForCompare(page, "two models, occlusion");
    assert.deepEqual((await tiles(page, "compare-model")).map((t) => t.method), ["occlusion", "occlusion"]);
    await markStale(page);
    await page.reload();
    await waitForCompare(page, "two models after a reload");
    assert.deepEqual((await tiles(page, "compare-model")).map((t) => t.method), ["occlusion", "occlusion"]);
  });
});

test("a bad address says what is wrong, and the page goes on", async () => {
  await withPage(async ({ page, problems }) => {
    await page.goto(`${env.server.url}index.html?view=compare&mode=models&other=nope`);
    assert.equal(await waitForState(page, ["done", "error"], 180_000), "error");
    assert.match(await page.textContent("[data-testid=error]"), /unknown model "nope" to compare with; pick one of fashion, fashion-shortcut/);
    // The form is there to pick again.
    await markStale(page);
    await page.selectOption("[data-testid=compare-other]", "fashion-shortcut");
    await waitForCompare(page, "two models after picking one");
    assert.equal((await tiles(page, "compare-model")).length, 2);
    // An unknown sort is named, and the grid shown in the catalogue's order.
    await markStale(page);
    await page.goto(`${env.server.url}index.html?view=compare&sort=best`);
    await waitForCompare(page, "the grid with an unknown sort");
    assert.match(await page.textContent("[data-testid=compare-note]"), /Unknown sort "best"/);
    problems.length = 0; // the first error was the point
  });
});

test("Cancel stops a long grid; the page works on", async () => {
  await withPage(async ({ page }) => {
    // ResNet-18 at 224x224: each method's curves are 2 x 225 forward passes, seconds each.
    await page.goto(`${env.server.url}index.html?model=resnet18&image=coffee&view=compare`);
    await page.waitForFunction(() => /1 of \d+: scores/.test(document.querySelector("#progress-text")?.textContent ?? ""), null, { timeout: 180_000, polling: 20 });
    const generation = await page.evaluate(() => window.convscope.generation);
    await page.click("[data-testid=cancel]");
    assert.equal(await waitForState(page, ["ready", "error", "done"], 120_000), "ready");
    assert.match(await page.textContent("[data-testid=status]"), /Cancelled/);
    assert.equal(await page.evaluate(() => window.convscope.generation), generation + 1, "the worker was not replaced");
    assert.equal(await page.$$eval("[data-testid=compare-grid]", (g) => g.length), 0, "the cancelled grid was finished");
    await markStale(page);
    await page.click("[data-testid=view-predictions]");
    await waitForDone(page, "predictions after the cancel", 180_000);
    assert.equal(await page.$$eval("[data-testid=predictions] tbody tr", (rows) => rows.length), 5);
  });
});
