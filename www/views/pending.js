// The views that wait for bindings from the attribution-methods work. Each has its
// worker request name and the wasm export it will call (documented in docs/web.md), so
// wiring one later means: add the export to crate/src/wasm.rs, a handler of that name to
// worker.js, and a view file that draws the result, then drop the entry here. Used by
// the view list and by the worker.

// Layer choices (layerKind): see layerkinds.js. None waits at the moment: the
// attribution methods (attribution.js) and the sanity check (sanity.js) are wired.

export const PENDING = [];

/** Worker request name -> the wasm export it waits for. */
export const PENDING_REQUESTS = Object.fromEntries(PENDING.map((v) => [v.request, v.wasm]));
