// The built wasm module (dist/pkg, made by scripts/build-web.sh), loaded once for a test
// file in Node: the one setup every tests/wasm file shares.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { readNpy } from "./npy.mjs";
import { INPUT_NPY, PKG_JS, PKG_WASM } from "./paths.mjs";

/** The module's exports, instantiated; fails naming the command that builds it. */
export async function loadPkg() {
  assert.ok(existsSync(PKG_JS) && existsSync(PKG_WASM), `${PKG_JS} is missing: run scripts/build-web.sh first`);
  const pkg = await import(pathToFileURL(PKG_JS).href);
  pkg.initSync({ module: readFileSync(PKG_WASM) });
  return pkg;
}

/**
 * The module and the fixture image (astronaut32.npy): its npy, its values and shape,
 * and the same in wasm memory as an `Input` (as the worker keeps its prepared image).
 */
export async function loadPkgAndImage() {
  const pkg = await loadPkg();
  const npy = readNpy(INPUT_NPY);
  const values = Float32Array.from(npy.data);
  const shape = Uint32Array.from(npy.shape);
  return { pkg, npy, values, shape, input: new pkg.Input(values, shape) };
}
