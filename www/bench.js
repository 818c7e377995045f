// The browser benchmark: one VGG forward pass in our wasm, onnxruntime-web and
// TensorFlow.js (wasm backend), same weights, same input, single thread, alternating
// engine by engine each round so all see the same machine load; medians go into
// <pre id="result"> as JSON and <html data-state> becomes "done" (or "error").
// ?onnx=NAME.onnx: instead, one ONNX file (the graph families' exports) in our wasm and
// onnxruntime-web, both opening the same bytes (bench/onnx-file.js).
import * as ort from "./ort/ort.wasm.min.mjs";
import { wasmBuild } from "./bench/features.js";
import { CFGS, IMAGENET, sampleInput } from "./bench/synthetic.js";
import { vggOnnx } from "./bench/onnx.js";
import { vggTfjs } from "./bench/tfjs-model.js";
import { fetchOnnx, oursFromOnnx, ortFromOnnx } from "./bench/onnx-file.js";
import { withInput } from "./bench/input.js";
import { compareThreads, threadedEngine } from "./bench/threads.js";

const params = new URLSearchParams(location.search);
const onnxFile = params.get("onnx");
const arch = params.get("arch") ?? "vgg16";
const runs = Math.max(1, Number(params.get("runs") ?? 5));
const seed = Number(params.get("seed") ?? 1);
// TensorFlow.js has no ONNX reader, so an ONNX file is ours against onnxruntime-web.
const engines = (params.get("engines") ?? (onnxFile ? "ours,ort" : "ours,ort,tfjs")).split(",");
// The memory rows load safetensors files of the named architectures, so not for a file.
const memory = params.get("memory") !== "0" && !onnxFile;
// Which explanations to time in our engine: occlusion (256 forward passes) would take
// minutes a round on ResNet-50, so a file gets Grad-CAM only unless asked.
const methods = (params.get("methods") ?? (onnxFile ? "grad-cam" : "grad-cam,occlusion")).split(",").filter(Boolean);
const status = document.getElementById("status");
// ?pkg=pkg forces the plain-SIMD build; by default relaxed-simd where the browser has it.
const build = await wasmBuild(params.get("pkg"));
// ?threads=N: our engine is the wasm threads build (dist/pkg-threads/, needs a cross-origin
// isolated page) on N threads, in a worker. Without it, one thread on `build`, so the
// comparison with onnxruntime-web and TensorFlow.js (both single-threaded here) is fair.
// ?threads=1,2: only our engine, the counts compared round by round (bench/threads.js).
const threadCounts = params.has("threads") ? params.get("threads").split(",").map((n) => Math.max(1, Math.floor(Number(n)) || 1)) : [];
const threads = threadCounts[0] ?? null;

const say = (text) => {
  status.textContent = text;
  console.log(text);
};
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;

// Largest |a - b| relative to the largest |b|.
function relDiff(a, b) {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}

// Each engine: { name, setup() -> run(x, dims) returning the logits }. The ONNX file's
// bytes, when ?onnx= is given, are fetched once into `onnxBytes`.
let onnxBytes = null;
const ENGINES = {
  async ours() {
    if (onnxFile) {
      if (threads) throw new Error("?onnx= runs our single-thread build only (no threads=)");
      say(`convscope: reading ${onnxFile}`);
      return oursFromOnnx(build, onnxFile, onnxBytes);
    }
    if (threads) {
      say(`convscope: building ${arch} (seed ${seed}) on the threads build, ${threads} thread(s)`);
      return threadedEngine(arch, seed, threads);
    }
    const { default: init, Model, Input } = await import(`./${build}/convscope.js`);
    const wasm = await init();
    say(`convscope: building ${arch} (seed ${seed})`);
    const model = Model.synthetic(arch, seed);
    const size = model.inputSize;
    const shape = [1, model.inChannels, size, size];
    return {
      size,
      channels: model.inChannels,
      run: (x) => withInput(Input, x, shape, (input) => model.logits(input)),
      // A method from the image, its own forward pass included (as `convscope bench`).
      explain: (x, method, options) => withInput(Input, x, shape, (input) => model.attribute(method, input, undefined, options, undefined)),
      memory: () => wasm.memory.buffer.byteLength,
    };
  },
  async ort() {
    if (onnxFile) {
      say(`onnxruntime-web: creating the session from ${onnxFile}`);
      return ortFromOnnx(ort, onnxBytes);
    }
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = new URL("ort/", location.href).href;
    say("onnxruntime-web: writing the ONNX model");
    const bytes = vggOnnx(cfg(), seed, IMAGENET);
    say(`onnxruntime-web: creating the session (${mb(bytes.length)} MB model)`);
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    const dims = [1, IMAGENET.inChannels, IMAGENET.size, IMAGENET.size];
    return {
      run: async (x) => (await session.run({ x: new ort.Tensor("float32", x, dims) })).logits.data,
    };
  },
  async tfjs() {
    if (onnxFile) throw new Error("TensorFlow.js has no ONNX reader: with ?onnx=, engines=ours,ort");
    const tf = globalThis.tf;
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    tf.wasm.setThreadsCount(1);
    tf.wasm.setWasmPaths(new URL("tfjs/", location.href).href);
    await tf.setBackend("wasm");
    await tf.ready();
    say("TensorFlow.js: uploading the weights");
    const model = vggTfjs(tf, cfg(), seed, IMAGENET);
    return {
      run: (x) => model.predict(x),
      simd: tf.env().getAsync ? await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") : null,
    };
  },
};

// Our wasm memory after loading `arch` from an f32 or f16 safetensors file and one
// forward pass, in a fresh instance in a worker.
function fileMemory(dtype) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./bench/memory-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = ({ data }) => {
      worker.terminate();
      if (data.error) reject(new Error(`${dtype} file: ${data.error}`));
      else resolve(data);
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(`${dtype} file: ${e.message}`));
    };
    worker.postMessage({ build, arch, seed, dtype });
  });
}

function cfg() {
  if (!CFGS[arch]) throw new Error(`onnxruntime-web and TensorFlow.js run only ${Object.keys(CFGS).join(", ")} here, not "${arch}"`);
  return CFGS[arch];
}

async function main() {
  if (threadCounts.length > 1) {
    const probe = globalThis.benchCpuProbe ?? (async () => {});
    return { ...(await compareThreads({ arch, seed, counts: threadCounts, runs, say, probe })), user_agent: navigator.userAgent };
  }
  if (onnxFile) {
    say(`fetching onnx/${onnxFile}`);
    onnxBytes = await fetchOnnx(onnxFile);
  }
  const ready = {};
  for (const name of engines) {
    if (!ENGINES[name]) throw new Error(`unknown engine "${name}" (ours, ort, tfjs)`);
    ready[name] = await ENGINES[name]();
  }
  onnxBytes = null; // both engines hold their own copies now
  // The input as our engine reads it from the model (a file's own size), else ImageNet's.
  const size = ready.ours?.size ?? IMAGENET.size;
  const channels = ready.ours?.channels ?? IMAGENET.inChannels;
  const dims = [1, channels, size, size];
  const x = sampleInput(channels, size);
  const times = Object.fromEntries(engines.map((n) => [n, []]));
  const logits = {};
  // scripts/bench-browser.sh exposes this to read the main thread's CPU time (DevTools
  // ThreadTime) around each run: on a shared machine it counts only the time we ran.
  const cpuProbe = globalThis.benchCpuProbe ?? (async () => {});
  for (let round = 0; round <= runs; round++) {
    for (const name of engines) {
      say(`round ${round}/${runs}: ${name}`);
      await cpuProbe(name, "start", round);
      const start = performance.now();
      const y = await ready[name].run(x, dims);
      const ms = performance.now() - start;
      await cpuProbe(name, "end", round);
      if (round === 0) logits[name] = Float32Array.from(y); // warm-up round
      else times[name].push(ms);
    }
  }
  const result = {
    ...(onnxFile ? { onnx: onnxFile, reader_notes: ready.ours?.notes } : { arch }),
    runs,
    input: [1, channels, size, size],
    wasm_build: threads ? "pkg-threads" : build,
    threads: ready.ours?.threads ?? 1,
  };
  const key = { ours: "forward_ms", ort: "ort_forward_ms", tfjs: "tfjs_forward_ms" };
  for (const name of engines) result[key[name]] = Math.round(median(times[name]) * 10) / 10;
  if (ready.ours) {
    // Grad-CAM and occlusion (window and stride a 16th of the input: 14 px at 224, a
    // 16x16 grid) in the same instance, as multiples of its forward pass.
    const tile = Math.max(1, Math.floor(size / 16));
    const timed = [
      ["grad-cam", {}, runs],
      ["occlusion", { window: tile, stride: tile }, Math.min(runs, 3)],
    ].filter(([method]) => methods.includes(method));
    if (ready.ours.camLayer) result.cam_layer = ready.ours.camLayer;
    for (const [method, options, n] of timed) {
      const key = `${method.replace("-", "_")}_ms`;
      const t = [];
      for (let round = 0; round <= n; round++) {
        say(`${method}: round ${round}/${n}`);
        await cpuProbe(method, "start", round);
        const start = performance.now();
        await ready.ours.explain(x, method, options);
        if (round > 0) t.push(performance.now() - start);
        await cpuProbe(method, "end", round);
      }
      result[key] = Math.round(median(t) * 10) / 10;
      result[`${method.replace("-", "_")}_x_forward`] = Math.round((median(t) / median(times.ours)) * 100) / 100;
    }
    result.wasm_memory_mb = mb(await ready.ours.memory());
    for (const name of ["ort", "tfjs"]) {
      if (logits[name]) result[`${name}_logits_rel_diff`] = Number(relDiff(logits[name], logits.ours).toExponential(2));
    }
  }
  if (memory && engines.includes("ours")) {
    cfg(); // the file is written from the named architectures only
    for (const dtype of ["F32", "F16"]) {
      say(`memory: loading ${arch} from an ${dtype} safetensors file in a fresh instance`);
      const m = await fileMemory(dtype);
      const key = dtype.toLowerCase();
      result[`wasm_memory_${key}_file_mb`] = Math.round(m.memory_mb * 10) / 10;
      result[`${key}_file_mb`] = Math.round(m.file_mb * 10) / 10;
      result[`${key}_load_ms`] = Math.round(m.load_ms);
    }
  }
  // Each round's ours / other, then their median: the engines run back to back in a
  // round, and a shared machine's load changes more between rounds than within one, which
  // a ratio of the two medians (taken from different rounds) does not cancel.
  if (times.ours) {
    for (const name of engines.filter((n) => n !== "ours")) {
      const ratios = times.ours.map((t, i) => t / times[name][i]);
      result[`ours_over_${name}_per_round`] = Math.round(median(ratios) * 1000) / 1000;
    }
  }
  const others = ["ort_forward_ms", "tfjs_forward_ms"].map((k) => result[k]).filter((v) => v !== undefined);
  if (result.forward_ms && others.length) result.ratio_to_fastest_other = Math.round((result.forward_ms / Math.min(...others)) * 1000) / 1000;
  result.times_ms = Object.fromEntries(engines.map((n) => [n, times[n].map((v) => Math.round(v))]));
  result.user_agent = navigator.userAgent;
  return result;
}

main().then(
  (result) => {
    document.getElementById("result").textContent = JSON.stringify(result, null, 2);
    say("done");
    document.documentElement.dataset.state = "done";
  },
  (err) => {
    document.getElementById("result").textContent = JSON.stringify({ error: String(err?.message ?? err) });
    say(`error: ${err?.message ?? err}`);
    document.documentElement.dataset.state = "error";
  },
);
