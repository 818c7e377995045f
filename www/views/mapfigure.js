// A picture of a view as a visitor handles it: its caption, the readout line under it
// (the value under the pointer or the keyboard's cursor, draw/readout.js) and, unless
// the picture's click already means something else, enlarging on click or Enter
// (draw/enlarge.js). Every view builds its maps with this, so they all behave alike.
import { figure } from "./dom.js";
import { formatNumber } from "../draw/canvas.js";
import { readout, uniformGrid } from "../draw/readout.js";
import { enlargeable } from "../draw/enlarge.js";

export const ENLARGE_HINT = "Point at the picture (or focus it and use the arrow keys) for the value there; click it or press Enter to enlarge it.";

/**
 * A figure of `canvas` with `caption`; `spec` (a readout spec, see draw/readout.js)
 * adds the readout line; `enlarge: false` for a picture whose click picks something.
 */
export function mapFigure(canvas, caption, spec, { enlarge = true } = {}) {
  const fig = figure(canvas, caption);
  fig.classList.add("map-figure");
  if (enlarge) enlargeable(canvas);
  if (spec) fig.append(readout(canvas, enlarge && !spec.hint ? { ...spec, hint: ENLARGE_HINT } : spec));
  return fig;
}

/**
 * The readout of a `width` x `height` map of `values` (row-major), drawn over the whole
 * canvas: "x 12, y 3: 0.734 (of max 1)", `scale` the words in brackets. `values` stays
 * on the spec (canvas.readoutSpec.values) for tests and scripts.
 */
export function mapReadout(values, width, height, scale) {
  return {
    grid: uniformGrid(width, height),
    values,
    describe: (x, y) => {
      const value = values[y * width + x];
      return { text: `x ${x}, y ${y}: ${formatNumber(value)}${scale ? ` (${scale})` : ""}`, value };
    },
  };
}

/** The words in brackets after a display map's value: what its 1 stands for (Attribution::display). */
export function displayScale(kind) {
  return kind === "input" ? "1 = the 99th percentile" : "of max 1";
}

/** The readout of a picture (RGBA, `width` x `height`): each pixel's colour, or its grey level. */
export function pixelReadout(rgba, width, height) {
  return {
    grid: uniformGrid(width, height),
    describe: (x, y) => {
      const i = 4 * (y * width + x);
      const [r, g, b] = [rgba[i], rgba[i + 1], rgba[i + 2]];
      const text = r === g && g === b ? `grey level ${r} of 255` : `red ${r}, green ${g}, blue ${b} of 255`;
      return { text: `x ${x}, y ${y}: ${text}`, value: (r + g + b) / 3 };
    },
  };
}
