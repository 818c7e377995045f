// The page's state in its address, so a link restores a view:
// ?model=ID&weights=URL&image=NAME|URL&view=VIEW&target=N&layer=NAME[&colormap=&opacity=&embed=1]
// The comparison view's own (views/compare.js): &mode=models&method=NAME&other=ID for two
// models side by side, &sort=deletion|insertion|sanity and &sanityscore=1 for the grid.

const KEYS = ["model", "weights", "image", "view", "target", "layer", "colormap", "opacity", "scaling", "mode", "sort", "sanityscore", "method", "other"];

/** The known parameters of a query string; numbers parsed, unknown keys ignored. */
export function readState(search) {
  const q = new URLSearchParams(search);
  const state = {};
  for (const key of KEYS) {
    const v = q.get(key);
    if (v !== null && v !== "") state[key] = v;
  }
  if ("target" in state) {
    const n = Number(state.target);
    if (Number.isInteger(n) && n >= 0) state.target = n;
    else delete state.target;
  }
  if ("opacity" in state) {
    const o = Number(state.opacity);
    if (o >= 0 && o <= 1) state.opacity = o;
    else delete state.opacity;
  }
  // A flag: "1" or absent.
  if (state.sanityscore !== "1") delete state.sanityscore;
  state.embed = q.get("embed") === "1";
  return state;
}

/** A query string for `state`, leaving out values equal to `defaults`. */
export function formatState(state, defaults = {}) {
  const q = new URLSearchParams();
  for (const key of KEYS) {
    const v = state[key];
    if (v === undefined || v === null || v === "" || v === defaults[key]) continue;
    q.set(key, String(v));
  }
  if (state.embed) q.set("embed", "1");
  const text = q.toString();
  return text ? `?${text}` : "";
}
