// The views that wait for bindings from the attribution-methods work. Each has its
// worker request name and the wasm export it will call (documented in docs/web.md), so
// wiring one later means: add the export to crate/src/wasm.rs, a handler of that name to
// worker.js, and a view file that draws the result, then drop the entry here. Used by
// the view list and by the worker.

const ATTRIBUTE = "Model.attribute(method, input, shape, target, options, progress)";
// Layer choices (layerKind): see layerkinds.js.

export const PENDING = [
  { id: "saliency", title: "Saliency", group: "attribution", needs: ["target"], request: "saliency", wasm: ATTRIBUTE },
  { id: "guided-backprop", title: "Guided backprop", group: "attribution", needs: ["target"], request: "guided-backprop", wasm: ATTRIBUTE },
  { id: "smoothgrad", title: "SmoothGrad", group: "attribution", needs: ["target"], request: "smoothgrad", wasm: ATTRIBUTE },
  { id: "integrated-gradients", title: "Integrated Gradients", group: "attribution", needs: ["target"], request: "integrated-gradients", wasm: ATTRIBUTE },
  { id: "grad-cam", layerKind: "cam", title: "Grad-CAM", group: "attribution", needs: ["target", "layer"], request: "grad-cam", wasm: ATTRIBUTE },
  { id: "grad-cam++", layerKind: "cam", title: "Grad-CAM++", group: "attribution", needs: ["target", "layer"], request: "grad-cam++", wasm: ATTRIBUTE },
  { id: "score-cam", layerKind: "cam", title: "Score-CAM", group: "attribution", needs: ["target", "layer"], request: "score-cam", wasm: ATTRIBUTE },
  { id: "guided-grad-cam", layerKind: "cam", title: "Guided Grad-CAM", group: "attribution", needs: ["target", "layer"], request: "guided-grad-cam", wasm: ATTRIBUTE },
  { id: "occlusion", title: "Occlusion", group: "attribution", needs: ["target"], request: "occlusion", wasm: ATTRIBUTE },
  { id: "sanity", title: "Sanity check", group: "attribution", needs: ["target"], request: "sanity", wasm: "Model.sanity(method, input, shape, target, options, seed, progress)" },
];

/** Worker request name -> the wasm export it waits for. */
export const PENDING_REQUESTS = Object.fromEntries(PENDING.map((v) => [v.request, v.wasm]));
