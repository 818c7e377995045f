// The fixtures' deterministic VGG weights, bit for bit as crate/src/model/synthetic.rs
// makes them, so onnxruntime-web and TensorFlow.js run the very model our wasm runs:
// element i of parameter t (state_dict order) is f32((2u - 1) * bound) with
// u = (splitmix64((seed << 40) + (t << 32) + i) >> 40) / 2^24, bound = sqrt(6 / fan_in)
// for weights, 1 / sqrt(fan_in) for biases. 64-bit arithmetic on 32-bit halves (BigInt
// would take minutes for VGG16's 138M values).

// The named architectures of crate/src/model/arch.rs (ImageNet heads).
export const CFGS = {
  vgg11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  vgg13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  vgg16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
  vgg19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
};
export const IMAGENET = { inChannels: 3, size: 224, pool: 7, hidden: 4096, classes: 1000 };

// Every parameter as { name, shape, fanIn } in state_dict order.
export function paramSpecs(cfg, head = IMAGENET) {
  const out = [];
  const push = (module, shape, fanIn) => {
    out.push({ name: `${module}.weight`, shape, fanIn });
    out.push({ name: `${module}.bias`, shape: [shape[0]], fanIn });
  };
  let idx = 0;
  let c = head.inChannels;
  for (const item of cfg) {
    if (item === "M") {
      idx += 1;
    } else {
      push(`features.${idx}`, [item, c, 3, 3], c * 9);
      c = item;
      idx += 2;
    }
  }
  const flat = c * head.pool * head.pool;
  push("classifier.0", [head.hidden, flat], flat);
  push("classifier.3", [head.hidden, head.hidden], head.hidden);
  push("classifier.6", [head.classes, head.hidden], head.hidden);
  return out;
}

// Fills `out` (a Float32Array of the parameter's size) with parameter number `t`.
export function fill(seed, t, spec, out) {
  const bound = spec.name.endsWith("weight") ? Math.sqrt(6 / spec.fanIn) : 1 / Math.sqrt(spec.fanIn);
  const baseHi = (seed * 256 + t) >>> 0; // high word of (seed << 40) + (t << 32); low word 0
  for (let i = 0; i < out.length; i++) {
    // z = x + 0x9E3779B97F4A7C15
    let l = i + 0x7f4a7c15;
    let h = (baseHi + 0x9e3779b9 + (l > 0xffffffff ? 1 : 0)) >>> 0;
    l >>>= 0;
    // z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 (mod 2^64, low word by 16-bit halves)
    l = (l ^ ((l >>> 30) | (h << 2))) >>> 0;
    h = (h ^ (h >>> 30)) >>> 0;
    let a0 = l & 0xffff;
    let a1 = l >>> 16;
    let mid = a0 * 0x1ce4 + a1 * 0xe5b9;
    let low = a0 * 0xe5b9 + (mid % 65536) * 65536;
    let hi = a1 * 0x1ce4 + Math.floor(mid / 65536) + Math.floor(low / 4294967296) + Math.imul(h, 0x1ce4e5b9) + Math.imul(l, 0xbf58476d);
    l = low >>> 0;
    h = hi >>> 0;
    // z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    l = (l ^ ((l >>> 27) | (h << 5))) >>> 0;
    h = (h ^ (h >>> 27)) >>> 0;
    a0 = l & 0xffff;
    a1 = l >>> 16;
    mid = a0 * 0x1331 + a1 * 0x11eb;
    low = a0 * 0x11eb + (mid % 65536) * 65536;
    hi = a1 * 0x1331 + Math.floor(mid / 65536) + Math.floor(low / 4294967296) + Math.imul(h, 0x133111eb) + Math.imul(l, 0x94d049bb);
    h = hi >>> 0;
    // z ^ (z >> 31), of which u keeps the top 24 bits: all in the high word.
    const u = ((h ^ (h >>> 31)) >>> 8) / 16777216;
    out[i] = (2 * u - 1) * bound;
  }
  return out;
}

// The deterministic benchmark input: NCHW float32, values in [-2, 2).
export function sampleInput(channels, size) {
  const x = new Float32Array(channels * size * size);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 0.618034) % 1) * 4 - 2;
  return x;
}
