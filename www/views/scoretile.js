// One map of the comparison view with its scores under it: the method's display map over
// the picture the model sees (drawn by the core in the page's colormap and opacity, as
// the attribution views draw it; "Save PNG" writes `convscope explain --png`'s picture),
// its deletion and insertion areas to 3 decimals (as the CLI's grid) and, when asked, its
// sanity score. The numbers are also on the tile's data-* for tests and scripts.
import { el, altText } from "./dom.js";
import { rgbaCanvas } from "../draw/canvas.js";
import { readout } from "../draw/readout.js";
import { enlargeable } from "../draw/enlarge.js";
import { mapReadout, displayScale } from "./mapfigure.js";

// What each score means, as the tooltip of its name.
const HELP = {
  deletion: "Area under the class's probability as the map's top pixels are removed, most important first: lower is better.",
  insertion: "Area under the class's probability as the map's top pixels are put back into a blurred copy: higher is better.",
  sanity: "Spearman correlation of the map with the map after re-initialising the top layer: lower is better (near 1, the map ignores what the model learned there).",
};

/** A score to 3 decimals; a dash for one the core did not measure. */
export function threeDecimals(v) {
  return Number.isFinite(v) ? v.toFixed(3) : "–";
}

/**
 * A tile of `row` (Model.score's answer with its `pictures`): `title` above (the method's
 * by default), `extra` nodes between it and the map, `sanity` to show the sanity score.
 */
export function scoreTile(row, { title = row.title, extra = [], sanity = false, testid = "compare-tile" } = {}) {
  const canvas = rgbaCanvas(row.pictures.overlay, row.width, row.height, "score-map");
  canvas.exportPng = row.pictures.png;
  canvas.dataset.name = `${row.method}-${row.class}`;
  enlargeable(canvas);
  altText(canvas, `${title}: map of class ${row.class}${row.label && row.label !== `class ${row.class}` ? ` (${row.label})` : ""} over the input picture`);
  const scores = [
    ["deletion", row.deletionAuc],
    ["insertion", row.insertionAuc],
  ];
  if (sanity) scores.push(["sanity", row.sanity]);
  const data = { testid, method: row.method, class: String(row.class) };
  for (const [name, value] of scores) if (Number.isFinite(value)) data[name] = String(value);
  return el("figure", { className: "score-tile", dataset: data }, [
    el("h3", {}, title),
    ...extra,
    canvas,
    // Blank until pointed at: the view says once, above its maps, how to read them.
    readout(canvas, { ...mapReadout(row.display, row.width, row.height, displayScale(row.kind)), hint: "" }),
    el(
      "dl",
      { className: "scores" },
      scores.flatMap(([name, value]) => [el("dt", { title: HELP[name] }, name), el("dd", { className: "num", dataset: { score: name } }, threeDecimals(value))]),
    ),
  ]);
}
