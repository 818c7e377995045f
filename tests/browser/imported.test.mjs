// A visitor's own model files in the page: an ONNX file (alone, with a card, with its
// external-data file), Keras' VGG weights, and a truncated ONNX file. Each states what
// the page understood under the model's name (tiny_resnet's predictions are compared
// with PyTorch's float64 logits on the same pixels, references.npz), every view runs on
// it, and a bad file leaves the previous model working.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { browserForTests, withWatchedPage, waitForDone, waitForState, markStale, canvasColours, screenshot } from "../support/browser.mjs";
import { readNpz } from "../support/npz.mjs";
import { onnxModel, freeSizeModel } from "../support/onnxproto.mjs";
import { ROOT } from "../support/paths.mjs";

const env = browserForTests();
const FIXTURES = path.join(ROOT, "crate", "tests", "fixtures");
const ONNX = path.join(FIXTURES, "onnx");
// crate/tests/keras.rs's MINI: the architecture of the mini Keras fixtures.
const MINI = "cfg=4,4,M,8,M;in=3;pool=2;hidden=8;classes=5";

const file = (dir, name, mimeType = "application/octet-stream") => ({ name, mimeType, buffer: readFileSync(path.join(dir, name)) });
const origin = (page) => page.textContent("[data-testid=model-origin]");
const errorText = (page) => page.textContent("[data-testid=error]");

/** Picks `files` in the side bar's model file picker and waits for the page to settle. */
async function pick(page, files) {
  await markStale(page);
  await page.setInputFiles("[data-testid=weights-file]", files);
  return waitForState(page, ["done", "error"]);
}

/** Drops `files` on the page, as a visitor dragging them from a file manager does. */
async function drop(page, files) {
  await markStale(page);
  await page.evaluate((list) => {
    const transfer = new DataTransfer();
    for (const f of list) transfer.items.add(new File([Uint8Array.from(f.data)], f.name, { type: f.mimeType }));
    document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, files.map((f) => ({ name: f.name, mimeType: f.mimeType, data: [...f.buffer] })));
  return waitForState(page, ["done", "error"]);
}

async function openTiny(page) {
  await page.goto(`${env().server.url}index.html?model=tiny`);
  await waitForDone(page, "first load");
}

async function showView(page, id) {
  await markStale(page);
  await page.click(`[data-testid=view-${id}]`);
  await waitForDone(page, `view ${id}`);
}

test("an ONNX file loads with its preprocessing stated, gives PyTorch's logits, and every view runs on it", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    await openTiny(page);
    assert.equal(await pick(page, [file(ONNX, "tiny_resnet.onnx")]), "done", await errorText(page));
    assert.match(
      await origin(page),
      /^ONNX file tiny_resnet\.onnx: 3×32×32 input, 10 classes\. Preprocessing: ImageNet mean\/std, resized to 37, centre-cropped to 32×32 \(the page's choice: no card with it\)\. Labels: class numbers 0-9\./,
    );
    assert.ok(await page.isVisible("[data-testid=preprocessing-select]"));
    assert.match(await page.textContent("#model-name"), /^tiny_resnet: /);
    await screenshot(page, "imported-onnx");

    // The page's other choices: each reloads the model and says so.
    await markStale(page);
    await page.selectOption("[data-testid=preprocessing-select]", "caffe");
    await waitForDone(page, "caffe chosen");
    assert.match(await origin(page), /Preprocessing: Keras "caffe" \(BGR, ImageNet means subtracted on the 0-255 scale, no scaling\), 32×32 \(the page's choice/);
    await markStale(page);
    await page.selectOption("[data-testid=preprocessing-select]", "scale");
    await waitForDone(page, "scale chosen");
    assert.match(await origin(page), /Preprocessing: pixels scaled to \[0, 1\], resized to 32×32 \(the page's choice/);

    // With a card beside it: the card's labels and preprocessing (astronaut32.png as it
    // is, ImageNet mean/std: the pixels of astronaut32.npy, PyTorch's input).
    const labels = Array.from({ length: 10 }, (_, i) => `thing ${i}`);
    const card = { name: "Tiny ResNet with card", labels, preprocessing: { kind: "scale", size: 32, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } };
    const cardFile = { name: "tiny_resnet.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(card)) };
    assert.equal(await pick(page, [file(ONNX, "tiny_resnet.onnx"), cardFile]), "done", await errorText(page));
    assert.match(await origin(page), /^ONNX file tiny_resnet\.onnx and card tiny_resnet\.json: 3×32×32 input, 10 classes\. Preprocessing: ImageNet mean\/std, resized to 32×32 \(from the card tiny_resnet\.json\)\. Labels: the card's\./);
    assert.ok(await page.isHidden("[data-testid=preprocessing-select]"), "no choice when the card gives the preprocessing");
    await markStale(page);
    await page.setInputFiles("[data-testid=image-file]", file(FIXTURES, "astronaut32.png", "image/png"));
    await waitForDone(page, "astronaut32.png");
    const refs = readNpz(path.join(ONNX, "references.npz"));
    const want = Array.from(refs.get("tiny_resnet__logits").data);
    const preds = await page.evaluate(() => window.convscope.app.worker.call("predict", { k: 10 }));
    const ours = new Array(10);
    for (const p of preds) ours[p.class] = p.logit;
    const scale = Math.max(...want.map(Math.abs));
    const err = Math.max(...ours.map((v, i) => Math.abs(v - want[i])));
    assert.ok(err <= 1e-4 * scale, `page logits vs PyTorch: ${err.toExponential(3)}\nours ${ours}\nref  ${want}`);
    const top = refs.get("tiny_resnet__target").data[0];
    assert.equal(await page.getAttribute("[data-testid=predictions] tbody tr", "data-class"), String(top));
    assert.match(await page.textContent("[data-testid=predictions] tbody tr"), new RegExp(`thing ${top}`));

    // Every view on it; Grad-CAM at the model's default CAM layer.
    const camLayer = await page.evaluate(() => window.convscope.app.model.camLayer);
    for (const id of ["summary", "layers", "filters", "features", "grad-cam", "saliency"]) {
      await showView(page, id);
      if (id === "summary") assert.match(await page.textContent("#panel"), /layer2/);
      if (id === "grad-cam") {
        assert.equal(await page.inputValue("[data-testid=layer-select]"), camLayer);
        await screenshot(page, "imported-gradcam");
      }
      if (["features", "grad-cam", "saliency", "filters"].includes(id)) {
        const canvases = await canvasColours(page);
        assert.ok(canvases.some((c) => c.colours > 8), `${id}: ${JSON.stringify(canvases)}`);
      }
    }

    // A new worker (as after Cancel or a crash) gets the same ONNX model and card back
    // from the files the page kept, not the page's first model.
    const generation = await page.evaluate(() => window.convscope.generation);
    await page.evaluate(() => window.convscope.app.worker.restart());
    assert.equal(await page.evaluate(() => window.convscope.generation), generation + 1);
    const again = await page.evaluate(() => window.convscope.app.worker.call("predict", { k: 1 }));
    assert.equal(again[0].class, top);
    assert.equal(again[0].label, `thing ${top}`);
  });
});

test("an ONNX model with its external-data file loads (dropped together); without it, the page names the file to add", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    await openTiny(page);
    const before = await page.textContent("#model-name");
    assert.equal(await pick(page, [file(ONNX, "tiny_densenet.onnx")]), "error");
    assert.match(await errorText(page), /could not load tiny_densenet\.onnx; the previous model stays in use\.\n.*external file tiny_densenet\.onnx\.data: choose that file together with the \.onnx/);
    assert.equal(await page.textContent("#model-name"), before);

    assert.equal(await drop(page, [file(ONNX, "tiny_densenet.onnx"), file(ONNX, "tiny_densenet.onnx.data")]), "done", await errorText(page));
    assert.match(await origin(page), /^ONNX file tiny_densenet\.onnx with its data tiny_densenet\.onnx\.data: 3×32×32 input, 10 classes\. Preprocessing: ImageNet mean\/std/);
    assert.equal(await page.$$eval("[data-testid=predictions] tbody tr", (r) => r.length), 5);

    // A data file alone is not a model.
    assert.equal(await pick(page, [file(ONNX, "tiny_densenet.onnx.data")]), "error");
    assert.match(await errorText(page), /tiny_densenet\.onnx\.data is an ONNX external-data file: choose it together with its \.onnx file/);
  });
});

test("Keras VGG weights (.weights.h5) load with Keras' \"caffe\" preprocessing stated", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    await openTiny(page);
    await page.fill("[data-testid=arch]", MINI);
    assert.equal(await pick(page, [file(path.join(FIXTURES, "keras"), "mini.weights.h5")]), "done", await errorText(page));
    assert.match(await origin(page), /^Weights file mini\.weights\.h5 \(cfg=4,4,M,8,M.*\): 3×\d+×\d+ input, 5 classes\. Preprocessing: Keras "caffe" \(BGR, ImageNet means subtracted on the 0-255 scale, no scaling\), \d+×\d+ \(chosen for Keras weights\)\./);
    assert.ok(await page.isHidden("[data-testid=preprocessing-select]"));
    assert.equal(await page.$$eval("[data-testid=predictions] tbody tr", (r) => r.length), 5);
    await showView(page, "grad-cam");
  });
});

test("a truncated ONNX file is a clear error and the previous model keeps working", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    await openTiny(page);
    assert.equal(await pick(page, [file(ONNX, "tiny_resnet.onnx")]), "done", await errorText(page));
    const before = { name: await page.textContent("#model-name"), origin: await origin(page) };
    const whole = readFileSync(path.join(ONNX, "tiny_mobilenet.onnx"));
    const half = { name: "tiny_mobilenet.onnx", mimeType: "application/octet-stream", buffer: whole.subarray(0, whole.length >> 1) };
    assert.equal(await pick(page, [half]), "error");
    const message = await errorText(page);
    assert.match(message, /^could not load tiny_mobilenet\.onnx; the previous model stays in use\.\nonnx: /, message);
    assert.doesNotMatch(message, /RuntimeError|unreachable|panicked/);
    await screenshot(page, "imported-error");
    assert.equal(await page.textContent("#model-name"), before.name);
    assert.equal(await origin(page), before.origin);

    // The previous model classifies a new picture.
    await markStale(page);
    await page.setInputFiles("[data-testid=image-file]", file(FIXTURES, "astronaut32.png", "image/png"));
    await waitForDone(page, "image after the error");
    assert.ok(await page.isHidden("[data-testid=error]"));
    assert.equal(await page.$$eval("[data-testid=predictions] tbody tr", (r) => r.length), 5);
    assert.equal(await page.evaluate(() => window.convscope.app.model.name), "tiny_resnet");
  });
});

test("what the reader assumed is stated; an unsupported operator is refused by name and the model stays", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    await openTiny(page);
    const free = freeSizeModel();
    assert.equal(await pick(page, [{ name: "free.onnx", mimeType: "application/octet-stream", buffer: Buffer.from(free) }]), "done", await errorText(page));
    assert.match(await origin(page), /^ONNX file free\.onnx: 3×224×224 input, 3 classes\. .* The reader assumed: the input `x` leaves its size free \(\[1, 3, H, W\]\); shapes are checked at 224x224\.$/);
    const before = await origin(page);

    const soft = onnxModel({ inputs: [["x", [1, 3, 8, 8]]], outputs: [["y", [1, 3, 8, 8]]], nodes: [{ op: "Softplus", inputs: ["x"], outputs: ["y"], name: "soft" }] });
    assert.equal(await pick(page, [{ name: "soft.onnx", mimeType: "application/octet-stream", buffer: Buffer.from(soft) }]), "error");
    assert.match(await errorText(page), /could not load soft\.onnx; the previous model stays in use\.\nonnx: operator Softplus \(node `soft`\) is not supported; the engine runs /);
    assert.equal(await origin(page), before);
  });
});
