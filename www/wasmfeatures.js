// What this browser's WebAssembly engine can run, probed without loading our module.

// A module whose one function uses i8x16.relaxed_swizzle (as wasm-feature-detect's probe).
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2,
  253, 15, 253, 128, 2, 11,
]);

/** Whether the engine validates relaxed-SIMD code (dist/pkg-relaxed/ can run here). */
export function hasRelaxedSimd() {
  try {
    return WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}
