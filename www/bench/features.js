// Which of our wasm builds this browser can run: dist/pkg-relaxed (relaxed-simd fused
// multiply-add) where the engine validates relaxed-simd code, else dist/pkg (simd128).

import { hasRelaxedSimd } from "../wasmfeatures.js";

// The folder of the build to load: `wanted` if given, else the best one that exists.
export async function wasmBuild(wanted) {
  if (wanted) return wanted;
  if (hasRelaxedSimd()) {
    const probe = await fetch("pkg-relaxed/convscope.js", { method: "HEAD" }).catch(() => null);
    if (probe?.ok) return "pkg-relaxed";
  }
  return "pkg";
}
