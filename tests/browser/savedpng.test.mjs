// "Save PNG" on the page and `convscope explain --png` give the same picture: the same map,
// colormap and opacity, on the embedded Fashion-MNIST model (www/models/fashion-vgg.json)
// and one method of each kind (an input gradient, a CAM, occlusion, and occlusion's mask
// view). The CLI side is the real binary (cargo run); the page side is the real page in
// headless Chromium, its download read back. Both PNGs are decoded by Chromium and
// compared pixel by pixel: at most 1 level per channel apart.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openBrowser, watchedPage, waitForDone } from "../support/browser.mjs";
import { ROOT } from "../support/paths.mjs";

const CARD = path.join(ROOT, "www", "models", "fashion-vgg.json");
const SAMPLE = "fashion-00000";
const IMAGE = path.join(ROOT, "www", "samples", `${SAMPLE}.png`);

let env;
let dir;
before(async () => {
  env = await openBrowser();
  dir = mkdtempSync(path.join(tmpdir(), "convscope-savedpng-"));
});
after(async () => {
  await env?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `convscope explain METHOD ... --png` on the Fashion model and sample; the PNG's bytes. */
function cliPng(name, args) {
  const png = path.join(dir, `${name}.png`);
  execFileSync(
    "cargo",
    ["run", "--quiet", "-p", "convscope", "--bin", "convscope", "--", "explain", ...args, "--model", CARD, "--image", IMAGE, "--out", path.join(dir, `${name}.npy`), "--png", png],
    { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
  );
  return readFileSync(png);
}

/** Clicks the Save PNG button after `canvas` (a selector); the downloaded bytes. */
async function savedPng(page, canvas) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(`${canvas} + button.export`)]);
  return readFileSync(await download.path());
}

/** Both PNGs decoded by Chromium: {width, height, data} each. */
async function decode(page, pngs) {
  return page.evaluate(async (encoded) => {
    const out = [];
    for (const b64 of encoded) {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }), { premultiplyAlpha: "none", colorSpaceConversion: "none" });
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext("2d");
      ctx.drawImage(bitmap, 0, 0);
      out.push({ width: bitmap.width, height: bitmap.height, data: [...ctx.getImageData(0, 0, bitmap.width, bitmap.height).data] });
    }
    return out;
  }, pngs.map((b) => b.toString("base64")));
}

async function assertSamePicture(page, what, pagePng, cliPngBytes) {
  const [a, b] = await decode(page, [pagePng, cliPngBytes]);
  assert.deepEqual([a.width, a.height], [b.width, b.height], `${what}: the page saved ${a.width}x${a.height}, the CLI wrote ${b.width}x${b.height}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    if (d > worst) [worst, at] = [d, i];
  }
  assert.ok(worst <= 1, `${what}: channel ${at % 4} of pixel ${Math.floor(at / 4)} differs by ${worst} levels`);
  // A blank picture would pass trivially: these show the map in many colours.
  const colours = new Set();
  for (let i = 0; i < a.data.length; i += 4) colours.add((a.data[i] << 16) | (a.data[i + 1] << 8) | a.data[i + 2]);
  assert.ok(colours.size > 50, `${what}: the picture has only ${colours.size} colours`);
  return { worst, width: a.width, height: a.height, identical: pagePng.equals(cliPngBytes) };
}

const CASES = [
  // The defaults on both sides (no colormap, no opacity given): one default everywhere.
  { method: "saliency", query: "", cli: [] },
  { method: "grad-cam", query: "&layer=features.4&colormap=magma&opacity=0.35", cli: ["--layer", "features.4", "--colormap", "magma", "--alpha", "0.35"] },
  { method: "occlusion", query: "&colormap=viridis&opacity=0.7", cli: ["--colormap", "viridis", "--alpha", "0.7"] },
];

test("Save PNG of an attribution equals convscope explain --png, for an input gradient, a CAM and occlusion", async () => {
  const w = await watchedPage(env.browser);
  try {
    for (const { method, query, cli } of CASES) {
      await w.page.goto(`${env.server.url}index.html?image=${SAMPLE}&view=${method}${query}`);
      await waitForDone(w.page, method);
      const pagePng = await savedPng(w.page, "[data-testid=attribution-overlay]");
      const result = await assertSamePicture(w.page, method, pagePng, cliPng(method, [method, ...cli]));
      // 28x28 enlarged 8 times, the colour bar (28 px) beside it.
      assert.deepEqual([result.width, result.height], [252, 224], method);
      console.log(`${method}: ${result.width}x${result.height}, largest difference ${result.worst}, ${result.identical ? "byte-identical PNGs" : "PNG bytes differ"}`);
      if (method === "occlusion") {
        // The tutorial's mask view: the CLI's --view mask (threshold 0.85 on both sides).
        const maskPng = await savedPng(w.page, "[data-testid=occlusion-mask]");
        const mask = await assertSamePicture(w.page, "occlusion mask", maskPng, cliPng("mask", [method, ...cli, "--view", "mask"]));
        assert.deepEqual([mask.width, mask.height], [224, 224], "a mask has no colour bar");
        console.log(`occlusion mask: largest difference ${mask.worst}, ${mask.identical ? "byte-identical PNGs" : "PNG bytes differ"}`);
      }
    }
    assert.deepEqual(w.problems, [], w.problems.join("\n"));
  } finally {
    await w.close();
  }
});
