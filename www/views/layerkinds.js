// Which layers a view offers, and which it starts on: "cam" = layers with maps, the
// core's default CAM layer first (pytorch-grad-cam's usual target for the family); "conv" = convolutions,
// the first one first; "any" = all, the output first.

export const LAYER_KINDS = {
  cam: {
    layers: (model) => model.summary.layers.filter((l) => l.output_shape.length === 3).map((l) => l.name),
    defaultLayer: (model) => model.camLayer,
  },
  conv: {
    layers: (model) => model.summary.layers.filter((l) => l.type === "Conv2d").map((l) => l.name),
    defaultLayer: (model) => model.summary.layers.find((l) => l.type === "Conv2d")?.name,
  },
  any: {
    layers: (model) => model.layerNames,
    defaultLayer: (model) => model.layerNames.at(-1),
  },
};
