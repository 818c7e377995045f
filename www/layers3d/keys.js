// Moving a selection through the laid-out layers with the arrow keys: left and right
// follow the layer's lane (from a branch's end, on to the main path), up and down
// step to the nearest layer in the lane above or below; Home and End go to the ends.

/** The index selected after `key` from `i`, among `nodes` ({column, lane}); `i` if none. */
export function neighbour(nodes, i, key) {
  if (key === "Home") return 0;
  if (key === "End") return nodes.length - 1;
  const here = nodes[i];
  if (!here) return 0;
  const step = { ArrowRight: 1, ArrowLeft: -1 }[key];
  if (step) {
    const ahead = (n) => (n.column - here.column) * step > 0;
    const nearest = (lane) => best(nodes, (n) => n.lane === lane && ahead(n), (n) => Math.abs(n.column - here.column));
    return nearest(here.lane) ?? nearest(0) ?? i;
  }
  const up = { ArrowUp: 1, ArrowDown: -1 }[key];
  if (up) {
    // The nearest lane in that direction, then the nearest column in it.
    const lanes = nodes.filter((n) => (n.lane - here.lane) * up > 0).map((n) => n.lane);
    if (!lanes.length) return i;
    const lane = up > 0 ? Math.min(...lanes) : Math.max(...lanes);
    return best(nodes, (n) => n.lane === lane, (n) => Math.abs(n.column - here.column)) ?? i;
  }
  return i;
}

function best(nodes, keep, cost) {
  let found;
  nodes.forEach((n, j) => {
    if (keep(n) && (found === undefined || cost(n) < cost(nodes[found]))) found = j;
  });
  return found;
}
