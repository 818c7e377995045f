// The model worker: owns the wasm module and the model, so the page stays responsive
// while the network runs. Protocol: the page posts {id, type, ...args}; the worker
// answers {id, ok: true, result} or {id, ok: false, error: message}.
import init, { Model } from "./pkg/convscope.js";

const ready = init();
let model = null;

const handlers = {
  // Builds a model with deterministic synthetic weights; answers its description.
  async synthetic({ arch, seed }) {
    replace(Model.synthetic(arch, seed));
    return describe();
  },
  // Loads safetensors weights (an ArrayBuffer) for arch; answers its description.
  async load({ arch, weights }) {
    replace(Model.load(arch, new Uint8Array(weights)));
    return describe();
  },
  // Top-k classes for a float32 NCHW input.
  async predict({ input, shape, k }) {
    return current().predict(input, Uint32Array.from(shape), k);
  },
  async logits({ input, shape }) {
    return current().logits(input, Uint32Array.from(shape));
  },
  async activations({ input, shape, layer }) {
    return current().activations(input, Uint32Array.from(shape), layer);
  },
};

function replace(next) {
  if (model) model.free();
  model = next;
}

function current() {
  if (!model) throw new Error("no model loaded yet");
  return model;
}

function describe() {
  return {
    summary: model.summary(),
    layerNames: model.layerNames(),
    inChannels: model.inChannels,
    classes: model.classes,
    inputSize: model.inputSize,
  };
}

self.onmessage = async (event) => {
  const { id, type, ...args } = event.data;
  try {
    await ready;
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown request type ${type}`);
    const result = await handler(args);
    const transfer = ArrayBuffer.isView(result) ? [result.buffer] : [];
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (err) {
    self.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
