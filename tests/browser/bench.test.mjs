// The benchmark page's ONNX-file mode (bench.html?onnx=NAME.onnx, www/bench/onnx-file.js)
// on a tiny fixture: it completes with both engines' numbers and their logits agreeing,
// and a file that is not served is named with the command that makes the exports. The
// times are printed, never asserted (benchmarks print numbers).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { openBrowser } from "../support/browser.mjs";
import { ROOT } from "../support/paths.mjs";

const TINY = path.join(ROOT, "crate", "tests", "fixtures", "onnx", "tiny_resnet.onnx");

let env;
before(async () => {
  env = await openBrowser({ extra: { "/onnx/tiny_resnet.onnx": readFileSync(TINY) } });
});
after(async () => {
  await env?.close();
});

/** bench.html?`query` run to its end: [data-state, the #result JSON]. */
async function runBench(query) {
  const page = await env.browser.newPage();
  try {
    await page.goto(`${env.server.url}bench.html?${query}`);
    await page.waitForFunction(() => ["done", "error"].includes(document.documentElement.dataset.state), null, { timeout: 120_000 });
    return [await page.evaluate(() => document.documentElement.dataset.state), JSON.parse(await page.textContent("#result"))];
  } finally {
    await page.close();
  }
}

test("?onnx= runs one file in ours and onnxruntime-web, with Grad-CAM at the default layer", async () => {
  const [state, result] = await runBench("onnx=tiny_resnet.onnx&runs=2");
  assert.equal(state, "done", JSON.stringify(result));
  assert.equal(result.onnx, "tiny_resnet.onnx");
  assert.deepEqual(result.input, [1, 3, 32, 32]);
  for (const key of ["forward_ms", "ort_forward_ms", "grad_cam_ms", "ours_over_ort_per_round"]) assert.equal(typeof result[key], "number", key);
  assert.ok(result.cam_layer, "no Grad-CAM layer named");
  assert.equal(result.occlusion_ms, undefined, "occlusion is only timed when asked for");
  // Same file, same input, float32 in both: only summation order differs.
  assert.ok(result.ort_logits_rel_diff < 1e-5, `logits differ by ${result.ort_logits_rel_diff}`);
  console.log(`bench: tiny_resnet.onnx forward ${result.forward_ms} ms ours, ${result.ort_forward_ms} ms onnxruntime-web; logits within ${result.ort_logits_rel_diff}`);
});

test("a file that is not served is named with the command that makes the exports", async () => {
  const [state, result] = await runBench("onnx=resnet50-s22.onnx&runs=1");
  assert.equal(state, "error");
  assert.match(result.error, /resnet50-s22\.onnx/);
  assert.match(result.error, /make_onnx_fixtures\.py families/);
});
