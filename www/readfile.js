// Reads a File into wasm memory piece by piece (the wasm `FileBytes`), so a large model
// file is never held whole by JS as well: its bytes exist once, in the module's memory.
// Used by the worker for ONNX files (imported.js).

/** A `FileBytes` holding all of `file`; `progress(fraction, text)` follows the reading. */
export async function readInto(FileBytes, file, progress = () => {}) {
  const sink = new FileBytes(file.size);
  try {
    const reader = file.stream().getReader();
    let last = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      sink.push(value);
      // At most every 1% of the file: a message per 64 KB chunk would be thousands.
      if (sink.length - last >= file.size / 100) {
        last = sink.length;
        progress(sink.length / file.size, `reading ${file.name}: ${(sink.length / 1e6).toFixed(1)} of ${(file.size / 1e6).toFixed(1)} MB`);
      }
    }
  } catch (err) {
    sink.free();
    throw new Error(`could not read ${file.name}: ${err.message}`);
  }
  return sink;
}
