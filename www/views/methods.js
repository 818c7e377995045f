// The attribution methods the worker runs through Model.attribute, by the names the
// core's methods::select uses (also the view ids and worker request names). No DOM here:
// the worker imports it too.

export const ATTRIBUTION_METHODS = [
  "saliency",
  "guided-backprop",
  "smoothgrad",
  "integrated-gradients",
  "grad-cam",
  "grad-cam++",
  "score-cam",
  "guided-grad-cam",
  "occlusion",
];
