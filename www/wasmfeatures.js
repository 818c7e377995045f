// Which of our wasm builds this site has and this browser's engine can run, found
// without loading one.

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

/**
 * The builds besides dist/pkg/ that this site has completed ({threads, relaxed}, from
 * dist/wasm-builds.json, which the build scripts write; none if it cannot be read), so a
 * page never requests a missing one.
 */
export async function siteBuilds() {
  const url = new URL("./wasm-builds.json", import.meta.url);
  return fetch(url)
    .then((r) => (r.ok ? r.json() : {}))
    .catch(() => ({}));
}

/** The single-thread build to run here: relaxed SIMD where the site has it and the engine validates it. */
export function singleThreadBuild(builds) {
  return builds.relaxed && hasRelaxedSimd() ? "pkg-relaxed" : "pkg";
}
