// Where each drawn layer goes, as TensorSpace and Netron lay a network out: columns
// along the axis in the order data flows (a layer's column is its longest path from the
// input), the main path in lane 0, and each side branch (ResNet's downsample, a
// squeeze-and-excitation gate) in a lane of its own beside the columns it spans. Pure
// data: the scene turns columns and lanes into positions with the layers' real sizes.

/**
 * `layers`: [{name, inputs: [name], shape}], in an order where inputs come first (the
 * first one is the input). Answers `nodes`, each `{column, lane, main, group, preds}`
 * (group: the branch it belongs to, -1 on the main path; preds: indices it reads), and
 * `columns`, how many.
 */
export function layoutLayers(layers) {
  const index = new Map(layers.map((l, i) => [l.name, i]));
  const preds = layers.map((l, i) => (i === 0 ? [] : (l.inputs ?? [layers[i - 1].name]).map((n) => index.get(n)).filter((j) => j !== undefined && j < i)));
  const depth = [];
  layers.forEach((_, i) => (depth[i] = preds[i].length ? 1 + Math.max(...preds[i].map((j) => depth[j])) : 0));

  // The main path, walked back from the output: at a join, the input with the same
  // spatial size (not a squeeze-and-excitation's 1x1 gate), then the longer way (the
  // convolutions, not the shortcut), then the first one listed.
  const main = new Set();
  const area = (i) => (layers[i].shape?.length === 3 ? layers[i].shape[1] * layers[i].shape[2] : 0);
  for (let i = layers.length - 1; i !== undefined; ) {
    main.add(i);
    let best;
    for (const j of preds[i]) {
      const key = [area(j) === area(i) || area(j) > 1 ? 1 : 0, depth[j]];
      if (best === undefined || key[0] > best.key[0] || (key[0] === best.key[0] && key[1] > best.key[1])) best = { j, key };
    }
    i = best?.j;
  }

  // Columns: the distinct depths, numbered from 0.
  const depths = [...new Set(depth)].sort((a, b) => a - b);
  const column = depth.map((d) => depths.indexOf(d));

  // Side branches: the off-path layers, grouped where they feed one another; each group
  // takes the nearest lane below the main path free over its columns.
  const lane = layers.map(() => 0);
  const group = layers.map((_, i) => i);
  const find = (i) => (group[i] === i ? i : (group[i] = find(group[i])));
  layers.forEach((_, i) => {
    if (main.has(i)) return;
    for (const j of preds[i]) if (!main.has(j)) group[find(i)] = find(j);
  });
  const groups = new Map();
  layers.forEach((_, i) => {
    if (main.has(i)) return;
    const g = find(i);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(i);
  });
  const taken = []; // taken[k]: column ranges used in lane -(k+1)
  for (const members of groups.values()) {
    const lo = Math.min(...members.map((i) => column[i]));
    const hi = Math.max(...members.map((i) => column[i]));
    let k = 0;
    while ((taken[k] ?? []).some(([a, b]) => a <= hi && lo <= b)) k++;
    (taken[k] ??= []).push([lo, hi]);
    // Two members in one column (a branch with its own fork) stack further out.
    const used = new Map();
    for (const i of members) {
      const n = used.get(column[i]) ?? 0;
      used.set(column[i], n + 1);
      lane[i] = -(k + 1 + n);
    }
  }
  return {
    columns: depths.length,
    nodes: layers.map((_, i) => ({ column: column[i], lane: lane[i], main: main.has(i), group: main.has(i) ? -1 : find(i), preds: preds[i] })),
  };
}
