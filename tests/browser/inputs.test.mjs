// The ways in: an image dropped or pasted, weights downloaded from a URL (served here on
// 127.0.0.1) with the Cache API keeping them, and a link naming weights, which waits for
// the user's click before downloading anything.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { openBrowser, markStale, watchedPage, waitForDone, waitForState } from "../support/browser.mjs";
import { randomVgg } from "../support/safetensors.mjs";
import { ROOT } from "../support/paths.mjs";

const TINY = { cfg: [8, "M", 16, "M", 32, "M"], inChannels: 3, pool: 2, hidden: 32, classes: 10, size: 32 };
const WEIGHTS = "/test/tiny-url.safetensors";
const LINKED = "/test/tiny-linked.safetensors";

let env;
before(async () => {
  env = await openBrowser({ extra: { [WEIGHTS]: randomVgg(TINY, 11), [LINKED]: randomVgg(TINY, 12) } });
});
after(async () => {
  await env?.close();
});

async function withPage(fn) {
  const w = await watchedPage(env.browser);
  try {
    await fn(w.page, w.context);
    assert.deepEqual(w.problems, [], w.problems.join("\n"));
  } finally {
    await w.close();
  }
}

// Hands the page a PNG as a File inside a DataTransfer, the way a drop or paste does.
async function dispatchFile(page, type, name, bytes) {
  await page.evaluate(
    ({ type, name, data }) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(data)], name, { type: "image/png" }));
      const event = type === "paste" ? new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }) : new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
      document.body.dispatchEvent(event);
    },
    { type, name, data: [...bytes] },
  );
}

test("an image dropped or pasted becomes the input", async () => {
  const coffee = readFileSync(`${ROOT}/www/samples/coffee.png`);
  await withPage(async (page) => {
    await page.goto(`${env.server.url}index.html?model=tiny`);
    await waitForDone(page, "first load");
    await markStale(page);
    await dispatchFile(page, "drop", "dropped-coffee.png", coffee);
    await waitForDone(page, "dropped image");
    assert.match(await page.textContent("#model-view-caption"), /^dropped-coffee\.png, as the model sees it \(32×32\)$/);
    await markStale(page);
    await dispatchFile(page, "paste", "pasted.png", readFileSync(`${ROOT}/www/samples/astronaut32.png`));
    await waitForDone(page, "pasted image");
    assert.match(await page.textContent("#model-view-caption"), /^pasted\.png/);
  });
});

test("weights from a URL download once and then come from the browser's cache", async () => {
  await withPage(async (page, context) => {
    // A view named: a first bare visit lands on the guided tour, which loads its own model.
    await page.goto(`${env.server.url}index.html?view=predictions`);
    await waitForDone(page, "first load");
    await page.selectOption("[data-testid=model-select]", "vgg16");
    assert.ok(await page.isVisible("[data-testid=weights-url]"));
    assert.match(await page.inputValue("[data-testid=weights-url]"), /^https:\/\/huggingface\.co\/timm\/vgg16\.tv_in1k\//, "not prefilled with timm's VGG16");
    await page.fill("[data-testid=arch]", "tiny");
    await page.fill("[data-testid=weights-url]", `${env.server.url}${WEIGHTS.slice(1)}`);
    await markStale(page);
    await page.click("[data-testid=load-url]");
    await waitForDone(page, "weights from a URL");
    assert.match(await page.textContent("#model-name"), /^tiny-url\.safetensors: 11,546 parameters/);
    assert.equal(env.server.hits.get(WEIGHTS), 1);

    // A new page in the same browser profile: the weights are in the Cache API.
    const again = await context.newPage();
    await again.goto(`${env.server.url}index.html?view=predictions`);
    await waitForDone(again, "second page");
    await again.selectOption("[data-testid=model-select]", "vgg16");
    await again.fill("[data-testid=arch]", "tiny");
    await again.fill("[data-testid=weights-url]", `${env.server.url}${WEIGHTS.slice(1)}`);
    await again.waitForFunction(() => document.querySelector("[data-testid=load-url]").textContent === "Load (cached)");
    await markStale(again);
    await again.click("[data-testid=load-url]");
    await waitForDone(again, "cached weights");
    assert.match(await again.textContent("#model-name"), /tiny-url\.safetensors/);
    assert.equal(env.server.hits.get(WEIGHTS), 1, "the weights were downloaded again");
    await again.close();
  });
});

test("a link naming weights downloads nothing until the user asks", async () => {
  await withPage(async (page) => {
    const url = `${env.server.url}${LINKED.slice(1)}`;
    await page.goto(`${env.server.url}index.html?model=vgg16&weights=${encodeURIComponent(url)}`);
    await page.waitForSelector("#consent:not([hidden])");
    // Meanwhile the page is ready for input and says what waits; no view is drawn, as the
    // only model that could draw it is another one (links.test.mjs).
    assert.equal(await waitForState(page, ["ready", "done", "error"]), "ready", "the page does not work meanwhile");
    assert.ok(await page.isVisible("[data-testid=waiting]"));
    assert.match(await page.textContent("#consent"), /Nothing is downloaded until you press/);
    assert.equal(env.server.hits.get(LINKED), undefined, "fetched before the click");
    await page.fill("[data-testid=arch]", "tiny");
    await markStale(page);
    await page.click("#consent button");
    await waitForDone(page, "linked weights");
    assert.equal(env.server.hits.get(LINKED), 1);
    assert.match(await page.textContent("#model-name"), /tiny-linked\.safetensors/);
    assert.ok(await page.isHidden("#consent"));
  });
});
