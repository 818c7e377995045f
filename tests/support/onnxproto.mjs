// Hand-made ONNX models for tests of refusals and notes: the few protobuf messages a
// graph needs (model, opset, graph, node, value info), encoded by hand so no exporter
// is needed. Field numbers are those of onnx.proto.
const varint = (n) => {
  const out = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
};
const key = (field, wire) => varint((field << 3) | wire);
const int = (field, n) => [...key(field, 0), ...varint(n)];
const bytes = (field, data) => [...key(field, 2), ...varint(data.length), ...data];
const str = (field, text) => bytes(field, [...Buffer.from(text, "utf8")]);

/**
 * An ONNX model (opset 18): `inputs` and `outputs` as [name, dims], `nodes` as
 * {op, inputs, outputs, name}. Answers a Uint8Array.
 */
export function onnxModel({ inputs, outputs, nodes }) {
  const info = (field, [name, dims]) => {
    const dim = (d) => bytes(1, typeof d === "number" ? int(1, d) : str(2, d));
    const tensor = [...int(1, 1), ...bytes(2, dims.flatMap(dim))];
    return bytes(field, [...str(1, name), ...bytes(2, bytes(1, tensor))]);
  };
  const node = (n) => bytes(1, [...n.inputs.flatMap((i) => str(1, i)), ...n.outputs.flatMap((o) => str(2, o)), ...str(3, n.name ?? n.op), ...str(4, n.op)]);
  const graph = [...nodes.flatMap(node), ...str(2, "g"), ...inputs.flatMap((i) => info(11, i)), ...outputs.flatMap((o) => info(12, o))];
  return Uint8Array.from([...int(1, 8), ...bytes(8, [...str(1, ""), ...int(2, 18)]), ...bytes(7, graph)]);
}

/** A model whose input size is free ([1, 3, H, W]): ReLU, global average pool, flatten;
 * the reader assumes a size and says so in its notes. */
export function freeSizeModel() {
  return onnxModel({
    inputs: [["x", [1, 3, "H", "W"]]],
    outputs: [["z", [1, 3]]],
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["r"], name: "relu" },
      { op: "GlobalAveragePool", inputs: ["r"], outputs: ["y"], name: "pool" },
      { op: "Flatten", inputs: ["y"], outputs: ["z"], name: "flat" },
    ],
  });
}
