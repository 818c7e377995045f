// Measures our wasm memory for a model loaded from a safetensors file (f32 or f16), in a
// fresh module instance (wasm memory only grows, so each measurement needs its own):
// builds the file from the synthetic weights, loads it, runs one forward pass and posts
// { memory_mb, file_mb, load_ms } (or { error }).
import { CFGS, IMAGENET, fill, paramSpecs, sampleInput } from "./synthetic.js";

function toF16(values) {
  if (typeof Float16Array === "function") return new Uint8Array(new Float16Array(values).buffer);
  throw new Error("this browser has no Float16Array to write an f16 file");
}

// A safetensors file: 8-byte little-endian header length, JSON header, tensor bytes.
function safetensors(arch, seed, dtype) {
  const specs = paramSpecs(CFGS[arch], IMAGENET);
  const header = {};
  const chunks = [];
  let offset = 0;
  specs.forEach((spec, t) => {
    const values = fill(seed, t, spec, new Float32Array(spec.shape.reduce((a, b) => a * b, 1)));
    const bytes = dtype === "F16" ? toF16(values) : new Uint8Array(values.buffer);
    header[spec.name] = { dtype, shape: spec.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  });
  const text = JSON.stringify(header); // ASCII: one byte per character
  const json = new TextEncoder().encode(text + " ".repeat((8 - (text.length % 8)) % 8)); // 8-byte aligned data
  const file = new Uint8Array(8 + json.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  let at = 8 + json.length;
  for (const c of chunks) {
    file.set(c, at);
    at += c.length;
  }
  return file;
}

self.onmessage = async ({ data: { build, arch, seed, dtype } }) => {
  try {
    const { default: init, Model } = await import(`../${build}/convscope.js`);
    const wasm = await init();
    let file = safetensors(arch, seed, dtype);
    const fileMb = file.length / 2 ** 20;
    const start = performance.now();
    const model = Model.load(arch, file);
    const loadMs = performance.now() - start;
    file = null;
    const size = model.inputSize;
    model.logits(sampleInput(model.inChannels, size), [1, model.inChannels, size, size]);
    self.postMessage({ memory_mb: wasm.memory.buffer.byteLength / 2 ** 20, file_mb: fileMb, load_ms: loadMs });
  } catch (err) {
    self.postMessage({ error: String(err?.message ?? err) });
  }
};
