// Pictures a person can read (issue 17), on the embedded Fashion-MNIST model: in every
// view that draws a map, the main picture is drawn at least 320 px wide on a 1280-px
// window with square pixels; hovering its centre prints the position and the value
// under the pointer, which the test works out on its own (from the pointer's place and
// the canvas' box; the value from the picture's colours where the map is drawn in the
// colour bar's colormap); an arrow key moves the readout by one cell; a click or Enter
// opens the picture enlarged and Escape closes it, focus back on the picture; the
// colour bar says in words what its colours mean. At 390 px nothing scrolls sideways.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForTests, withWatchedPage, waitForDone, markStale, screenshot } from "../support/browser.mjs";
import { axeViolations, severe, describeViolations } from "../support/axe.mjs";

const env = browserForTests();

const ATTRIBUTION = ["saliency", "guided-backprop", "smoothgrad", "integrated-gradients", "grad-cam", "grad-cam++", "score-cam", "guided-grad-cam"];

async function open(page, query) {
  await markStale(page);
  await page.goto(`${env().server.url}index.html?model=fashion&${query}`);
  await waitForDone(page, query);
}

/** Size, rendering and cell grid of the canvas `selector`. */
function measure(page, selector) {
  return page.$eval(selector, (c) => {
    const box = c.getBoundingClientRect();
    const s = getComputedStyle(c);
    return {
      width: box.width,
      height: box.height,
      rendering: s.imageRendering,
      pixels: [c.width, c.height],
      columns: c.readoutSpec?.grid.columns,
      rows: c.readoutSpec?.grid.rows,
      label: c.getAttribute("aria-label"),
      role: c.getAttribute("role"),
    };
  });
}

/**
 * Hovers `selector` at `at` (canvas pixels; default its centre); answers the canvas
 * pixel under the pointer, worked out from the canvas' box alone, and the readout line.
 */
async function hoverCentre(page, selector, readout, at) {
  const canvas = page.locator(selector);
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  const c = await page.$eval(selector, (c) => ({ left: c.clientLeft, top: c.clientTop, w: c.clientWidth, h: c.clientHeight, pw: c.width, ph: c.height }));
  const [tx, ty] = at ?? [c.pw / 2, c.ph / 2];
  const [mx, my] = [box.x + c.left + ((tx + 0.01) / c.pw) * c.w, box.y + c.top + ((ty + 0.01) / c.ph) * c.h];
  await page.mouse.move(mx, my);
  const px = ((mx - box.x - c.left) / c.w) * c.pw;
  const py = ((my - box.y - c.top) / c.h) * c.ph;
  const line = await readLine(page, readout);
  return { px, py, line };
}

/** The readout line next to `selector` (its figure's), with its data-*. */
function readLine(page, selector) {
  return page.$eval(selector, (p) => ({ text: p.textContent, col: Number(p.dataset.col), row: Number(p.dataset.row), value: Number(p.dataset.value) }));
}

/** Arrow Right on the focused picture moves the readout one cell right (or it stays at the right edge). */
async function assertArrowMoves(page, selector, readout) {
  await page.focus(selector);
  const before = await readLine(page, readout);
  assert.ok(Number.isFinite(before.col), `focus shows no cursor on ${selector}: ${before.text}`);
  await page.keyboard.press("ArrowLeft");
  const left = await readLine(page, readout);
  assert.equal(left.col, before.col - 1, `ArrowLeft: ${before.text} -> ${left.text}`);
  assert.equal(left.row, before.row);
  assert.notEqual(left.text, before.text);
  await page.keyboard.press("ArrowDown");
  const down = await readLine(page, readout);
  assert.deepEqual([down.col, down.row], [left.col, left.row + 1], `ArrowDown: ${left.text} -> ${down.text}`);
  const cursor = await page.$eval(selector, (c) => {
    const mark = c.parentElement.querySelector(".readout-cursor");
    return mark ? mark.getBoundingClientRect().width : 0;
  });
  assert.ok(cursor >= 3, "no cursor cell outlined on the picture");
}

/** Enter on the focused picture opens the enlarged dialog; Escape closes it and focus comes back. */
async function assertEnlarges(page, selector, { click = false, shot, axe = false } = {}) {
  if (click) await page.click(selector);
  else {
    await page.focus(selector);
    await page.keyboard.press("Enter");
  }
  await page.waitForSelector("dialog[data-testid=enlarged][open]");
  const big = await page.$eval("[data-testid=enlarged-picture]", (c) => ({ width: c.getBoundingClientRect().width, rendering: getComputedStyle(c).imageRendering, label: c.getAttribute("aria-label") }));
  assert.ok(big.width >= 600, `the enlarged picture is ${big.width} px wide`);
  assert.equal(big.rendering, "pixelated");
  assert.match(big.label, /enlarged/);
  // Its copy reads out too.
  assert.ok((await page.textContent("dialog [data-testid=enlarged-readout]"))?.length > 10, "the enlarged picture has no readout");
  if (shot) await screenshot(page, shot);
  if (axe) {
    const bad = severe(await axeViolations(page));
    assert.deepEqual(bad, [], `the open dialog:\n${describeViolations(bad)}`);
  }
  await page.keyboard.press("Escape");
  await page.waitForSelector("dialog[data-testid=enlarged]:not([open])", { state: "attached" });
  assert.ok(await page.$eval(selector, (c) => document.activeElement === c), "focus did not come back to the picture");
}

async function meaning(page) {
  const words = (await page.textContent("#panel figure.colour-bar [data-testid=colour-meaning]"))?.trim() ?? "";
  assert.ok(words.length > 15 && /[a-z]{4,}/.test(words), `the colour bar says "${words}"`);
  return words;
}

function assertLarge(m, min = 320) {
  assert.ok(m.width >= min, `picture drawn ${m.width} px wide`);
  assert.equal(m.rendering, "pixelated");
  assert.equal(m.role, "img");
  assert.ok(m.label?.length > 10, "no text alternative");
}

/** The level (0-255) of the colour bar's colour nearest to the map's pixel at (x, y) of `selector`. */
function levelUnder(page, selector, x, y) {
  return page.$eval(
    selector,
    (c, [x, y]) => {
      const [r, g, b] = c.getContext("2d").getImageData(x, y, 1, 1).data;
      const bar = document.querySelector("#panel figure.colour-bar canvas");
      const strip = bar.getContext("2d").getImageData(0, 0, 256, 1).data;
      let best = 0;
      let distance = Infinity;
      for (let k = 0; k < 256; k++) {
        const d = (strip[4 * k] - r) ** 2 + (strip[4 * k + 1] - g) ** 2 + (strip[4 * k + 2] - b) ** 2;
        if (d < distance) [best, distance] = [k, d];
      }
      return best;
    },
    [x, y],
  );
}

test("attribution maps: large, crisp, read out under the pointer and the keys, enlarged, colours in words", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    for (const view of ATTRIBUTION) {
      await open(page, `view=${encodeURIComponent(view)}`);
      const main = "[data-testid=attribution-overlay]";
      const m = await measure(page, main);
      assertLarge(m);
      const readout = `#panel figure:has(${main}) [data-testid=readout]`;
      const { px, py, line } = await hoverCentre(page, main, readout);
      const [x, y] = [Math.floor(px), Math.floor(py)];
      assert.deepEqual([line.col, line.row], [x, y], `${view}: readout ${line.text} for pixel ${px}, ${py}`);
      assert.match(line.text, new RegExp(`^x ${x}, y ${y}: [\\d.e-]+ \\((of max 1|1 = the 99th percentile)\\)$`), view);
      // The value is the view's display map there ...
      const held = await page.$eval(main, (c, i) => c.readoutSpec.values[i], y * m.pixels[0] + x);
      assert.equal(line.value, held, view);
      // ... which the map alone shows in the colour bar's colours: its level is the value.
      const level = await levelUnder(page, "#panel .side-by-side figure:nth-child(2) canvas", x, y);
      assert.ok(Math.abs(level / 255 - line.value) <= 1.5 / 255, `${view}: the map's colour at ${x}, ${y} is level ${level}, the readout says ${line.value}`);
      await assertArrowMoves(page, main, readout);
      await assertEnlarges(page, main, view === "grad-cam" ? { shot: "pictures-enlarged", axe: true } : {});
      await meaning(page);
      if (view === "grad-cam") await screenshot(page, "pictures-grad-cam");
    }
    // Grad-CAM's words say what the map is about.
    await open(page, "view=grad-cam");
    assert.match(await meaning(page), /raises the class score/);
  });
});

test("occlusion's three pictures: the drop, the window's probability and the mask read out", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    await open(page, "view=occlusion");
    for (const selector of ["[data-testid=attribution-overlay]", "[data-testid=occlusion-probs]", "[data-testid=occlusion-mask]"]) assertLarge(await measure(page, selector));
    const drops = "[data-testid=attribution-overlay]";
    const { px, py, line } = await hoverCentre(page, drops, `#panel figure:has(${drops}) [data-testid=readout]`);
    assert.match(line.text, new RegExp(`^x ${Math.floor(px)}, y ${Math.floor(py)}: drop -?[\\d.e-]+ \\(logit\\) when covered, mean of \\d+ windows?; [\\d.e-]+ of the largest$`));
    // The drop is the mean of the covering windows' drops, which the window grid says one by one.
    const probs = "[data-testid=occlusion-probs]";
    const { px: cx, py: cy, line: cell } = await hoverCentre(page, probs, `#panel figure:has(${probs}) [data-testid=readout]`);
    const { columns: cols, rows } = await measure(page, probs);
    const [col, row] = [Math.floor(cx), Math.floor(cy)];
    assert.ok(col < cols && row < rows);
    assert.deepEqual([cell.col, cell.row], [col, row]);
    assert.match(cell.text, /^window x \d+-\d+, y \d+-\d+: [\d.e-]+ of the probability left when covered \(drop -?[\d.e-]+ logit\)$/);
    assert.ok(cell.value >= 0, cell.text);
    await assertArrowMoves(page, probs, `#panel figure:has(${probs}) [data-testid=readout]`);
    const mask = "[data-testid=occlusion-mask]";
    const { line: masked } = await hoverCentre(page, mask, `#panel figure:has(${mask}) [data-testid=readout]`);
    assert.match(masked.text, /^x \d+, y \d+: (kept|dimmed): /);
    await assertEnlarges(page, probs, { click: true });
    assert.match(await meaning(page), /drop in class score when covered \(logit\)/);
    await screenshot(page, "pictures-occlusion");
  });
});

test("feature maps: the tiles read each channel's value, Enter lays a map over the image, the overlay enlarges", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    await open(page, "view=features");
    const tiles = "[data-testid=feature-tiles]";
    assertLarge(await measure(page, tiles));
    const readout = `#panel figure:has(${tiles}) [data-testid=readout]`;
    // The core's layout: 32 maps of 28x28 in rows of 6, 1 px apart (no margin): the
    // middle of the second map of the second row is channel 7's pixel (14, 14).
    const [width] = (await measure(page, tiles)).pixels;
    const perRow = (width + 1) / 29;
    assert.equal(perRow, 6, `a grid ${width} px wide`);
    const { line } = await hoverCentre(page, tiles, readout, [29 + 14, 29 + 14]);
    assert.match(line.text, /^channel 7, x 14, y 14: -?[\d.e-]+ \(channel from -?[\d.e-]+ to -?[\d.e-]+\)$/);
    const [lo, hi] = line.text.match(/from (\S+) to ([^)]+)/).slice(1).map(Number);
    assert.ok(line.value >= lo - 1e-3 * Math.abs(lo) && line.value <= hi + 1e-3 * Math.abs(hi), line.text);
    await assertArrowMoves(page, tiles, readout);
    // Enter at the keyboard's cursor lays that channel over the image.
    const at = await readLine(page, readout);
    const wanted = Number(at.text.match(/^channel (\d+)/)[1]);
    await page.keyboard.press("Enter");
    await page.waitForFunction((c) => document.querySelector(".overlay-slot figcaption")?.textContent.startsWith(`channel ${c} `), wanted);
    const over = ".overlay-slot canvas";
    assertLarge(await measure(page, over));
    const overReadout = ".overlay-slot [data-testid=readout]";
    const o = await hoverCentre(page, over, overReadout);
    assert.match(o.line.text, new RegExp(`^channel ${wanted}, x ${Math.floor(o.px)}, y ${Math.floor(o.py)}: `));
    await assertArrowMoves(page, over, overReadout);
    await assertEnlarges(page, over);
    assert.match(await meaning(page), /activation of this channel/);
    await screenshot(page, "pictures-features");
  });
});

test("filters, predictions, maximization and the comparison: large and read out", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    await open(page, "view=filters");
    const grid = "[data-testid=filter-grid]";
    assertLarge(await measure(page, grid));
    // 16 kernels of 1x3x3 in rows of 6: the middle of the first tile is filter 0's centre weight.
    const [gridWidth] = (await measure(page, grid)).pixels;
    const f = await hoverCentre(page, grid, "[data-testid=filter-readout]", [gridWidth / 12, gridWidth / 12]);
    assert.match(f.line.text, /^filter 0: -?[\d.e-]+ \(black\) to -?[\d.e-]+ \(white\), mean -?[\d.e-]+; weight at x 1, y 1: ≈-?[\d.e-]+$/);
    const [lo, hi] = f.line.text.match(/^filter \d+: (\S+) \(black\) to (\S+) \(white\)/).slice(1).map(Number);
    assert.ok(f.line.value >= lo - 1e-6 && f.line.value <= hi + 1e-6, f.line.text);
    await assertArrowMoves(page, grid, "[data-testid=filter-readout]");
    await assertEnlarges(page, grid);

    await open(page, "view=predictions");
    const input = "#panel .side-by-side canvas";
    assertLarge(await measure(page, input));
    const p = await hoverCentre(page, input, "#panel [data-testid=readout]");
    const grey = await page.$eval(input, (c, [x, y]) => c.getContext("2d").getImageData(x, y, 1, 1).data[0], [Math.floor(p.px), Math.floor(p.py)]);
    assert.equal(p.line.text, `x ${Math.floor(p.px)}, y ${Math.floor(p.py)}: grey level ${grey} of 255`);
    await assertEnlarges(page, input, { click: true });

    await open(page, "view=maximize");
    const picture = "[data-testid=maximize-picture]";
    assertLarge(await measure(page, picture));
    const mx = await hoverCentre(page, picture, "#panel figure:has([data-testid=maximize-picture]) [data-testid=readout]");
    const shown = await page.$eval(picture, (c, [x, y]) => c.getContext("2d").getImageData(x, y, 1, 1).data[0], [Math.floor(mx.px), Math.floor(mx.py)]);
    assert.ok(Math.abs(mx.line.value * 255 - shown) <= 1, `the picture shows ${shown}, the readout says ${mx.line.text}`);
    await assertEnlarges(page, picture);

    await open(page, "view=compare&mode=models&other=fashion-shortcut");
    const pair = await page.$$eval("[data-testid=compare-model] canvas", (cs) => cs.map((c) => c.getBoundingClientRect().width));
    assert.equal(pair.length, 2);
    for (const w of pair) assert.ok(w >= 280, `a map of the pair is ${w} px wide`);
    const second = "[data-testid=compare-model]:nth-child(2) canvas";
    const c = await hoverCentre(page, second, "[data-testid=compare-model]:nth-child(2) [data-testid=readout]");
    assert.match(c.line.text, new RegExp(`^x ${Math.floor(c.px)}, y ${Math.floor(c.py)}: [\\d.e-]+ \\(of max 1\\)$`));
    await assertEnlarges(page, second, { click: true });
    assert.match(await meaning(page), /raises the class score/);
    await screenshot(page, "pictures-compare-twin");

    await open(page, "view=compare");
    await page.click("[data-testid=compare-tile] canvas");
    await page.waitForSelector("dialog[data-testid=enlarged][open]");
    await page.keyboard.press("Escape");
    await meaning(page);
  });
});

test("at 390 px the pictures shrink: no sideways scrolling", async () => {
  const context = await env().browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  try {
    for (const view of ["grad-cam", "occlusion", "features", "filters", "maximize", "compare&mode=models&other=fashion-shortcut"]) {
      await open(page, `view=${view}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${view} scrolls ${overflow} px sideways`);
      const widest = await page.$$eval("#panel canvas", (cs) => Math.max(...cs.map((c) => c.getBoundingClientRect().right)));
      assert.ok(widest <= 390, `${view}: a picture reaches ${widest} px`);
      if (view === "occlusion") await screenshot(page, "pictures-390-occlusion");
    }
  } finally {
    await context.close();
  }
});
