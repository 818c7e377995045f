// The page's state in its address, so a link restores a view:
// ?model=ID&weights=URL&image=NAME|URL&view=VIEW&target=N&layer=NAME[&colormap=&opacity=&embed=1]
// The guided tour's &step=N (views/tour.js). The comparison view's own (views/compare.js): &mode=models&method=NAME&other=ID for two
// models side by side, &sort=deletion|insertion|sanity and &sanityscore=1 for the grid.
// The views' form options (optionstate.js): one parameter per option, &opt.VIEW.OPTION=VALUE
// (&opt.occlusion.window=8, &opt.maximize.steps=200, &opt.filters.channel=2), rather than
// one JSON value: readable and editable in the address bar, and checked one by one, so a
// malformed value is dropped with a note and the others are kept.

const KEYS = ["model", "weights", "image", "view", "target", "layer", "colormap", "opacity", "scaling", "mode", "sort", "sanityscore", "method", "other", "step"];

// The numeric parameters: a value, or undefined when malformed.
const NUMBERS = {
  target: (v) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 ? n : undefined;
  },
  step: (v) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 1 ? n : undefined;
  },
  opacity: (v) => {
    const o = Number(v);
    return o >= 0 && o <= 1 ? o : undefined;
  },
};

/** The known parameters of a query string; numbers parsed, malformed ones and unknown keys dropped. */
export function readState(search) {
  const q = new URLSearchParams(search);
  const state = {};
  for (const key of KEYS) {
    const v = q.get(key);
    if (v !== null && v !== "") state[key] = v;
  }
  for (const [key, parse] of Object.entries(NUMBERS)) {
    if (!(key in state)) continue;
    const value = parse(state[key]);
    if (value === undefined) delete state[key];
    else state[key] = value;
  }
  // A flag: "1" or absent.
  if (state.sanityscore !== "1") delete state.sanityscore;
  state.embed = q.get("embed") === "1";
  return state;
}

/** The numeric parameters readState dropped as malformed, {key: text}, so the page can say so. */
export function malformed(search) {
  const q = new URLSearchParams(search);
  const out = {};
  for (const [key, parse] of Object.entries(NUMBERS)) {
    const v = q.get(key);
    if (v !== null && v !== "" && parse(v) === undefined) out[key] = v;
  }
  return out;
}

/**
 * A query string for `state`, leaving out values equal to `defaults`; `extra` [key, value]
 * pairs (the views' options, optionstate.formatOptions) go after the known keys.
 */
export function formatState(state, defaults = {}, extra = []) {
  const q = new URLSearchParams();
  for (const key of KEYS) {
    const v = state[key];
    if (v === undefined || v === null || v === "" || v === defaults[key]) continue;
    q.set(key, String(v));
  }
  for (const [key, value] of extra) q.set(key, value);
  if (state.embed) q.set("embed", "1");
  const text = q.toString();
  return text ? `?${text}` : "";
}
