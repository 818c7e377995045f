// How the comparison grid orders its methods, as `convscope compare --sort` does: best
// first by the chosen score (lowest deletion area, highest insertion area, lowest sanity
// correlation), equal scores and missing ones keeping the catalogue's order. No DOM.

/** The sort choices: {id, label}; `id` is the address's &sort= (method is the default). */
export const SORTS = [
  { id: "method", label: "catalogue order" },
  { id: "deletion", label: "deletion area (lowest first)" },
  { id: "insertion", label: "insertion area (highest first)" },
  { id: "sanity", label: "sanity score (lowest first)" },
];

// The smaller key goes first; a missing score goes last.
const KEYS = {
  method: () => 0,
  deletion: (r) => r.deletionAuc ?? Infinity,
  insertion: (r) => -(r.insertionAuc ?? -Infinity),
  sanity: (r) => r.sanity ?? Infinity,
};

/** Whether `id` is a sort the grid knows. */
export function isSort(id) {
  return Object.hasOwn(KEYS, id);
}

/** `rows` ({deletionAuc, insertionAuc, sanity}) ordered by `by`; a stable sort, a new array. */
export function sortRows(rows, by) {
  const key = KEYS[by] ?? KEYS.method;
  const order = (a, b) => {
    const d = key(a.row) - key(b.row);
    // Infinity - Infinity (two missing scores) is NaN: keep their order.
    return Number.isNaN(d) || d === 0 ? a.index - b.index : d;
  };
  return rows.map((row, index) => ({ row, index })).sort(order).map(({ row }) => row);
}
