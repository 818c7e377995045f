// Colour scales for values in [0, 1], as 256-entry RGB lookup tables built from a few
// stops of matplotlib's maps (linear in between). The page's drawing uses these until
// the core's own renderer (crate/src/render) provides the attribution pictures.

const STOPS = {
  viridis: ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#27ad81", "#5cc863", "#aadc32", "#fde725"],
  magma: ["#000004", "#1c1044", "#4f127b", "#812581", "#b5367a", "#e55064", "#fb8761", "#fec287", "#fcfdbf"],
  inferno: ["#000004", "#1f0c48", "#550f6d", "#88226a", "#ba3655", "#e35933", "#f98c0a", "#f9c932", "#fcffa4"],
  jet: ["#00008f", "#0000ff", "#0080ff", "#00ffff", "#80ff80", "#ffff00", "#ff8000", "#ff0000", "#800000"],
  gray: ["#000000", "#ffffff"],
};

export const COLORMAPS = Object.keys(STOPS);
export const DEFAULT_COLORMAP = "viridis";

const tables = new Map();

function hex(s) {
  return [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
}

/** The 256x3 lookup table of a colormap (Uint8Array, RGB triples). */
export function lut(name) {
  if (!STOPS[name]) throw new Error(`unknown colormap ${name}; known: ${COLORMAPS.join(", ")}`);
  let table = tables.get(name);
  if (table) return table;
  const stops = STOPS[name].map(hex);
  table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const j = Math.min(Math.floor(t), stops.length - 2);
    const f = t - j;
    for (let c = 0; c < 3; c++) table[3 * i + c] = Math.round(stops[j][c] * (1 - f) + stops[j + 1][c] * f);
  }
  tables.set(name, table);
  return table;
}

/** RGB of a value in [0, 1] (clamped; NaN as 0). */
export function colour(table, v) {
  const i = Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round(v * 255))) : 0;
  return [table[3 * i], table[3 * i + 1], table[3 * i + 2]];
}
