// A VGG network as an ONNX model (protobuf bytes written by hand: ModelProto with the
// weights as initializers), for onnxruntime-web. Field numbers from onnx/onnx.proto.
import { fill, paramSpecs } from "./synthetic.js";

const enc = new TextEncoder();

// Protobuf pieces: a message is an array of Uint8Array parts; len() sums them.
function varint(n) {
  const bytes = [];
  while (n >= 0x80) {
    bytes.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  bytes.push(n);
  return Uint8Array.from(bytes);
}
const len = (parts) => parts.reduce((s, p) => s + p.length, 0);
const int = (field, n) => [varint(field * 8), varint(n)];
const bytes = (field, data) => [varint(field * 8 + 2), varint(data.length), data];
const str = (field, s) => bytes(field, enc.encode(s));
const msg = (field, parts) => [varint(field * 8 + 2), varint(len(parts)), ...parts];

const ATTR_INT = 2;
const ATTR_INTS = 7;
const FLOAT = 1;

function attrInt(name, i) {
  return msg(5, [...str(1, name), ...int(3, i), ...int(20, ATTR_INT)]);
}
function attrInts(name, values) {
  return msg(5, [...str(1, name), ...values.flatMap((v) => int(8, v)), ...int(20, ATTR_INTS)]);
}
function node(op, inputs, outputs, attrs = []) {
  return msg(1, [...inputs.flatMap((s) => str(1, s)), ...outputs.flatMap((s) => str(2, s)), ...str(3, outputs[0]), ...str(4, op), ...attrs.flat()]);
}
function valueInfo(field, name, dims) {
  const shape = dims.flatMap((d) => msg(1, int(1, d)));
  const tensorType = msg(1, [...int(1, FLOAT), ...msg(2, shape)]);
  return msg(field, [...str(1, name), ...msg(2, tensorType)]);
}
function initializer(name, dims, data) {
  return msg(5, [...dims.flatMap((d) => int(1, d)), ...int(2, FLOAT), ...str(8, name), ...bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))]);
}

// ModelProto bytes of `cfg` with the synthetic weights of `seed`, input "x"
// [1, 3, size, size], output "logits". AdaptiveAvgPool2d(7) is the identity at 224 px.
export function vggOnnx(cfg, seed, head) {
  const specs = paramSpecs(cfg, head);
  const nodes = [];
  const inits = [];
  let x = "x";
  let t = 0;
  const param = () => {
    const spec = specs[t];
    const data = fill(seed, t, spec, new Float32Array(spec.shape.reduce((a, b) => a * b, 1)));
    inits.push(initializer(spec.name, spec.shape, data));
    t += 1;
    return spec.name;
  };
  let idx = 0;
  for (const item of cfg) {
    if (item === "M") {
      nodes.push(node("MaxPool", [x], [`features.${idx}`], [attrInts("kernel_shape", [2, 2]), attrInts("strides", [2, 2])]));
      x = `features.${idx}`;
      idx += 1;
    } else {
      const w = param();
      const b = param();
      nodes.push(node("Conv", [x, w, b], [`features.${idx}`], [attrInts("kernel_shape", [3, 3]), attrInts("pads", [1, 1, 1, 1])]));
      nodes.push(node("Relu", [`features.${idx}`], [`features.${idx + 1}`]));
      x = `features.${idx + 1}`;
      idx += 2;
    }
  }
  nodes.push(node("Flatten", [x], ["flat"], [attrInt("axis", 1)]));
  x = "flat";
  for (const [i, module] of ["classifier.0", "classifier.3", "classifier.6"].entries()) {
    const w = param();
    const b = param();
    const out = i === 2 ? "logits" : module;
    nodes.push(node("Gemm", [x, w, b], [out], [attrInt("transB", 1)]));
    x = out;
    if (i < 2) {
      nodes.push(node("Relu", [x], [`${module}.relu`]));
      x = `${module}.relu`;
    }
  }
  const graph = [
    ...nodes.flat(),
    ...str(2, "vgg"),
    ...inits.flat(),
    ...valueInfo(11, "x", [1, head.inChannels, head.size, head.size]),
    ...valueInfo(12, "logits", [1, head.classes]),
  ];
  const model = [...int(1, 8), ...str(2, "convscope-bench"), ...msg(7, graph), ...msg(8, [...str(1, ""), ...int(2, 13)])];
  const out = new Uint8Array(len(model));
  let at = 0;
  for (const p of model) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
