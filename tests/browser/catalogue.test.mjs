// The page is made from the core's method catalogue: it offers exactly the catalogue's
// methods, checks and options (read from the page in headless Chromium, compared with
// `convscope methods --json` from the real CLI), and a value out of range gets the same
// refusal from the page as from the CLI, before any work (no progress reported).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { browserForTests, markStale, withWatchedPage, waitForDone, waitForState, screenshot } from "../support/browser.mjs";
import { convscope } from "../support/cli.mjs";

const env = browserForTests();
let catalogue;
before(() => {
  const run = convscope(["methods", "--json"]);
  assert.equal(run.status, 0, run.stderr);
  catalogue = JSON.parse(run.stdout);
});

const withPage = (fn) => withWatchedPage(env(), fn);

/** The embedded Fashion-MNIST model (28x28 inputs) on `view`, finished. */
async function open(page, view) {
  await page.goto(`${env().server.url}index.html?model=fashion&view=${view}`);
  await waitForDone(page, view);
}

/** The options form of the panel as the page offers it: one entry per field. */
function readForm(page) {
  return page.$$eval("#panel form.options [name]", (fields) =>
    fields.map((f) =>
      f.tagName === "SELECT"
        ? { name: f.name, choices: [...f.options].map((o) => o.value) }
        : { name: f.name, type: f.type, min: f.min, max: f.max, step: f.step, placeholder: f.placeholder, title: f.title },
    ),
  );
}

/** What the page should offer for a catalogue option (the embedded model's side: 28 px). */
function expected(option) {
  if (option.type === "choice") return { name: option.name, choices: ["", ...option.choices] };
  const max = option.max === "input" ? 28 : option.max;
  return {
    name: option.name,
    type: "number",
    min: option.min === null ? "" : String(option.min),
    max: max === null ? "" : String(max),
    step: option.type === "integer" ? "1" : "any",
    placeholder: option.defaultText,
    title: `${option.help} [default: ${option.defaultText}]`,
  };
}

/** The form's folded help names each option with its help, default and unit. */
async function assertHelp(page, entry) {
  if (!entry.options.length) return;
  const items = await page.$$eval(`[data-testid="${entry.name}-help"] li`, (lis) => lis.map((li) => li.textContent));
  assert.equal(items.length, entry.options.length, entry.name);
  entry.options.forEach((o, i) => {
    assert.ok(items[i].startsWith(`${o.name}: ${o.help} (default ${o.defaultText}; ${o.rangeText}`), `${entry.name}: ${items[i]}`);
    if (o.unit) assert.ok(items[i].endsWith(`, ${o.unit})`), `${entry.name}: ${items[i]}`);
  });
}

test("the page offers exactly the catalogue's methods, checks and options", async () => {
  await withPage(async ({ page }) => {
    await open(page, "predictions");
    const listed = await page.$$eval("#view-list .view-group", (groups) =>
      groups.map((g) => ({ group: g.querySelector("h3").textContent, views: [...g.querySelectorAll("button")].map((b) => [b.dataset.view, b.textContent]) })),
    );
    const attribution = listed.find((g) => g.group === "Why this class?").views;
    const wanted = [...catalogue.methods, ...catalogue.checks].map((m) => [m.name, m.title]);
    assert.deepEqual(attribution, wanted);

    for (const method of catalogue.methods) {
      await markStale(page);
      await page.click(`[data-testid="view-${method.name}"]`);
      await waitForDone(page, method.name);
      assert.deepEqual(await readForm(page), method.options.map(expected), method.name);
      await assertHelp(page, method);
      // A method that works at a layer offers the layer menu, the others do not.
      assert.equal(await page.isVisible("[data-testid=layer-select]"), method.layer, `${method.name}: layer menu`);
      assert.ok((await page.textContent("#panel .hint")).startsWith(method.about), `${method.name}: description`);
    }
    for (const check of catalogue.checks) {
      await markStale(page);
      await page.click(`[data-testid="view-${check.name}"]`);
      await waitForDone(page, check.name);
      const [methodMenu, ...own] = await readForm(page);
      assert.deepEqual(methodMenu, { name: "method", choices: catalogue.methods.map((m) => m.name) }, check.name);
      assert.deepEqual(own, check.options.map(expected), check.name);
      await assertHelp(page, check);
    }
  });
});

// The three refusals of the issue, on the embedded model and one of its samples.
const REFUSED = [
  { method: "integrated-gradients", option: "steps", value: "1", fine: "2" },
  { method: "occlusion", option: "window", value: "29", fine: "28" },
  { method: "smoothgrad", option: "noise", value: "-0.1", fine: "0" },
];

test("an out-of-range value gets the CLI's refusal in the page, before any work", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "convscope-catalogue-"));
  await withPage(async ({ page }) => {
    for (const { method, option, value, fine } of REFUSED) {
      // The CLI: one line, exit 1, no progress line, nothing written.
      const out = path.join(dir, `${method}.npy`);
      const run = convscope(["explain", method, `--${option}`, value, "--progress", "--model", "www/models/fashion-vgg.json", "--image", "www/samples/fashion-00000.png", "--out", out]);
      assert.equal(run.status, 1, run.stderr);
      assert.equal(run.stderr.split("\n").filter(Boolean).length, 1, run.stderr);
      assert.ok(run.stderr.startsWith("convscope: error: "), run.stderr);
      assert.ok(!existsSync(out), `${method}: the CLI wrote ${out}`);
      const message = run.stderr.trim().slice("convscope: error: ".length);

      // The page: the same words in its error box, and no progress from the worker.
      await open(page, method);
      await page.evaluate(() => {
        const worker = window.convscope.app.worker;
        const receive = worker.receive.bind(worker);
        window.progressSeen = 0;
        worker.receive = (data) => {
          if ("progress" in data) window.progressSeen += 1;
          receive(data);
        };
      });
      await markStale(page);
      await page.fill(`[data-testid=${method}-${option}]`, value);
      await page.click(`[data-testid=${method}-run]`);
      assert.equal(await waitForState(page, ["error", "done"]), "error", `${method} ${option} ${value} ran`);
      assert.equal(await page.textContent("[data-testid=error]"), message);
      assert.equal(await page.evaluate(() => window.progressSeen), 0, `${method}: progress was reported`);
      // The form stays to correct the value; a value in range runs (and reports progress).
      assert.equal(await page.inputValue(`[data-testid=${method}-${option}]`), value);
      await screenshot(page, `refused-${method}`);
      await markStale(page);
      await page.fill(`[data-testid=${method}-${option}]`, fine);
      await page.click(`[data-testid=${method}-run]`);
      await waitForDone(page, `${method} ${option} ${fine}`);
      assert.ok((await page.evaluate(() => window.progressSeen)) > 0, `${method}: no progress reported for a run`);
    }
  });
});
