// Hostile files, runs that overlap and a worker that runs out of memory (issue 8): each
// ends in a clear state with a message, the model in use stays, and the next action
// works. Written against whichever embedded model is the page's default: it reads
// #model-name before and after instead of naming one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import { browserForFile, markStale, withWatchedPage, waitForDone, waitForState } from "../support/browser.mjs";
import { ROOT } from "../support/paths.mjs";

const env = browserForFile();

const errorText = (page) => page.textContent("[data-testid=error]");
const modelName = (page) => page.textContent("#model-name");
const predictionRows = (page) => page.$$eval("[data-testid=predictions] tbody tr", (rows) => rows.map((r) => r.textContent));

/** A safetensors file: the 8-byte little-endian header length, the header, the data. */
function safetensorsWith(headerLength, header, data = Buffer.alloc(0)) {
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(headerLength);
  return Buffer.concat([head, header, data]);
}

/** The 32x32 sample PNG with its header rewritten to claim `w` x `h` (CRC fixed). */
function pngClaiming(w, h) {
  const bytes = Buffer.from(readFileSync(`${ROOT}/www/samples/astronaut32.png`));
  assert.equal(bytes.toString("latin1", 12, 16), "IHDR");
  bytes.writeUInt32BE(w, 16);
  bytes.writeUInt32BE(h, 20);
  bytes.writeUInt32BE(crc32(bytes.subarray(12, 29)), 29);
  return bytes;
}

/**
 * Picks a sample other than the current one from the sample list, waits for the page to
 * finish, and answers its caption. The sample list is the page's own, so this works
 * whichever samples and model are the defaults.
 */
async function pickAnotherSample(page, what) {
  const { value, caption } = await page.$eval("[data-testid=sample-select]", (s) => {
    const other = [...s.options].find((o) => o.value !== s.value) ?? s.options[0];
    return { value: other.value, caption: other.textContent };
  });
  await markStale(page);
  await page.selectOption("[data-testid=sample-select]", value);
  await waitForDone(page, what);
  assert.ok(await page.isHidden("[data-testid=error]"), `${what}: the error is still shown`);
  assert.ok((await page.textContent("#model-view-caption")).includes(caption), `${what}: the picture is not ${caption}`);
  return caption;
}

/**
 * Opens the page on the predictions view and waits for its first result. The view is
 * named: a first bare visit lands on the guided tour, which keeps its own picture.
 */
async function openPage(w, query = "?view=predictions") {
  await w.page.goto(`${env.server.url}index.html${query}`);
  await waitForDone(w.page, "first load");
}

test("hostile weights files end in error with a message; the model stays and the next action works", async () => withWatchedPage(env, async (w) => {
  const { page } = w;
  await openPage(w);
  const name = await modelName(page);
  const header = Buffer.from(JSON.stringify({ "features.0.weight": { dtype: "F32", shape: [262144, 1024, 1024, 1], data_offsets: [0, 2 ** 40] } }));
  const files = [
    // A header length of 2^60 bytes in a 10-byte file: refused before reading on.
    ["absurd-header.safetensors", safetensorsWith(2n ** 60n, Buffer.from("{}")), /header length \d+ .*absurd/],
    // A valid header claiming a 2^40-byte (1 TiB) tensor, with 16 bytes of data.
    ["terabyte-tensor.safetensors", safetensorsWith(BigInt(header.length), header, Buffer.alloc(16)), /header is not valid safetensors JSON \(.+\)|tensor data does not match the header/],
  ];
  for (const [file, buffer, expected] of files) {
    await markStale(page);
    await page.setInputFiles("[data-testid=weights-file]", { name: file, mimeType: "application/octet-stream", buffer });
    assert.equal(await waitForState(page, ["error", "done"]), "error", file);
    const message = await errorText(page);
    assert.ok(await page.isVisible("[data-testid=error]"), `${file}: the error is not shown`);
    assert.match(message, new RegExp(file.replace(".", "\\.")), message);
    assert.match(message, expected, message);
    assert.equal(await modelName(page), name, `${file}: the model in use changed`);

    await pickAnotherSample(page, `a sample after ${file}`);
    assert.equal((await predictionRows(page)).length, 5);
    assert.equal(await modelName(page), name);
  }
}));

test("a decompression-bomb PNG ends in error naming its size; the next image works", async () => withWatchedPage(env, async (w) => {
  const { page } = w;
  await openPage(w);
  const name = await modelName(page);
  const before = await page.textContent("#model-view-caption");
  const bomb = pngClaiming(100_000, 100_000);
  assert.ok(bomb.length < 4096, `the bomb is ${bomb.length} bytes`);
  await markStale(page);
  await page.setInputFiles("[data-testid=image-file]", { name: "bomb.png", mimeType: "image/png", buffer: bomb });
  assert.equal(await waitForState(page, ["error", "done"]), "error");
  const message = await errorText(page);
  assert.match(message, /image: PNG image claims 100000x100000 pixels, over the limit of 16384x16384/, message);
  assert.equal(await page.textContent("#model-view-caption"), before, "the bomb replaced the picture");
  assert.equal(await modelName(page), name);

  await pickAnotherSample(page, "a sample after the bomb");
  assert.equal((await predictionRows(page)).length, 5);
}));

test("two runs started at once: the page ends done with the second's result", async () => withWatchedPage(env, async (w) => {
  const { page } = w;
  await openPage(w);
  const options = await page.$$eval("[data-testid=sample-select] option", (os) => os.map((o) => ({ value: o.value, caption: o.textContent })));
  assert.ok(options.length >= 2, "the page needs two samples");
  const current = await page.inputValue("[data-testid=sample-select]");
  const second = options.find((o) => o.value !== current);
  const first = options.find((o) => o.value !== second.value);

  // The second image's predictions, run alone.
  await markStale(page);
  await page.selectOption("[data-testid=sample-select]", second.value);
  await waitForDone(page, "the second sample alone");
  const expected = await predictionRows(page);
  if (first.value !== current) {
    await markStale(page);
    await page.selectOption("[data-testid=sample-select]", current);
    await waitForDone(page, "back to the first sample");
  }

  // Both in one task of the page's event loop: neither waits for the other.
  await markStale(page);
  await page.evaluate(([a, b]) => {
    const select = document.querySelector("[data-testid=sample-select]");
    for (const value of [a, b]) {
      select.value = value;
      select.dispatchEvent(new Event("change"));
    }
  }, [first.value, second.value]);
  await waitForDone(page, "two runs at once");
  assert.ok((await page.textContent("#model-view-caption")).includes(second.caption), "the picture is not the second's");
  assert.deepEqual(await predictionRows(page), expected, "the predictions are not the second image's");
  assert.equal(await page.inputValue("[data-testid=sample-select]"), second.value);
}));

test("out of memory in the worker is reported, and the worker restarts with the last model", async () => withWatchedPage(env, async (w) => {
  const { page } = w;
  // Without ?debug the worker offers no way to exhaust its memory.
  await openPage(w);
  const refused = await page.evaluate(() => window.convscope.app.worker.call("debugExhaustMemory").then(() => "ran", (e) => e.message));
  assert.match(refused, /unknown request type debugExhaustMemory/);

  await openPage(w, "?debug");
  const name = await modelName(page);
  const generation = await page.evaluate(() => window.convscope.generation);
  const message = await page.evaluate(() => window.convscope.app.worker.call("debugExhaustMemory").then(() => "no error", (e) => e.message));
  assert.match(message, /^out of memory: the model needed \d+ MiB more with \d+ MiB already in use/, message);
  assert.match(message, /restarted with the last model and image/, message);
  // The restart: a new worker, restored with the model (and image) that was loaded.
  assert.equal(await page.evaluate(() => window.convscope.generation), generation + 1, "the worker was not replaced");
  await page.evaluate(() => window.convscope.app.worker.restoring);

  await pickAnotherSample(page, "a sample after running out of memory");
  assert.equal((await predictionRows(page)).length, 5);
  assert.equal(await modelName(page), name, "the restarted worker has another model");
}));
