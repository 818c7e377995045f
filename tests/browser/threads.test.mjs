// Multi-core in the page (docs/web.md, "Threads"): served cross-origin isolated, the
// worker runs the wasm threads build (dist/pkg-threads/) on hardwareConcurrency threads
// (at most 8) and its predictions and Grad-CAM match the single-thread build's; served
// without the isolation headers it falls back to one thread and still works, on the
// relaxed-SIMD build (dist/pkg-relaxed/) where the site has it (Chromium runs it).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { openBrowser, markStale, watchedPage, waitForDone } from "../support/browser.mjs";
import { DIST } from "../support/paths.mjs";

// build-web.sh makes it only where the nightly toolchain builds it (else a warning).
const HAS_THREADS_BUILD = existsSync(path.join(DIST, "pkg-threads", "convscope_bg.wasm"));
const HAS_RELAXED_BUILD = existsSync(path.join(DIST, "pkg-relaxed", "convscope_bg.wasm"));

const envs = {};
before(async () => {
  envs.isolated = await openBrowser();
  envs.plain = await openBrowser({ isolated: false });
});
after(async () => {
  for (const env of Object.values(envs)) await env?.close();
});

// The default model's predictions and Grad-CAM on a page of `env`: what the worker says
// it runs on, the top-5 probabilities, the raw map's range as printed and the pixels of
// every canvas in the panel.
async function run(env) {
  const w = await watchedPage(env.browser);
  try {
    const { page } = w;
    await page.goto(`${env.server.url}index.html?view=predictions`);
    await waitForDone(page, "predictions");
    const isolated = await page.evaluate(() => self.crossOriginIsolated);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const threads = Number(await page.getAttribute("#model-name", "data-threads"));
    // "wasm build NAME, N thread(s)"
    const build = (await page.getAttribute("#model-name", "title")).match(/wasm build (\S+),/)?.[1];
    const preds = await page.$$eval("[data-testid=predictions] tbody tr", (rows) =>
      rows.map((r) => ({ cls: Number(r.dataset.class), prob: Number(r.dataset.prob) })),
    );
    await markStale(page);
    await page.click('[data-testid="view-grad-cam"]');
    await waitForDone(page, "grad-cam");
    const range = await page.textContent("[data-testid=attribution-range]");
    const pixels = await page.$$eval("#panel canvas", (canvases) =>
      canvases.map((c) => {
        const probe = document.createElement("canvas");
        [probe.width, probe.height] = [c.width, c.height];
        const ctx = probe.getContext("2d", { willReadFrequently: true });
        ctx.drawImage(c, 0, 0);
        return Array.from(ctx.getImageData(0, 0, c.width, c.height).data);
      }),
    );
    assert.deepEqual(w.problems, [], w.problems.join("\n"));
    return { isolated, cores, threads, build, preds, range, pixels };
  } finally {
    await w.close();
  }
}

test("isolated: the threads build on every core (at most 8); not isolated: one thread, same answers", async (t) => {
  const multi = await run(envs.isolated);
  const single = await run(envs.plain);
  assert.equal(multi.isolated, true, "the COOP/COEP headers did not isolate the page");
  assert.equal(single.isolated, false);
  assert.equal(single.threads, 1, "without isolation the page must run on one thread");
  assert.equal(single.build, HAS_RELAXED_BUILD ? "pkg-relaxed" : "pkg", "the single-thread build the worker chose");
  if (HAS_THREADS_BUILD) {
    assert.equal(multi.threads, Math.min(multi.cores, 8), `isolated page with ${multi.cores} cores runs ${multi.threads} thread(s)`);
  } else {
    assert.equal(multi.threads, 1);
    t.diagnostic("dist/pkg-threads/ not built (no nightly toolchain?): only the fallback was tested");
  }
  t.diagnostic(`isolated: ${multi.threads} thread(s) of ${multi.cores} cores; not isolated: ${single.threads}`);

  assert.deepEqual(multi.preds.map((p) => p.cls), single.preds.map((p) => p.cls), "top-5 classes differ");
  multi.preds.forEach((p, i) => assert.ok(Math.abs(p.prob - single.preds[i].prob) <= 1e-5, `rank ${i + 1}: ${p.prob} vs ${single.preds[i].prob}`));
  // Fused multiply-adds (relaxed SIMD) round differently from a multiply and an add:
  // the printed range may then move in its last digit.
  const numbers = (text) => text.match(/-?\d+(\.\d+)?(e-?\d+)?/g).map(Number);
  const [a, b] = [numbers(multi.range), numbers(single.range)];
  assert.equal(a.length, b.length, `Grad-CAM's raw range: ${multi.range} vs ${single.range}`);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-3 * Math.max(1, Math.abs(v)), `Grad-CAM's raw range: ${multi.range} vs ${single.range}`));
  assert.equal(multi.pixels.length, single.pixels.length);
  multi.pixels.forEach((px, c) => {
    assert.equal(px.length, single.pixels[c].length, `canvas ${c} size`);
    // One step of 255 for a value that lands on a rounding edge, no more.
    const worst = px.reduce((m, v, i) => Math.max(m, Math.abs(v - single.pixels[c][i])), 0);
    assert.ok(worst <= 1, `canvas ${c}: pixels differ by up to ${worst}`);
  });
});
