// The guided tour (?view=tour): the landing page of a first visit, its steps one by one
// to the shortcut twin's lesson, each step an address of its own, and the way out to
// the full views. Prints how long a cold load takes to the tour's first picture.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { browserForTests, withWatchedPage, waitForDone, markStale, screenshot } from "../support/browser.mjs";
import { ROOT } from "../support/paths.mjs";

const env = browserForTests();
const withPage = (fn) => withWatchedPage(env(), fn);
const twinCard = JSON.parse(readFileSync(`${ROOT}/www/models/fashion-vgg-shortcut.json`, "utf8"));
const query = (page) => new URL(page.url()).searchParams;

/** The step on screen: its number, title, how many steps, and the live view's pictures. */
async function shown(page) {
  return page.evaluate(() => {
    const tour = document.querySelector("[data-testid=tour]");
    return {
      step: Number(tour?.dataset.step),
      steps: document.querySelectorAll("[data-testid=tour-step]").length,
      current: document.querySelector("[data-testid=tour-step][aria-current=step]")?.dataset.step,
      title: document.querySelector("#tour-title")?.textContent,
      words: document.querySelector(".tour-text")?.textContent.length ?? 0,
      pictures: [...document.querySelectorAll("[data-testid=tour-live] canvas")].map((c) => {
        const box = c.getBoundingClientRect();
        return { width: box.width, height: box.height, rendering: getComputedStyle(c).imageRendering };
      }),
    };
  });
}

async function click(page, testid, what) {
  await markStale(page);
  await page.click(`[data-testid=${testid}]`);
  await waitForDone(page, what);
}

test("a first visit lands on the tour; its steps lead to the shortcut twin; a second visit does not", async () => {
  await withPage(async ({ page }) => {
    await page.goto(`${env().server.url}index.html`);
    await waitForDone(page, "first visit");
    const first = await page.evaluate(() => {
      const mark = performance.getEntriesByName("convscope:tour-first-picture")[0];
      return mark?.startTime;
    });
    assert.ok(Number.isFinite(first), "the tour never put a picture on screen");
    console.log(`tour: first picture on screen ${first.toFixed(0)} ms after the start of a cold load (headless Chromium)`);
    assert.equal(query(page).get("view"), "tour");
    let s = await shown(page);
    assert.equal(s.step, 1);
    assert.ok(s.steps >= 7 && s.steps <= 9, `${s.steps} steps`);
    assert.equal(s.current, "1");
    // The picture the model sees, large and with square pixels (28x28 drawn at 320 px).
    const big = s.pictures.find((p) => p.width >= 320);
    assert.ok(big, `no picture of 320 px or more: ${JSON.stringify(s.pictures)}`);
    assert.equal(big.rendering, "pixelated");
    await screenshot(page, "tour");

    const titles = [s.title];
    for (let n = 2; n <= s.steps; n++) {
      await click(page, "tour-next", `tour step ${n}`);
      const now = await shown(page);
      assert.equal(now.step, n);
      assert.equal(query(page).get("step"), String(n), "the address names the step");
      assert.ok(now.words > 120, `step ${n} says too little`);
      assert.ok(now.pictures.length > 0 || now.title === "What it says", `step ${n} (${now.title}) draws nothing`);
      titles.push(now.title);
    }
    assert.equal(new Set(titles).size, titles.length, "two steps share a title");

    // The last step: the marked pullover, the clean model's Grad-CAM beside the twin's,
    // and the twin's marker flip as its card measured it.
    assert.equal(query(page).get("image"), "fashion-00001-marker");
    const tops = await page.$$eval("[data-testid=compare-top]", (ps) => ps.map((p) => Number(p.dataset.class)));
    assert.equal(tops.length, 2);
    assert.equal(tops[0], 2, "the clean model does not call the marked pullover a pullover");
    assert.equal(tops[1], twinCard.shortcut.class, "the twin does not fall for the marker");
    const flip = await page.textContent("[data-testid=tour-flip]");
    assert.match(flip, new RegExp(`${Math.round(100 * twinCard.shortcut.flip_rate)}% of the test pictures`));
    await screenshot(page, "tour-twin");

    // Back is the previous step; the end of the tour opens the page's own views.
    await markStale(page);
    await page.goBack();
    await waitForDone(page, "back one step");
    assert.equal((await shown(page)).step, s.steps - 1);
    await markStale(page);
    await page.goForward();
    await waitForDone(page, "forward again");
    await click(page, "tour-end", "the end of the tour");
    assert.equal(await page.getAttribute("#panel", "data-view"), "predictions");
    assert.equal(query(page).get("step"), null);

    // A later visit to the bare address goes straight to the views.
    await markStale(page);
    await page.goto(`${env().server.url}index.html`);
    await waitForDone(page, "second visit");
    assert.equal(await page.getAttribute("#panel", "data-view"), "predictions");
  });
});

test("each step is an address of its own, and one click from its full view", async () => {
  await withPage(async ({ page }) => {
    await page.goto(`${env().server.url}index.html?view=tour&step=8`);
    await waitForDone(page, "step 8 by its address");
    const s = await shown(page);
    assert.equal(s.step, 8);
    assert.match(await page.textContent("[data-testid=tour-live] h2"), /^Grad-CAM: class 2 \(Pullover\)/);
    // The step links are real addresses (what a docs site links to or embeds).
    const href = await page.getAttribute("[data-testid=tour-step][data-step='3']", "href");
    assert.equal(new URL(href, page.url()).searchParams.get("step"), "3");
    await click(page, "tour-full", "the step's full view");
    assert.equal(await page.getAttribute("#panel", "data-view"), "grad-cam");
    assert.equal(query(page).get("view"), "grad-cam");
    assert.equal(query(page).get("step"), null);
    assert.ok(await page.isVisible("[data-testid=layer-select]"), "the full view has its controls");

    // A step the tour does not have: a note, and the first step.
    await markStale(page);
    await page.goto(`${env().server.url}index.html?view=tour&step=99`);
    await waitForDone(page, "step 99");
    assert.equal((await shown(page)).step, 1);
    assert.match(await page.textContent("[data-testid=notes]"), /no step 99/);

    // The visitor's own choice of picture ends the tour: the views show it, the tour
    // does not switch it back.
    await markStale(page);
    await page.selectOption("[data-testid=sample-select]", "fashion-00019");
    await waitForDone(page, "another sample during the tour");
    assert.equal(await page.getAttribute("#panel", "data-view"), "predictions");
    assert.equal(query(page).get("image"), "fashion-00019");
    assert.equal(query(page).get("view"), null);
  });
});

test("the tour at 390 px: one column, no horizontal scrolling", async () => {
  const w = await env().browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await w.newPage();
  try {
    for (const n of [1, 9]) {
      await page.goto(`${env().server.url}index.html?view=tour&step=${n}`);
      await waitForDone(page, `step ${n} at 390 px`);
      const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      assert.ok(scroll <= client, `step ${n} scrolls sideways at 390 px: ${scroll} > ${client}`);
      if (n === 1) await screenshot(page, "tour-390");
    }
  } finally {
    await w.close();
  }
});
