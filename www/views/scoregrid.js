// The comparison view's first mode: every method of the catalogue on one image, each
// with its catalogue defaults (as `convscope compare`), its map and its scores in a
// grid that fills in as the maps arrive; sortable by any score without running anything
// again (&sort=), the sanity scores on request (&sanityscore=1, or sorting by them).
import { el } from "./dom.js";
import { colourBar } from "../draw/canvas.js";
import { COMPARE_MEANING } from "./colourwords.js";
import { EMBEDDED_MODELS } from "../sources.js";
import { SORTS, isSort, sortRows } from "./scoresort.js";
import { scoreTile } from "./scoretile.js";

/** Runs and draws the grid (a view's run(ctx), with the catalogue). */
export async function runGrid({ call, panel, params, setParams, show, source }, catalogue) {
  const names = catalogue.methods.map((m) => m.name);
  const badSort = params.sort !== undefined && !isSort(params.sort);
  const sort = badSort ? "method" : params.sort ?? "method";
  const sanity = params.sanityscore === "1" || sort === "sanity";
  const about = el(
    "p",
    { className: "hint" },
    "Each method's map with its catalogue defaults, and how faithful it is: the deletion area (lower is better) and the insertion area (higher is better) of the class's probability as the map's top pixels are removed or put back, one row of pixels a step (METHODS.md, \"Which map to trust\"; the rows of convscope compare --json). Point at a map for its value there; click it (or Enter) to enlarge it.",
  );
  // The tiles as they come, in the catalogue's order; the finished view replaces them.
  const live = el("div", { className: "score-grid" });
  show(el("h2", {}, "Every method side by side"), about, live);
  const look = { colormap: params.colormap, opacity: params.opacity };
  const started = performance.now();
  const result = await call(
    "scoreMethods",
    { methods: names, target: params.target, sanity, look },
    { onProgress: (p, detail, partial) => partial?.row && live.append(scoreTile(partial.row, { sanity })) },
  );
  const elapsed = performance.now() - started;

  const { rows } = result;
  const tiles = new Map(rows.map((r) => [r.method, scoreTile(r, { sanity })]));
  const grid = el("div", { className: "score-grid", dataset: { testid: "compare-grid", ms: String(Math.round(elapsed)) } });
  const arrange = (by) => {
    grid.dataset.sort = by;
    grid.replaceChildren(...sortRows(rows, by).map((r) => tiles.get(r.method)));
  };
  arrange(sort);
  const first = rows[0];
  const children = [
    el("h2", {}, `Every method side by side: class ${first.class}${named(first) ? ` (${first.label})` : ""}${params.target === undefined ? ", the top class" : ""}`),
    about,
    controls({ sort, sanity, setParams, arrange, source }),
    badSort ? el("p", { className: "hint", dataset: { testid: "compare-note" } }, `Unknown sort "${params.sort}" in the address: shown in the catalogue's order (sorts: ${SORTS.map((s) => s.id).join(", ")}).`) : null,
    grid,
    colourBar(params.colormap, 0, "max", COMPARE_MEANING),
    el("p", { className: "hint", dataset: { testid: "compare-time" } }, `${rows.length} maps and their ${2 * rows.length} curves (${first.step} pixels a step) in ${(elapsed / 1000).toFixed(2)} s.`),
  ];
  // The note is there only for an unknown sort (replaceChildren would print a null).
  panel.replaceChildren(...children.filter(Boolean));
}

function named(row) {
  return row.label && row.label !== `class ${row.class}`;
}

/** Sort select, sanity box, and the way to the two-model mode (the twin in one click). */
function controls({ sort, sanity, setParams, arrange, source }) {
  const select = el("select", { name: "sort", dataset: { testid: "compare-sort" } }, SORTS.map((s) => new Option(s.label, s.id)));
  select.value = sort;
  const box = el("input", { type: "checkbox", name: "sanity", checked: sanity, dataset: { testid: "compare-sanity" } });
  // The address keeps the sort; a sort needs nothing new unless it wants sanity scores
  // not yet computed.
  select.addEventListener("change", () => {
    const by = select.value;
    if (by === "sanity" && !sanity) return setParams({ sort: by });
    arrange(by);
    setParams({ sort: by === "method" ? undefined : by }, { rerun: false });
  });
  box.addEventListener("change", () => {
    const by = select.value === "sanity" && !box.checked ? "method" : select.value;
    setParams({ sanityscore: box.checked ? "1" : undefined, sort: by === "method" ? undefined : by });
  });
  const entry = EMBEDDED_MODELS.find((m) => m.id === source?.id);
  const twin = EMBEDDED_MODELS.find((m) => m.id === entry?.twin);
  const two = twin
    ? el("button", { type: "button", dataset: { testid: "compare-twin" }, title: `The same image and method on ${twin.name}`, on: { click: () => setParams({ mode: "models", other: twin.id }) } }, `Compare with ${entry.twinName ?? twin.name}`)
    : el("button", { type: "button", dataset: { testid: "compare-models" }, on: { click: () => setParams({ mode: "models" }) } }, "Compare two models");
  return el("form", { className: "options", dataset: { testid: "compare-form" }, on: { submit: (e) => e.preventDefault() } }, [
    el("label", {}, ["Sort by ", select]),
    el("label", { title: "The Spearman correlation of each map with its map after re-initialising the top layer (one more map per method)" }, [box, " sanity score"]),
    two,
  ]);
}
