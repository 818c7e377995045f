// The benchmark's ONNX-file mode (?onnx=NAME.onnx): one exported model (the graph
// families' fixtures, too large to commit) opened by our wasm and by onnxruntime-web
// from the very same bytes, so the two engines run one model, not two builds of it.
// scripts/bench-browser.sh serves the file at onnx/NAME from $CONVSCOPE_ONNX_FAMILIES.

import { withInput } from "./input.js";

const MAKE = "python3 scripts/fixtures/make_onnx_fixtures.py families DIR";

/** The bytes of onnx/`name`; a missing file is named with the command that makes it. */
export async function fetchOnnx(name) {
  if (!/^[\w.-]+\.onnx$/.test(name)) throw new Error(`onnx=${name}: give a file name such as resnet50-s22.onnx`);
  const response = await fetch(`onnx/${name}`);
  if (response.status === 404) {
    throw new Error(
      `${name} is not served: make the exports with \`${MAKE}\` and run ` +
        `\`CONVSCOPE_ONNX_FAMILIES=DIR scripts/bench-browser.sh "onnx=${name}"\``,
    );
  }
  if (!response.ok) throw new Error(`onnx/${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Our wasm on the file (Model.fromOnnx, as the page's worker opens a visitor's file). */
export async function oursFromOnnx(build, name, bytes) {
  const { default: init, Model, FileBytes, Input } = await import(`../${build}/convscope.js`);
  const wasm = await init();
  const sink = new FileBytes(bytes.length);
  sink.push(bytes);
  const { model, notes } = Model.fromOnnx(sink, name, undefined, undefined, undefined, "imagenet");
  const size = model.inputSize;
  const shape = [1, model.inChannels, size, size];
  return {
    size,
    channels: model.inChannels,
    camLayer: model.camLayer,
    notes,
    run: (x) => withInput(Input, x, shape, (input) => model.logits(input)),
    // Grad-CAM at the model's default layer (the page's), its own forward pass included.
    explain: (x, method, options) => withInput(Input, x, shape, (input) => model.attribute(method, input, undefined, options, undefined)),
    memory: () => wasm.memory.buffer.byteLength,
  };
}

/** onnxruntime-web (wasm, one thread) on the same bytes; its input and output by name. */
export async function ortFromOnnx(ort, bytes) {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = new URL("../ort/", import.meta.url).href;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const [input] = session.inputNames;
  const [output] = session.outputNames;
  return {
    run: async (x, dims) => (await session.run({ [input]: new ort.Tensor("float32", x, dims) }))[output].data,
  };
}
