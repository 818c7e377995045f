// Minimal .npz reader for tests: the arrays of an uncompressed zip (numpy's `np.savez`,
// which stores its .npy members without compression), by name without ".npy".
import { readFileSync } from "node:fs";
import { parseNpy } from "./npy.mjs";

/** Every array in the .npz at `path`: a Map from name to {shape, data}. */
export function readNpz(path) {
  const buf = readFileSync(path);
  const arrays = new Map();
  let at = 0;
  // Local file headers follow each other until the central directory (signature 0x02014b50).
  while (at + 30 <= buf.length && buf.readUInt32LE(at) === 0x04034b50) {
    const method = buf.readUInt16LE(at + 8);
    const flags = buf.readUInt16LE(at + 6);
    let size = buf.readUInt32LE(at + 18);
    const nameLength = buf.readUInt16LE(at + 26);
    const extraLength = buf.readUInt16LE(at + 28);
    const name = buf.subarray(at + 30, at + 30 + nameLength).toString("utf8");
    const start = at + 30 + nameLength + extraLength;
    if (method !== 0) throw new Error(`${path}: ${name} is compressed (np.savez_compressed); this reader takes np.savez files`);
    if (flags & 8) throw new Error(`${path}: ${name} has its size after the data; this reader needs it in the header`);
    if (size === 0xffffffff) {
      // Zip64: the real size is in the extra field (id 1: uncompressed, then compressed size).
      const extra = buf.subarray(at + 30 + nameLength, start);
      for (let e = 0; e + 4 <= extra.length; e += 4 + extra.readUInt16LE(e + 2)) {
        if (extra.readUInt16LE(e) === 1) size = Number(extra.readBigUInt64LE(e + 4));
      }
    }
    arrays.set(name.replace(/\.npy$/, ""), parseNpy(buf.subarray(start, start + size), `${path}:${name}`));
    at = start + size;
  }
  if (!arrays.size) throw new Error(`${path}: no arrays found (not an uncompressed .npz?)`);
  return arrays;
}
