// Which of our wasm builds this browser can run: dist/pkg-relaxed (relaxed-simd fused
// multiply-add) where the engine validates relaxed-simd code, else dist/pkg (simd128).

// A module whose one function uses i8x16.relaxed_swizzle (as wasm-feature-detect's probe).
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2,
  253, 15, 253, 128, 2, 11,
]);

export function hasRelaxedSimd() {
  try {
    return WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

// The folder of the build to load: `wanted` if given, else the best one that exists.
export async function wasmBuild(wanted) {
  if (wanted) return wanted;
  if (hasRelaxedSimd()) {
    const probe = await fetch("pkg-relaxed/convscope.js", { method: "HEAD" }).catch(() => null);
    if (probe?.ok) return "pkg-relaxed";
  }
  return "pkg";
}
