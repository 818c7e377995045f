// Every view of the page, in the order of the view list. A view is {id, title, group,
// needs, run(ctx)}; `needs` names the controls it uses (layer, target, colormap,
// opacity, scaling); `layers(model)` and `defaultLayer(model)` narrow the layer list.
import summary from "./summary.js";
import layers from "./layers.js";
import predictions from "./predictions.js";
import features from "./features.js";
import filters from "./filters.js";
import maximize from "./maximize.js";
import layers3d from "./layers3d.js";
import sanity from "./sanity.js";
import { ATTRIBUTION_VIEWS } from "./attribution.js";
import { placeholder } from "./placeholder.js";
import { PENDING } from "./pending.js";

// Views waiting for bindings (none at the moment) are listed after the others.
const pending = PENDING.map(placeholder);
const attribution = Object.fromEntries(ATTRIBUTION_VIEWS.map((v) => [v.id, v]));

// The order: model, inside the network, attributions, checks.
export const VIEWS = [
  summary,
  layers,
  filters,
  features,
  predictions,
  attribution.saliency,
  attribution["guided-backprop"],
  attribution.smoothgrad,
  attribution["integrated-gradients"],
  attribution["grad-cam"],
  attribution["grad-cam++"],
  attribution["score-cam"],
  attribution["guided-grad-cam"],
  attribution.occlusion,
  maximize,
  sanity,
  layers3d,
  ...pending,
];

export const GROUPS = { model: "The model", inside: "Inside the network", attribution: "Why this class?" };

export function viewById(id) {
  return VIEWS.find((v) => v.id === id) ?? null;
}
