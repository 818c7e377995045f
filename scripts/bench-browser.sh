#!/usr/bin/env bash
# Runs the browser benchmark (dist/bench.html: our wasm vs onnxruntime-web vs
# TensorFlow.js, single thread) in headless Debian Chromium via playwright-core, served
# on 127.0.0.1, and prints its JSON. Build first with scripts/build-web.sh (after npm ci).
# Usage: scripts/bench-browser.sh ["arch=vgg16&runs=5"]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
query="${1:-arch=vgg16&runs=5}"
if [[ ! -f dist/bench.html || ! -f dist/pkg/convscope_bg.wasm || ! -d dist/ort ]]; then
    echo "bench-browser: dist/ has no benchmark page; run npm ci and scripts/build-web.sh first" >&2
    exit 1
fi
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [[ -z "$chromium" ]]; then
    echo "bench-browser: chromium not found on PATH (apt-get install chromium)" >&2
    exit 1
fi

CHROMIUM="$chromium" QUERY="$query" node --input-type=module - <<'JS'
import { chromium } from "playwright-core";
import { serveStatic } from "./tests/support/server.mjs";

const server = await serveStatic("dist");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
let failed = false;
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.error(`[page] ${m.text()}`));
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  // CPU time of the page's main thread around each timed run (DevTools ThreadTime):
  // wall time on a loaded machine includes waiting for a core, this does not.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable", { timeDomain: "threadTicks" });
  const threadMs = async () => (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "ThreadTime").value * 1e3;
  const cpu = {};
  const open = {};
  await page.exposeFunction("benchCpuProbe", async (engine, phase, round) => {
    const now = await threadMs();
    if (phase === "start") open[engine] = now;
    else if (round > 0) (cpu[engine] ??= []).push(now - open[engine]);
  });
  await page.goto(`${server.url}bench.html?${process.env.QUERY}`);
  await page.waitForFunction(() => ["done", "error"].includes(document.documentElement.dataset.state), null, { timeout: 30 * 60_000, polling: 1000 });
  failed = (await page.evaluate(() => document.documentElement.dataset.state)) !== "done";
  const result = JSON.parse(await page.textContent("#result"));
  const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  const key = { ours: "forward_cpu_ms", ort: "ort_forward_cpu_ms", tfjs: "tfjs_forward_cpu_ms" };
  for (const [engine, v] of Object.entries(cpu)) result[key[engine]] = Math.round(median(v) * 10) / 10;
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
JS
