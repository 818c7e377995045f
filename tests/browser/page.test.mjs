// The built site (dist/, made by scripts/build-web.sh) in headless Chromium: the page
// must load the wasm in its worker, show the tiny model's layer table and the top-5
// classes of the bundled sample image, and reach data-state="ready".
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { serveStatic } from "../support/server.mjs";
import { DIST, TINY_REF } from "../support/paths.mjs";

const ref = JSON.parse(readFileSync(TINY_REF, "utf8"));

function chromiumPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  try {
    return execFileSync("sh", ["-c", "command -v chromium || command -v chromium-browser"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("chromium not found on PATH (apt-get install chromium)");
  }
}

let server;
let browser;

before(async () => {
  assert.ok(existsSync(`${DIST}/index.html`), `${DIST} is not built: run scripts/build-web.sh first`);
  server = await serveStatic(DIST);
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test("index page shows the model summary and top-5 predictions", async () => {
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on("response", (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  try {
    await page.goto(server.url + "index.html");
    await page.waitForFunction(() => ["ready", "error"].includes(document.documentElement.dataset.state), null, { timeout: 60_000 });
    const state = await page.evaluate(() => document.documentElement.dataset.state);
    if (state !== "ready") {
      const message = await page.textContent("#error");
      assert.fail(`page reached state "${state}": ${message}\n${problems.join("\n")}`);
    }

    // The layer table: one row per layer of the tiny model, torchvision names.
    const layers = await page.$$eval("#summary tbody tr", (rows) => rows.map((r) => r.textContent));
    const tableText = layers.join("\n");
    for (let i = 0; i <= 8; i++) assert.ok(tableText.includes(`features.${i}`), `summary table lacks features.${i}:\n${tableText}`);
    assert.ok(/classifier\./.test(tableText), `summary table lacks the classifier layers:\n${tableText}`);
    assert.ok(await page.isVisible("#summary"), "summary table is hidden");

    // Top-5: probabilities in (0, 1], descending, summing to at most 1; the top class
    // matches the reference (canvas pixels of the PNG are the .npy's pixels).
    const preds = await page.$$eval("#predictions tbody tr", (rows) =>
      rows.map((r) => ({ cls: Number(r.dataset.class), prob: Number(r.dataset.prob), text: r.textContent })),
    );
    assert.equal(preds.length, 5, `expected 5 predictions, got ${JSON.stringify(preds)}`);
    assert.ok(preds.every((p) => p.prob > 0 && p.prob <= 1), JSON.stringify(preds));
    for (let i = 1; i < preds.length; i++) assert.ok(preds[i - 1].prob >= preds[i].prob, "predictions not sorted");
    const sum = preds.reduce((a, p) => a + p.prob, 0);
    assert.ok(sum <= 1 + 1e-6, `top-5 probabilities sum to ${sum}`);
    const refTop = ref.probs.indexOf(Math.max(...ref.probs));
    assert.equal(preds[0].cls, refTop, `top class ${preds[0].cls}, reference ${refTop}`);
    assert.ok(Math.abs(preds[0].prob - ref.probs[refTop]) < 0.02, `top prob ${preds[0].prob} vs reference ${ref.probs[refTop]}`);
    assert.ok(await page.isVisible("#predictions"), "predictions table is hidden");
    assert.ok(!(await page.isVisible("#error")), "error box is visible");
    assert.deepEqual(problems, [], problems.join("\n"));
  } finally {
    await page.close();
  }
});
