// The address restores a view (shareable links, docs embeds), the page keeps it up to
// date, and the embedding forms (?embed=1 and <convscope-view>) show one view.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { openBrowser, markStale, watchedPage, waitForDone, screenshot } from "../support/browser.mjs";

let env;
before(async () => {
  env = await openBrowser();
});
after(async () => {
  await env?.close();
});

async function withPage(fn) {
  const w = await watchedPage(env.browser);
  try {
    await fn(w.page);
    assert.deepEqual(w.problems, [], w.problems.join("\n"));
  } finally {
    await w.close();
  }
}

test("a link with model, image, view, layer and colormap restores that view", async () => {
  await withPage(async (page) => {
    await page.goto(`${env.server.url}index.html?model=tiny&image=coffee&view=features&layer=features.4&colormap=magma&scaling=shared&target=3`);
    await waitForDone(page, "restored view");
    assert.equal(await page.getAttribute("#panel", "data-view"), "features");
    assert.match(await page.textContent("#panel h2"), /features\.4: 16 channels of 16×16/);
    assert.equal(await page.inputValue("[data-testid=layer-select]"), "features.4");
    assert.equal(await page.inputValue("[data-testid=colormap-select]"), "magma");
    assert.equal(await page.inputValue("[data-testid=scaling-select]"), "shared");
    assert.equal(await page.inputValue("[data-testid=sample-select]"), "coffee");
    assert.equal(await page.inputValue("[data-testid=target-select]"), "3");
    assert.match(await page.textContent("#panel figure.colour-bar"), /\d/, "a shared scale shows its numbers");

    // Choices made on the page are written back to the address.
    await markStale(page);
    await page.click('[data-testid="view-layers"]');
    await waitForDone(page, "layers");
    const q = new URL(page.url()).searchParams;
    assert.equal(q.get("view"), "layers");
    assert.equal(q.get("image"), "coffee");
    assert.equal(q.get("colormap"), "magma");
    assert.ok(q.get("layer"), "layer missing from the address");
    // ...and that address restores the same view in a fresh page.
    const again = await page.context().newPage();
    await again.goto(page.url());
    await waitForDone(again, "reopened link");
    assert.equal(await again.getAttribute("#panel", "data-view"), "layers");
    assert.equal(await again.textContent("#panel h2"), await page.textContent("#panel h2"));
    await again.close();
  });
});

test("?embed=1 shows the view alone, and the embed snippets are offered", async () => {
  await withPage(async (page) => {
    await page.goto(`${env.server.url}index.html?model=tiny&view=features&embed=1`);
    await waitForDone(page, "embedded view");
    assert.ok(await page.isHidden("aside.controls"), "side bar shown when embedded");
    assert.ok(await page.isVisible("[data-testid=feature-tiles]"));
    await page.goto(`${env.server.url}index.html?model=tiny&view=features`);
    await waitForDone(page, "view");
    const iframe = await page.textContent("#embed-iframe");
    assert.match(iframe, /^<iframe src="http:\/\/127\.0\.0\.1:\d+\/index\.html\?.*view=features.*&embed=1"/);
    assert.match(await page.textContent("#embed-element"), /<script type="module" src="http:\/\/127\.0\.0\.1:\d+\/embed\.js"><\/script>\n<convscope-view model="tiny" image="astronaut32" view="features" layer="features\.1"><\/convscope-view>$/);
  });
});

test("the <convscope-view> element shows a view and reports its state", async () => {
  await withPage(async (page) => {
    await page.goto(`${env.server.url}embed-demo.html`);
    await page.waitForFunction(() => [...document.querySelectorAll("convscope-view")].every((e) => ["done", "error"].includes(e.dataset.state)), null, { timeout: 120_000 });
    const states = await page.$$eval("convscope-view", (els) => els.map((e) => e.dataset.state));
    assert.deepEqual(states, ["done", "done"]);
    const frame = page.frames().find((f) => f.url().includes("view=features"));
    assert.ok(frame, "no frame for the features view");
    assert.equal(await frame.evaluate(() => document.documentElement.dataset.state), "done");
    await screenshot(page, "embed");
  });
});
