// One benchmark run's input in our wasm memory: copied in (as onnxruntime-web copies
// its tensor in for each run), used by `f`, then freed.

/** `f(input)` with `values` of `shape` as an `Input` of the wasm module `Input` comes from. */
export function withInput(Input, values, shape, f) {
  const input = new Input(values, Uint32Array.from(shape));
  try {
    return f(input);
  } finally {
    input.free();
  }
}
