// The address restores a view (shareable links, docs embeds), the page keeps it up to
// date, and the embedding forms (?embed=1 and <convscope-view>) show one view.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForFile, markStale, watchedPage, waitForDone, screenshot } from "../support/browser.mjs";

const env = browserForFile();

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

const notes = (page) => page.$$eval("[data-testid=notes] li", (items) => items.map((li) => li.textContent));
const query = (page) => new URL(page.url()).searchParams;

test("the views' form options are kept in the address and come back on reload", async () => {
  await withPage(async (page) => {
    // Occlusion's window from its form: the address, then a reload, keep it.
    await page.goto(`${env.server.url}index.html?view=occlusion`);
    await waitForDone(page, "occlusion");
    await markStale(page);
    await page.fill("[data-testid=occlusion-window]", "7");
    await page.click("[data-testid=occlusion-run]");
    await waitForDone(page, "occlusion with window 7");
    assert.equal(query(page).get("opt.occlusion.window"), "7");
    await markStale(page);
    await page.reload();
    await waitForDone(page, "occlusion reloaded");
    assert.equal(await page.inputValue("[data-testid=occlusion-window]"), "7");
    assert.match(await page.textContent("#panel"), /A 7×7 grey window .* slid with stride 7: 4×4 covered copies/);

    // Activation maximization's steps.
    await page.goto(`${env.server.url}index.html?model=tiny&view=maximize`);
    await waitForDone(page, "maximization");
    await markStale(page);
    await page.fill("[data-testid=maximize-steps]", "12");
    await page.click("[data-testid=maximize-run]");
    await waitForDone(page, "maximization with 12 steps");
    assert.equal(query(page).get("opt.maximize.steps"), "12");
    await markStale(page);
    await page.reload();
    await waitForDone(page, "maximization reloaded");
    assert.equal(await page.inputValue("[data-testid=maximize-steps]"), "12");
    assert.equal(await page.getAttribute("[data-testid=maximize-picture]", "data-step"), "12");

    // The filters' input channel.
    await page.goto(`${env.server.url}index.html?model=tiny&view=filters&layer=features.3`);
    await waitForDone(page, "filters");
    await markStale(page);
    await page.selectOption("[data-testid=filter-channel]", "2");
    await waitForDone(page, "filters of channel 2");
    assert.equal(query(page).get("opt.filters.channel"), "2");
    await markStale(page);
    await page.reload();
    await waitForDone(page, "filters reloaded");
    assert.equal(await page.inputValue("[data-testid=filter-channel]"), "2");

    // The sanity check's method and seed.
    await page.goto(`${env.server.url}index.html?model=tiny&view=sanity`);
    await waitForDone(page, "sanity check");
    await markStale(page);
    await page.selectOption("[data-testid=sanity-method]", "saliency");
    await page.fill("[data-testid=sanity-init-seed]", "3");
    await page.click("[data-testid=sanity-run]");
    await waitForDone(page, "sanity check of saliency, seed 3");
    assert.equal(query(page).get("opt.sanity.method"), "saliency");
    assert.equal(query(page).get("opt.sanity.init-seed"), "3");
    await markStale(page);
    await page.reload();
    await waitForDone(page, "sanity check reloaded");
    assert.equal(await page.inputValue("[data-testid=sanity-method]"), "saliency");
    assert.equal(await page.inputValue("[data-testid=sanity-init-seed]"), "3");
    assert.match(await page.textContent("#panel h2"), /Sanity check of Saliency/);
  });
});

test("a link's malformed option is dropped with a note, and the others are used", async () => {
  await withPage(async (page) => {
    await page.goto(`${env.server.url}index.html?view=occlusion&opt.occlusion.window=seven&opt.occlusion.stride=2&opt.occlusion.score=odds&opt.nosuch.x=1`);
    await waitForDone(page, "occlusion from a link with a bad window");
    const text = (await notes(page)).join("\n");
    assert.match(text, /The link's opt\.occlusion\.window=seven was not used: window takes a whole number; using its default, a 16th of the input's side, at least 4 px\./);
    assert.match(text, /opt\.occlusion\.score=odds was not used: score is one of logit, prob/);
    assert.match(text, /opt\.nosuch\.x=1 was not used: this page has no method or view "nosuch"/);
    assert.ok(await page.isVisible("[data-testid=notes]"));
    // The default window (4 px on the 28-px image), the link's stride.
    assert.equal(await page.inputValue("[data-testid=occlusion-window]"), "");
    assert.equal(await page.inputValue("[data-testid=occlusion-stride]"), "2");
    assert.match(await page.textContent("#panel"), /A 4×4 grey window .* slid with stride 2: 13×13 covered copies/);
    assert.equal(query(page).get("opt.occlusion.window"), null, "the address keeps the bad value");
    assert.equal(query(page).get("opt.occlusion.stride"), "2");

    await page.goto(`${env.server.url}index.html?model=tiny&view=maximize&opt.maximize.steps=-3`);
    await waitForDone(page, "maximization from a link with bad steps");
    assert.match((await notes(page)).join("\n"), /opt\.maximize\.steps=-3 was not used: Steps takes a whole number from 1 to 10000; using the model's default/);
    assert.equal(await page.inputValue("[data-testid=maximize-steps]"), "");
    assert.equal(await page.getAttribute("[data-testid=maximize-picture]", "data-step"), "128");
  });
});
