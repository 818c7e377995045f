// Every view of the page, in the order of the view list. A view is {id, title, group,
// needs, run(ctx)}; `needs` names the controls it uses (layer, target, colormap,
// opacity, scaling); `layers(model)` and `defaultLayer(model)` narrow the layer list.
// The attribution views and the checks come from the core's method catalogue, which the
// worker answers at start: useCatalogue() puts them in their places.
import summary from "./summary.js";
import layers from "./layers.js";
import predictions from "./predictions.js";
import features from "./features.js";
import filters from "./filters.js";
import maximize from "./maximize.js";
import layers3d from "./layers3d.js";
import tour from "./tour.js";
import { sanityView } from "./sanity.js";
import { compareView } from "./compare.js";
import { attributionViews } from "./attribution.js";
import { placeholder } from "./placeholder.js";
import { PENDING } from "./pending.js";

// Views waiting for bindings (none at the moment) are listed after the others.
const pending = PENDING.map(placeholder);

// How each check of the catalogue is drawn (a check without a drawing is not listed).
const CHECK_VIEWS = { sanity: sanityView };

// The order: model, inside the network, attributions, checks.
export const VIEWS = [];

/** Fills VIEWS with the page's own views and those of the method catalogue (or none of it). */
export function useCatalogue(catalogue) {
  const methods = catalogue ? attributionViews(catalogue) : [];
  const checks = (catalogue?.checks ?? []).map((c) => CHECK_VIEWS[c.name]?.(c, catalogue)).filter(Boolean);
  // Every method side by side (its own group), after the checks: it needs the catalogue too.
  const compare = catalogue ? [compareView(catalogue)] : [];
  VIEWS.splice(0, VIEWS.length, tour, summary, layers, filters, features, predictions, ...methods, maximize, ...checks, ...compare, layers3d, ...pending);
}

// The guided tour first: it walks through the groups after it, in their order.
// "Which map to trust?" has the comparison view alone (the checks of one method stay with
// the methods, in the catalogue's order).
export const GROUPS = { tour: "Start here", model: "The model", inside: "Inside the network", attribution: "Why this class?", trust: "Which map to trust?" };

export function viewById(id) {
  return VIEWS.find((v) => v.id === id) ?? null;
}

/**
 * The layer `view` shows for `model`: `wanted` if the view offers it, else the view's
 * default, else the last of its layers (undefined for views without a layer).
 */
export function layerFor(view, model, wanted) {
  if (!view.needs.includes("layer")) return undefined;
  const names = view.layers ? view.layers(model) : model.layerNames;
  return names.includes(wanted) ? wanted : view.defaultLayer?.(model) ?? names.at(-1);
}
