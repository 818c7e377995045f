// Measures (prints, asserts nothing about time): a cold page load, in a fresh browser
// context, to a finished Grad-CAM of the embedded default model (the Fashion-MNIST VGG),
// and the size of the wasm file. The numbers are reported in docs/web.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { browserForFile, watchedPage, waitForDone } from "../support/browser.mjs";
import { PKG_WASM } from "../support/paths.mjs";

const env = browserForFile();

test("cold load to a finished Grad-CAM, and the wasm size", async () => {
  const times = [];
  for (let run = 0; run < 3; run++) {
    const w = await watchedPage(env.browser);
    try {
      await w.page.goto(`${env.server.url}index.html?view=grad-cam`);
      await waitForDone(w.page, "grad-cam");
      const ms = await w.page.evaluate(() => performance.getEntriesByName("convscope:first-done")[0]?.startTime);
      assert.ok(ms > 0, "the page set no first-done mark");
      times.push(ms);
      assert.deepEqual(w.problems, [], w.problems.join("\n"));
    } finally {
      await w.close();
    }
  }
  const bytes = statSync(PKG_WASM).size;
  console.log(`web: cold load to a finished Grad-CAM (embedded Fashion-MNIST model, headless): ${times.map((t) => t.toFixed(0)).join(", ")} ms`);
  console.log(`web: wasm ${bytes} bytes (${(bytes / 1024 / 1024).toFixed(2)} MiB)`);
});
