// Our engine for bench.html?threads=N: the wasm threads build (dist/pkg-threads/) with a
// pool of N threads, in a worker as in the page. Not on the bench page's main thread:
// there rayon's caller cannot sleep (Atomics.wait is not allowed on a main thread), so it
// would spin on a core while the pool works and the timing would measure that contention.
// Requests {id, type, ...}: setup {arch, seed, threads} -> {size, channels, threads};
// run {x, shape} -> logits; explain {x, shape, method, options} -> true; memory -> bytes.
// Answers {id, ok: true, result} or {id, ok: false, error}.
import { withInput } from "./input.js";

let model = null;
let wasm = null;
let Input = null;

const handlers = {
  async setup({ arch, seed, threads }) {
    const pkg = await import("../pkg-threads/convscope.js");
    wasm = await pkg.default();
    await pkg.initThreadPool(threads);
    model = pkg.Model.synthetic(arch, seed);
    Input = pkg.Input;
    return { size: model.inputSize, channels: model.inChannels, threads: pkg.threadCount() };
  },
  run: ({ x, shape }) => withInput(Input, x, shape, (input) => model.logits(input)),
  // The method's result stays here: only its time is measured.
  explain: ({ x, shape, method, options }) => {
    withInput(Input, x, shape, (input) => model.attribute(method, input, undefined, options, undefined));
    return true;
  },
  memory: () => wasm.memory.buffer.byteLength,
};

self.onmessage = async ({ data: { id, type, ...args } }) => {
  try {
    self.postMessage({ id, ok: true, result: await handlers[type](args) });
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err?.message ?? err) });
  }
};
