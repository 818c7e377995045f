#!/usr/bin/env bash
# Runs the browser benchmark (dist/bench.html: our wasm vs onnxruntime-web vs
# TensorFlow.js, single thread) in headless Debian Chromium via playwright-core, served
# on 127.0.0.1 (cross-origin isolated, so "threads=N" can run the wasm threads build), and
# prints its JSON. Build first with scripts/build-web.sh.
# Usage: scripts/bench-browser.sh ["arch=vgg16&runs=5[&threads=2]"]; "threads=1,2&engines=ours"
# compares thread counts round by round in one page (fair on a shared machine).
# "onnx=resnet50-s22.onnx&runs=5": that ONNX export of a graph family, from the folder
# $CONVSCOPE_ONNX_FAMILIES (made by scripts/fixtures/make_onnx_fixtures.py families DIR;
# too large to commit), in our wasm and onnxruntime-web, both from the same bytes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
query="${1:-arch=vgg16&runs=5}"
if [[ ! -f dist/bench.html || ! -f dist/pkg/convscope_bg.wasm || ! -d dist/ort ]]; then
    echo "bench-browser: dist/ has no benchmark page; run scripts/build-web.sh first" >&2
    exit 1
fi
[[ -n "${CHROMIUM:-}" ]] || "$root/scripts/setup.sh" browser
chromium="${CHROMIUM:-$(command -v chromium)}"

# The named export, checked here so a missing one is named before a browser starts.
onnx="$(QUERY="$query" node -e 'console.log(new URLSearchParams(process.env.QUERY).get("onnx") ?? "")')"
if [[ -n "$onnx" ]]; then
    dir="${CONVSCOPE_ONNX_FAMILIES:-}"
    make="python3 scripts/fixtures/make_onnx_fixtures.py families DIR"
    if [[ -z "$dir" ]]; then
        echo "bench-browser: onnx=$onnx needs CONVSCOPE_ONNX_FAMILIES=DIR, the folder of the exports ($make)" >&2
        exit 1
    fi
    if [[ ! -f "$dir/$onnx" ]]; then
        echo "bench-browser: $dir/$onnx is missing; make the exports with: ${make/DIR/$dir}" >&2
        exit 1
    fi
    export ONNX_FILE="$dir/$onnx"
fi

CHROMIUM="$chromium" QUERY="$query" node --input-type=module - <<'JS'
import { chromium } from "playwright-core";
import { serveStatic } from "./tests/support/server.mjs";

import { readFileSync, readdirSync } from "node:fs";
import { basename } from "node:path";

// An ONNX export is served as onnx/NAME from outside dist/ (it is never copied there).
const extra = {};
if (process.env.ONNX_FILE) extra[`/onnx/${basename(process.env.ONNX_FILE)}`] = readFileSync(process.env.ONNX_FILE);
const server = await serveStatic("dist", { extra });
// A browser server rather than launch(): its process id lets us find its renderers.
const browserServer = await chromium.launchServer({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const browser = await chromium.connect(browserServer.wsEndpoint());

// CPU time (ms) of this browser's renderer processes, every thread: the page's main
// thread and its workers, so the wasm threads too (/proc/PID/stat utime + stime, in
// clock ticks of 10 ms). Other Chromiums on the machine are not counted.
function rendererCpuMs() {
  const procs = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
      procs.push({ pid: Number(name), ppid: Number(fields[1]), cpu: Number(fields[11]) + Number(fields[12]), renderer: cmdline.includes("--type=renderer") });
    } catch {
      // the process ended while we read it
    }
  }
  const ours = new Set([browserServer.process().pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!ours.has(p.pid) && ours.has(p.ppid)) {
        ours.add(p.pid);
        grew = true;
      }
    }
  }
  return procs.filter((p) => p.renderer && ours.has(p.pid)).reduce((sum, p) => sum + p.cpu, 0) * 10;
}
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
  const all = {};
  const open = {};
  await page.exposeFunction("benchCpuProbe", async (engine, phase, round) => {
    const now = [await threadMs(), rendererCpuMs()];
    if (phase === "start") open[engine] = now;
    else if (round > 0) {
      (cpu[engine] ??= []).push(now[0] - open[engine][0]);
      (all[engine] ??= []).push(now[1] - open[engine][1]);
    }
  });
  await page.goto(`${server.url}bench.html?${process.env.QUERY}`);
  await page.waitForFunction(() => ["done", "error"].includes(document.documentElement.dataset.state), null, { timeout: 30 * 60_000, polling: 1000 });
  failed = (await page.evaluate(() => document.documentElement.dataset.state)) !== "done";
  const result = JSON.parse(await page.textContent("#result"));
  const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  // *_cpu_ms: the page's main thread only (with ?threads=N our engine runs in a worker,
  // so read the next); *_renderer_cpu_ms: all the page's threads (10 ms resolution).
  const key = { ours: "forward", ort: "ort_forward", tfjs: "tfjs_forward", "grad-cam": "grad_cam", occlusion: "occlusion" };
  // "name@N": N threads (threads=1,2 compares counts): forward_cpu_ms@2 and so on.
  const name = (probe) => probe.replace(/^([^@]+)(@\d+)?$/, (_, e, n = "") => `${key[e]}_cpu_ms${n}`);
  for (const [engine, v] of Object.entries(cpu)) result[name(engine)] = Math.round(median(v) * 10) / 10;
  for (const [engine, v] of Object.entries(all)) result[name(engine).replace("_cpu_ms", "_renderer_cpu_ms")] = Math.round(median(v));
  // The same per-round ratio on main-thread CPU time, which waiting for a core does not inflate.
  for (const other of ["ort", "tfjs"]) {
    if (cpu.ours && cpu[other]?.length === cpu.ours.length) {
      result[`ours_over_${other}_cpu_per_round`] = Math.round(median(cpu.ours.map((t, i) => t / cpu[other][i])) * 1000) / 1000;
    }
  }
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  await browserServer.close();
  await server.close();
}
process.exit(failed ? 1 : 0);
JS
