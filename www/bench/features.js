// Which of our wasm builds the benchmark runs: the one the page's worker would run on a
// single thread (www/wasmfeatures.js), unless ?pkg= names one.

import { siteBuilds, singleThreadBuild } from "../wasmfeatures.js";

// The folder of the build to load: `wanted` if given, else the page's choice.
export async function wasmBuild(wanted) {
  return wanted || singleThreadBuild(await siteBuilds());
}
