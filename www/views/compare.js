// "Which map to trust", side by side (?view=compare): every method of the catalogue on
// one image with its deletion and insertion areas (scoregrid.js), or one method on two
// models (&mode=models: twomodels.js). The scores are the core's (faithfulness, through
// the worker's scoreMethods and scoreModels; docs/web.md).
import { runGrid } from "./scoregrid.js";
import { runModels } from "./twomodels.js";

/** The comparison view over the methods of `catalogue`. */
export function compareView(catalogue) {
  return {
    id: "compare",
    title: "Compare methods",
    group: "trust",
    needs: ["target", "colormap", "opacity"],
    request: "scoreMethods",
    run: (ctx) => (ctx.params.mode === "models" ? runModels(ctx, catalogue) : runGrid(ctx, catalogue)),
  };
}
