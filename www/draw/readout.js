// The value under the pointer, for every map on the page: a line under the picture
// (aria-live polite) that says where the pointer is and what the map holds there, e.g.
// "x 12, y 3: 0.734 (of max 1)". A picture is a grid of cells (a map's pixels, an
// occlusion window, a kernel weight); the view says what its cells hold (`describe`),
// this module does the pointing. The canvas takes focus, and the arrow keys move a
// cursor cell, read out the same way: the keyboard's way to the same numbers.
// Pure DOM; no knowledge of the worker or the views.

/** Cells covering the canvas evenly: a `columns` x `rows` map drawn at any size. */
export function uniformGrid(columns, rows) {
  return {
    columns,
    rows,
    // (px, py) in the canvas' own pixels; cells are canvas.width / columns wide.
    cellAt: (px, py, canvas) => ({ col: Math.floor((px * columns) / canvas.width), row: Math.floor((py * rows) / canvas.height) }),
    rect: (col, row, canvas) => ({ x: (col * canvas.width) / columns, y: (row * canvas.height) / rows, w: canvas.width / columns, h: canvas.height / rows }),
  };
}

/**
 * The cells of a grid of tiles the core drew (render::grid's layout: tile k's origin at
 * margin + k * (side * zoom + gap)): one logical grid of `columns * tileWidth` by
 * `tileRows * tileHeight` cells, the gaps and margins belonging to no cell. `locate`
 * turns a cell into {tile, x, y} (or null past the last tile).
 */
export function tileGrid({ columns, zoom, gap, margin }, tileWidth, tileHeight, count) {
  const tileRows = Math.ceil(count / columns);
  const pitchX = tileWidth * zoom + gap;
  const pitchY = tileHeight * zoom + gap;
  const locate = (col, row) => {
    const tile = Math.floor(row / tileHeight) * columns + Math.floor(col / tileWidth);
    return tile < count ? { tile, x: col % tileWidth, y: row % tileHeight } : null;
  };
  const along = (p, pitch, side, tiles) => {
    const t = Math.floor((p - margin) / pitch);
    const within = p - margin - t * pitch;
    return t >= 0 && t < tiles && within < side * zoom ? t * side + Math.floor(within / zoom) : null;
  };
  return {
    columns: columns * tileWidth,
    rows: tileRows * tileHeight,
    locate,
    cellAt(px, py) {
      const col = along(px, pitchX, tileWidth, columns);
      const row = along(py, pitchY, tileHeight, tileRows);
      return col === null || row === null || !locate(col, row) ? null : { col, row };
    },
    rect(col, row) {
      const x = margin + Math.floor(col / tileWidth) * pitchX + (col % tileWidth) * zoom;
      const y = margin + Math.floor(row / tileHeight) * pitchY + (row % tileHeight) * zoom;
      return { x, y, w: zoom, h: zoom };
    },
  };
}

/**
 * Reads `canvas` out: `grid` (uniformGrid or tileGrid) places the cells, `describe(col,
 * row)` says what one holds ({text, value?}; null for no cell there), `hint` is the line
 * before any pointing, `testid` the line's data-testid ("readout"), `onEnter(cell)` (optional) is what Enter does at the cursor.
 * Answers the readout line to put under the picture. The canvas keeps the spec
 * (`canvas.readoutSpec`), so an enlarged copy reads out the same numbers.
 */
export function readout(canvas, spec) {
  const { grid, describe, hint = "Point at the picture (or focus it and use the arrow keys) for the value under the cursor." } = spec;
  canvas.readoutSpec = spec;
  canvas.tabIndex = 0;
  canvas.classList.add("readable");
  const line = document.createElement("p");
  line.className = "readout";
  line.dataset.testid = spec.testid ?? "readout";
  line.setAttribute("aria-live", "polite");
  line.textContent = hint;
  // Where the pointer or the keyboard's cursor is, outlined over the picture.
  const mark = document.createElement("span");
  mark.className = "readout-cursor";
  mark.setAttribute("aria-hidden", "true");
  let cursor = null;

  const show = (cell) => {
    const said = cell && describe(cell.col, cell.row);
    if (!said) {
      line.textContent = cell ? "(between pictures)" : hint;
      mark.remove();
      for (const key of ["col", "row", "value"]) delete line.dataset[key];
      return;
    }
    cursor = cell;
    line.textContent = said.text;
    line.dataset.col = String(cell.col);
    line.dataset.row = String(cell.row);
    if (said.value !== undefined) line.dataset.value = String(said.value);
    else delete line.dataset.value;
    place(cell);
  };
  const place = ({ col, row }) => {
    const frame = canvas.parentElement;
    if (!frame) return;
    frame.classList.add("readout-frame");
    if (mark.parentElement !== frame) frame.append(mark);
    const r = grid.rect(col, row, canvas);
    // The canvas' pixels to CSS pixels inside its border (it is drawn scaled).
    const sx = canvas.clientWidth / canvas.width;
    const sy = canvas.clientHeight / canvas.height;
    mark.style.left = `${canvas.offsetLeft + canvas.clientLeft + r.x * sx}px`;
    mark.style.top = `${canvas.offsetTop + canvas.clientTop + r.y * sy}px`;
    mark.style.width = `${Math.max(3, r.w * sx)}px`;
    mark.style.height = `${Math.max(3, r.h * sy)}px`;
  };
  const pointed = (event) => {
    const box = canvas.getBoundingClientRect();
    const px = ((event.clientX - box.left - canvas.clientLeft) / canvas.clientWidth) * canvas.width;
    const py = ((event.clientY - box.top - canvas.clientTop) / canvas.clientHeight) * canvas.height;
    if (px < 0 || py < 0 || px >= canvas.width || py >= canvas.height) return null;
    return grid.cellAt(px, py, canvas);
  };
  canvas.addEventListener("pointermove", (event) => show(pointed(event)));
  canvas.addEventListener("pointerleave", () => {
    if (document.activeElement === canvas && cursor) show(cursor);
    else show(null);
  });
  // The keyboard's cursor starts in the middle of the picture.
  canvas.addEventListener("focus", () => show(cursor ?? centre(grid, describe)));
  canvas.addEventListener("blur", () => mark.remove());
  canvas.addEventListener("keydown", (event) => {
    const step = STEPS[event.key];
    if (step) {
      event.preventDefault(); // the arrows would scroll the page
      show(move(grid, describe, cursor ?? centre(grid, describe), step));
    } else if (event.key === "Enter" && spec.onEnter && cursor) {
      event.preventDefault();
      spec.onEnter(cursor);
    }
  });
  return line;
}

const STEPS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

function centre(grid, describe) {
  const cell = { col: Math.floor(grid.columns / 2), row: Math.floor(grid.rows / 2) };
  return describe(cell.col, cell.row) ? cell : { col: 0, row: 0 };
}

/** One cell along `step`, over cells that hold nothing (past the last tile); stays at the edge. */
function move(grid, describe, from, [dx, dy]) {
  let { col, row } = from;
  for (;;) {
    col += dx;
    row += dy;
    if (col < 0 || row < 0 || col >= grid.columns || row >= grid.rows) return from;
    if (describe(col, row)) return { col, row };
  }
}
