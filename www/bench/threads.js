// bench.html?threads=...: our engine on the wasm threads build (dist/pkg-threads/, needs a
// cross-origin isolated page), each thread count in its own worker (threads-worker.js).
// `threads=1,2` compares counts round by round in the same page, so on a shared machine
// each count sees the same load: the only fair way to say what a second core gives.
import { sampleInput } from "./synthetic.js";

const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const round1 = (v) => Math.round(v * 10) / 10;

/** The engine face bench.js uses ({size, channels, threads, run, explain, memory}), async. */
export async function threadedEngine(arch, seed, threads) {
  if (!self.crossOriginIsolated) throw new Error("?threads needs a cross-origin isolated page (COOP and COEP headers, docs/web.md)");
  const worker = new Worker(new URL("./threads-worker.js", import.meta.url), { type: "module" });
  const pending = new Map();
  let next = 0;
  worker.onmessage = ({ data }) => {
    const { resolve, reject } = pending.get(data.id);
    pending.delete(data.id);
    if (data.ok) resolve(data.result);
    else reject(new Error(`threads worker: ${data.error}`));
  };
  worker.onerror = (e) => {
    for (const { reject } of pending.values()) reject(new Error(`threads worker failed: ${e.message}`));
    pending.clear();
  };
  const call = (type, args = {}) =>
    new Promise((resolve, reject) => {
      pending.set(++next, { resolve, reject });
      worker.postMessage({ id: next, type, ...args });
    });
  const info = await call("setup", { arch, seed, threads });
  const shape = [1, info.channels, info.size, info.size];
  return {
    size: info.size,
    channels: info.channels,
    threads: info.threads,
    run: (x) => call("run", { x, shape }),
    explain: (x, method, options) => call("explain", { x, shape, method, options }),
    memory: () => call("memory"),
    close: () => worker.terminate(),
  };
}

/**
 * Forward, Grad-CAM and occlusion (16x16 grid) for each thread count in `counts`,
 * alternating count by count within every round (round 0 a warm-up). `probe(name, phase,
 * round)` is bench-browser.sh's CPU-time hook, named `ours@N`, `grad-cam@N`, `occlusion@N`.
 */
export async function compareThreads({ arch, seed, counts, runs, say, probe }) {
  const engines = [];
  for (const n of counts) {
    say(`convscope: building ${arch} (seed ${seed}) on the threads build, ${n} thread(s)`);
    engines.push(await threadedEngine(arch, seed, n));
  }
  const { size, channels } = engines[0];
  const x = sampleInput(channels, size);
  const tile = Math.max(1, Math.floor(size / 16));
  const tasks = [
    ["forward", "ours", runs, (e) => e.run(x)],
    ["grad_cam", "grad-cam", runs, (e) => e.explain(x, "grad-cam", {})],
    ["occlusion", "occlusion", Math.min(runs, 3), (e) => e.explain(x, "occlusion", { window: tile, stride: tile })],
  ];
  const times = {};
  for (const [key, probeName, n, task] of tasks) {
    for (let round = 0; round <= n; round++) {
      for (const e of engines) {
        say(`${key}, ${e.threads} thread(s): round ${round}/${n}`);
        await probe(`${probeName}@${e.threads}`, "start", round);
        const start = performance.now();
        await task(e);
        const ms = performance.now() - start;
        await probe(`${probeName}@${e.threads}`, "end", round);
        if (round > 0) ((times[e.threads] ??= {})[key] ??= []).push(ms);
      }
    }
  }
  const byThreads = {};
  for (const e of engines) {
    const t = times[e.threads];
    byThreads[e.threads] = {
      forward_ms: round1(median(t.forward)),
      grad_cam_ms: round1(median(t.grad_cam)),
      occlusion_ms: round1(median(t.occlusion)),
      times_ms: Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.map(Math.round)])),
    };
    e.close();
  }
  // Speed-up of each count over the first, per task (medians).
  const base = byThreads[engines[0].threads];
  const speedup = {};
  for (const e of engines.slice(1)) {
    const b = byThreads[e.threads];
    speedup[e.threads] = Object.fromEntries(
      ["forward_ms", "grad_cam_ms", "occlusion_ms"].map((k) => [k.replace("_ms", ""), Math.round((base[k] / b[k]) * 100) / 100]),
    );
  }
  return { arch, runs, input: [1, channels, size, size], wasm_build: "pkg-threads", threads: engines.map((e) => e.threads), by_threads: byThreads, speedup_over_first: speedup };
}
