// Which nodes of a model the 3D view draws, and what feeds what among them. Pure data
// (no three.js, no worker): it reads the summary's rows and their "Connected to" column.
// A chain keeps the Keras-style selection (each convolution shown after its ReLU, the
// pools, the output); a graph keeps the nodes a reader follows (activations, joins,
// pools, the output, and the block outputs that would otherwise be invisible, such as
// ResNet's `downsample` or a DenseNet layer), each reading its nearest drawn ancestors.

const ACTIVATIONS = new Set(["ReLU", "ReLU6", "SiLU", "GELU", "Hardswish", "Sigmoid", "Hardsigmoid"]);
const JOINS = new Set(["add", "mul", "cat"]);
const POOLS = new Set(["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]);
// Operations of the core; any other type is a block (a module made of other nodes,
// whose node is the identity of its last part).
const OPS = new Set([...ACTIVATIONS, ...JOINS, ...POOLS, "Conv2d", "BatchNorm2d", "LayerNorm2d", "LayerScale", "Flatten", "Linear", "Dropout", "StochasticDepth"]);

const isBlock = (l) => !OPS.has(l.type);

/**
 * The layers to draw, in order, each `{...summaryRow, title, short, inputs, join?,
 * block?}`: `inputs` names the drawn layers (or "input") it reads; `short` is the label
 * kept when the full title has no room.
 */
export function shownLayers(summary) {
  return summary.chain === false ? graphLayers(summary) : chainLayers(summary);
}

/** A chain, as Keras names it: unchanged from the view's first version. */
function chainLayers(summary) {
  const layers = summary.layers;
  const out = [];
  layers.forEach((l, i) => {
    const prev = layers[i - 1];
    const last = i === layers.length - 1;
    if (l.type === "ReLU") out.push({ ...l, title: prev?.keras_name ? `${prev.keras_name} (${l.name})` : l.name, short: prev?.keras_name ?? l.name });
    else if (l.type === "MaxPool2d") out.push({ ...l, title: `${l.keras_name ?? "pool"} (${l.name})`, short: l.keras_name ?? l.name });
    else if (l.type === "AdaptiveAvgPool2d" && String(prev?.output_shape) !== String(l.output_shape)) out.push({ ...l, title: l.name, short: l.name });
    else if (last) out.push({ ...l, title: `output (${l.name})`, short: "output" });
  });
  out.forEach((l, i) => (l.inputs = [i === 0 ? "input" : out[i - 1].name]));
  return out;
}

function graphLayers(summary) {
  const layers = summary.layers;
  const byName = new Map(layers.map((l) => [l.name, l]));
  const consumers = new Map(layers.map((l) => [l.name, []]));
  for (const l of layers) for (const src of l.connected_to ?? []) consumers.get(src)?.push(l);
  // Consumers of a node, looking through the blocks that merely rename it.
  const users = (name) => consumers.get(name).flatMap((c) => (isBlock(c) ? users(c.name) : [c]));

  const last = layers[layers.length - 1];
  const shown = new Set();
  for (const l of layers) {
    if (ACTIVATIONS.has(l.type) || JOINS.has(l.type) || POOLS.has(l.type) || l === last) shown.add(l.name);
  }
  // A join read only by an activation (ResNet's add, then ReLU) is drawn once: the
  // activation becomes the join.
  for (const l of layers) {
    if (!JOINS.has(l.type)) continue;
    const u = users(l.name);
    if (u.length === 1 && ACTIVATIONS.has(u[0].type) && u[0].connected_to.length === 1) shown.delete(l.name);
  }
  // Blocks whose output nobody would see otherwise (ResNet's downsample, a DenseNet
  // layer, MobileNet's projection) are drawn as themselves.
  // Inner blocks come first: an outer block over a drawn one only renames it.
  for (const l of layers) {
    if (!isBlock(l) || l.connected_to.length !== 1) continue;
    let r = byName.get(l.connected_to[0]);
    while (r && !shown.has(r.name) && isBlock(r) && r.connected_to.length === 1) r = byName.get(r.connected_to[0]);
    if (r && !shown.has(r.name)) shown.add(l.name);
  }
  // A node's name as a block: the innermost block that renames it (`layer1.0` for
  // the ReLU after its add), which is what a reader looks for.
  const blockName = new Map();
  for (const l of layers) {
    if (!isBlock(l) || l.connected_to.length !== 1) continue;
    let r = byName.get(l.connected_to[0]);
    while (r && isBlock(r) && !shown.has(r.name)) r = byName.get(r.connected_to[0]);
    if (r && shown.has(r.name) && r.name !== l.name && !blockName.has(r.name)) blockName.set(r.name, l.name);
  }
  // The drawn nodes each node's value comes from (through the hidden ones).
  const memo = new Map();
  const sources = (name) => {
    if (name === "input") return ["input"];
    if (memo.has(name)) return memo.get(name);
    const l = byName.get(name);
    const found = [];
    for (const src of l.connected_to) {
      for (const s of src === "input" || shown.has(src) ? [src] : sources(src)) if (!found.includes(s)) found.push(s);
    }
    memo.set(name, found);
    return found;
  };
  return layers
    .filter((l) => shown.has(l.name))
    .map((l) => {
      const inputs = [];
      for (const src of l.connected_to) {
        for (const s of src === "input" || shown.has(src) ? [src] : sources(src)) if (!inputs.includes(s)) inputs.push(s);
      }
      const block = blockName.get(l.name);
      const title = l === last ? `output (${l.name})` : block ?? l.name;
      const short = l === last ? "output" : title;
      return { ...l, title, short, inputs, join: inputs.length > 1, block: Boolean(block) || isBlock(l) };
    });
}
