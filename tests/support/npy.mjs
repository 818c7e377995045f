// Minimal .npy reader for tests: little-endian float32/float64 (and int64, as numbers), C order.
import { readFileSync } from "node:fs";

export function readNpy(path) {
  return parseNpy(readFileSync(path), path);
}

/** A .npy file's bytes (a Buffer); `path` names it in errors. */
export function parseNpy(buf, path) {
  const magic = buf.subarray(0, 6).toString("latin1");
  if (magic !== "\x93NUMPY") throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + headerLen).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${path}: bad .npy header ${header}`);
  if (fortran === "True") throw new Error(`${path}: Fortran order is not supported`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  const bytes = buf.subarray(offset);
  // Copy into an aligned buffer: the data offset need not be a multiple of 8.
  const aligned = new Uint8Array(bytes).buffer;
  let data;
  if (descr === "<f4") data = new Float32Array(aligned, 0, count);
  else if (descr === "<f8") data = new Float64Array(aligned, 0, count);
  else if (descr === "<i8") data = Float64Array.from(new BigInt64Array(aligned, 0, count), Number);
  else throw new Error(`${path}: dtype ${descr} is not supported (float32/float64/int64 only)`);
  return { shape, data };
}
