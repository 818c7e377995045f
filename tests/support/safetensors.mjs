// Writes small VGG-family safetensors files for tests: the parameter names and shapes
// of torchvision's VGG for a spec's conv widths, filled with seeded Kaiming-uniform
// values (so activations neither vanish nor explode).

/** [name, shape] of every parameter, as torchvision's VGG names them (crate/src/model/families/vgg.rs builds the same). */
export function vggParams({ cfg, inChannels, pool, hidden, classes }) {
  const out = [];
  let idx = 0;
  let c = inChannels;
  for (const item of cfg) {
    if (item === "M") {
      idx += 1;
      continue;
    }
    out.push([`features.${idx}.weight`, [item, c, 3, 3]], [`features.${idx}.bias`, [item]]);
    c = item;
    idx += 2;
  }
  const flat = c * pool * pool;
  for (const [name, fin, fout] of [["classifier.0", flat, hidden], ["classifier.3", hidden, hidden], ["classifier.6", hidden, classes]]) {
    out.push([`${name}.weight`, [fout, fin]], [`${name}.bias`, [fout]]);
  }
  return out;
}

/** The spec string convscope parses for these fields. */
export function specString({ cfg, inChannels, pool, hidden, classes, size }) {
  return `cfg=${cfg.join(",")};in=${inChannels};pool=${pool};hidden=${hidden};classes=${classes};size=${size}`;
}

/** A safetensors file (Buffer) of float32 tensors [[name, shape, Float32Array]]. */
export function safetensors(tensors) {
  const header = {};
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([head, Buffer.from(json), ...tensors.map(([, , d]) => Buffer.from(d.buffer, d.byteOffset, d.byteLength))]);
}

/** Seeded Kaiming-uniform weights for a spec, as a safetensors Buffer. */
export function randomVgg(spec, seed = 1) {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    // xorshift32: deterministic, good enough for test weights.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const tensors = vggParams(spec).map(([name, shape]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length > 1 ? count / shape[0] : 1;
    const bound = name.endsWith(".bias") ? 0.01 : Math.sqrt(6 / fanIn);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = (2 * uniform() - 1) * bound;
    return [name, shape, data];
  });
  return safetensors(tensors);
}
