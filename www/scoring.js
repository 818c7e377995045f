// The comparison view's requests, on the worker's side (worker.js merges them into its
// handlers): every method of the catalogue run and scored on the current image, one after
// the other (Model.score: the display map, its deletion and insertion curves and areas,
// on request the sanity score), and one method on two models side by side. Scored rows
// are kept for the current model and image, so a new colormap, a new sort or the sanity
// box ask the core only for what is missing. No DOM here.
import { attributionPictures } from "./draw/pictures.js";

/**
 * The requests and the second model's slot. `model()` and `image()` answer the worker's
 * current model and prepared image (or throw its "no model/image yet"), `core()` the wasm
 * module (for the renderer).
 */
export function scoreHandlers({ model, image, core }) {
  // Rows of the current model and image by [method, target]; emptied when either changes.
  let rows = new Map();
  // {model, id, image}: the model beside the current one, and the current image as it
  // sees it (prepared on first use: its preprocessing may differ).
  let second = null;

  function secondImage() {
    if (!second) throw new Error("no second model is loaded to compare with");
    if (!second.image) {
      // Its input stays in wasm memory until this image or the second model goes.
      const prepared = second.model.prepareImage(new Uint8Array(image().bytes));
      second.image = { input: prepared.input, shape: prepared.shape, rgba: prepared.rgba, width: prepared.width, height: prepared.height };
    }
    return second.image;
  }

  /** Model.score of one method, timed (ms, the map and its scores). */
  function score(m, img, name, target, sanity, onProgress) {
    const start = performance.now();
    const row = m.score(name, img.input, target ?? undefined, {}, sanity, onProgress);
    return { ...row, ms: performance.now() - start };
  }

  /** A row as the page gets it: a copy, with the overlay and "Save PNG"'s picture in `look`. */
  function withPictures(row, img, look) {
    const r = structuredClone(row);
    const { overlay, png } = attributionPictures(core(), r, img, look);
    return { ...r, pictures: { overlay, png } };
  }

  function modelName(m) {
    return m.displayName ?? m.card().name;
  }

  const handlers = {
    // {methods: [names], target?, sanity, look} -> {rows, ms}: each method with its
    // catalogue defaults (as `convscope compare`), in the order asked. Each finished row
    // also goes out at once as progress's `partial` {index, row}; `ms` is the whole
    // grid's time in the worker.
    async scoreMethods({ methods, target, sanity = false, look }, progress) {
      const m = model();
      const img = image();
      const start = performance.now();
      const out = [];
      for (const [i, name] of methods.entries()) {
        const key = JSON.stringify([name, target ?? null]);
        let row = rows.get(key);
        if (!row || (sanity && row.sanity === null)) {
          const where = `${name}, ${i + 1} of ${methods.length}`;
          row = score(m, img, name, target, sanity, (done, total, stage) => {
            progress((i + done / total) / methods.length, `${where}: ${stage ?? "drawing"}`);
            return true;
          });
          rows.set(key, row);
        }
        const shown = withPictures(row, img, look);
        out.push(shown);
        progress((i + 1) / methods.length, `${i + 1} of ${methods.length} maps`, { index: i, row: shown });
      }
      return { rows: out, ms: performance.now() - start };
    },
    // {method, target?, look} -> {rows: [current model's, second model's]}, each row with
    // `model` (its name) and `top` (its top class {class, label, prob}).
    async scoreModels({ method, target, look }, progress) {
      const pairs = [
        [model(), image()],
        [second?.model, second ? secondImage() : null],
      ];
      if (!pairs[1][0]) throw new Error("no second model is loaded to compare with");
      const out = pairs.map(([m, img], i) => {
        const row = score(m, img, method, target, false, (done, total, stage) => {
          progress((i + done / total) / 2, `${modelName(m)}: ${stage ?? "drawing"}`);
          return true;
        });
        const [top] = m.predict(img.input, 1);
        return { ...withPictures(row, img, look), model: modelName(m), top };
      });
      return { rows: out };
    },
    // Which second model is loaded: {id, name}, or null (none yet, or the worker restarted).
    async secondModel() {
      return second ? { id: second.id, name: modelName(second.model) } : null;
    },
  };

  return {
    handlers,
    /** Makes `loaded` the second model (freeing the one before), named `id`; answers it. */
    setSecond(loaded, id, name) {
      second?.image?.input.free();
      second?.model.free();
      if (name) loaded.displayName = name;
      second = { model: loaded, id, image: null };
      return loaded;
    },
    /** The current model or image changed: kept rows and the second model's image go. */
    forgetImage() {
      rows = new Map();
      second?.image?.input.free();
      if (second) second.image = null;
    },
  };
}
