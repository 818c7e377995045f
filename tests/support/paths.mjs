// Paths the web tests share, relative to the repository root.
import { fileURLToPath } from "node:url";
import path from "node:path";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const DIST = path.join(ROOT, "dist");
export const PKG_JS = path.join(DIST, "pkg", "convscope.js");
export const PKG_WASM = path.join(DIST, "pkg", "convscope_bg.wasm");
export const INPUT_NPY = path.join(ROOT, "crate", "tests", "fixtures", "astronaut32.npy");
export const TINY_REF = path.join(ROOT, "tests", "wasm", "tiny_logits.json");
