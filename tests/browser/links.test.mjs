// Links as a visitor opens them (issue 17): weights at a path relative to the page, a
// link's model waiting for consent with nothing else shown in its place, the address
// kept meanwhile, every bad parameter replaced by its default with a note, views as
// history entries, <convscope-view> embedded from another origin, and an upright photo.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { browserForFile, markStale, watchedPage, waitForDone, waitForState, screenshot } from "../support/browser.mjs";
import { serveStatic } from "../support/server.mjs";
import { randomVgg } from "../support/safetensors.mjs";
import { ROOT } from "../support/paths.mjs";

const TINY = { cfg: [8, "M", 16, "M", 32, "M"], inChannels: 3, pool: 2, hidden: 32, classes: 10, size: 32 };
const TINY_WEIGHTS = randomVgg(TINY, 5);
// Not VGG16 weights: only the consent line's name and size are read, nothing is loaded.
const NOT_VGG16 = Buffer.alloc(12_345, 1);

const env = browserForFile({ extra: { "/w/tiny.safetensors": TINY_WEIGHTS, "/w/vgg16.safetensors": NOT_VGG16 } });

async function withPage(fn, { allow = [] } = {}) {
  const w = await watchedPage(env.browser);
  try {
    await fn(w.page, w.context);
    const problems = w.problems.filter((p) => !allow.some((a) => p.includes(a)));
    assert.deepEqual(problems, [], problems.join("\n"));
  } finally {
    await w.close();
  }
}

const notes = (page) => page.$$eval("[data-testid=notes] li", (items) => items.map((li) => li.textContent));
const query = (page) => new URL(page.url()).searchParams;
const selectedText = (page, testid) => page.$eval(`[data-testid=${testid}]`, (s) => s.selectedOptions[0]?.textContent ?? "");

test("weights at a path relative to the page wait for consent, with the link's model named and nothing else shown", async () => {
  await withPage(async (page) => {
    await page.goto(`${env.server.url}index.html?model=tiny&weights=/w/tiny.safetensors&view=grad-cam`);
    assert.equal(await waitForState(page, ["ready", "done", "error"]), "ready", await page.textContent("[data-testid=error]"));
    assert.ok(await page.isHidden("[data-testid=error]"));
    const kb = Math.round(TINY_WEIGHTS.length / 1e3);
    assert.match(await page.textContent("[data-testid=consent]"), new RegExp(`tiny\\.safetensors \\(architecture tiny\\), ${kb} KB, from 127\\.0\\.0\\.1:\\d+\\. Nothing is downloaded until you press`));
    // No other model's result stands in: a message in the view area, no picture.
    assert.equal(await page.getAttribute("#panel", "data-view"), "waiting");
    assert.match(await page.textContent("[data-testid=waiting]"), /Waiting for tiny\.safetensors \(architecture tiny\).*Grad-CAM/s);
    assert.equal(await page.$$eval("#panel canvas", (c) => c.length), 0);
    assert.match(await page.textContent("#model-view-caption"), /shown as the model sees it once the model is loaded$/);
    assert.equal(await page.$eval("[data-testid=model-view]", (c) => c.width * c.height), 1, "the side bar shows a picture prepared by another model");
    assert.match(await selectedText(page, "model-select"), /tiny\.safetensors/);
    assert.doesNotMatch(await page.textContent("#model-name"), /Fashion/);
    // The address keeps the link as written, and nothing was downloaded.
    assert.equal(query(page).get("model"), "tiny");
    assert.equal(query(page).get("weights"), "/w/tiny.safetensors");
    assert.equal(query(page).get("view"), "grad-cam");
    assert.equal(env.server.hits.get("/w/tiny.safetensors"), undefined, "downloaded before the click");
    await screenshot(page, "link-waiting");

    // Choosing another view meanwhile still shows no result.
    await page.click("[data-testid=view-features]");
    assert.match(await page.textContent("[data-testid=waiting]"), /Feature maps|features/i);
    assert.equal(query(page).get("model"), "tiny");

    await markStale(page);
    await page.click("[data-testid=consent] button");
    await waitForDone(page, "the link's weights");
    assert.equal(env.server.hits.get("/w/tiny.safetensors"), 1);
    assert.match(await page.textContent("#model-name"), /^tiny\.safetensors: 11,546 parameters/);
    assert.ok(await page.isHidden("[data-testid=consent]"));
    assert.equal(await page.getAttribute("#panel", "data-view"), "features");
    assert.match(await page.textContent("#model-view-caption"), /as the model sees it \(32×32\)/);
    assert.equal(query(page).get("model"), "tiny");
    assert.equal(query(page).get("weights"), "/w/tiny.safetensors");
    assert.match(await page.textContent("#embed-element"), /<convscope-view model="tiny" weights="\/w\/tiny\.safetensors" /);

    // That address opens the same model again (from this browser's cache now).
    await page.reload();
    await waitForDone(page, "the link reopened");
    assert.match(await page.textContent("#model-name"), /^tiny\.safetensors/);
    assert.equal(env.server.hits.get("/w/tiny.safetensors"), 1, "downloaded again");
  });
});

test("a VGG16 link keeps model and weights in the address and names its model and size before the download", async () => {
  await withPage(async (page) => {
    await page.goto(`${env.server.url}index.html?model=vgg16&weights=/w/vgg16.safetensors&image=coffee`);
    assert.equal(await waitForState(page, ["ready", "done", "error"]), "ready", await page.textContent("[data-testid=error]"));
    assert.match(await page.textContent("[data-testid=consent]"), /vgg16\.safetensors \(architecture vgg16\), 12 KB, from 127\.0\.0\.1/);
    assert.equal(query(page).get("model"), "vgg16");
    assert.equal(query(page).get("weights"), "/w/vgg16.safetensors");
    assert.equal(query(page).get("image"), "coffee");
    assert.equal(env.server.hits.get("/w/vgg16.safetensors"), undefined);

    // timm's VGG16: its known size, and its host is asked nothing before the click
    // (a request beyond 127.0.0.1 fails the test).
    await page.goto(`${env.server.url}index.html?model=vgg16`);
    assert.equal(await waitForState(page, ["ready", "done", "error"]), "ready");
    assert.match(await page.textContent("[data-testid=consent]"), /VGG16 \(timm vgg16\.tv_in1k\), 553 MB, from huggingface\.co/);
    assert.match(await page.textContent("[data-testid=waiting]"), /Waiting for VGG16/);
    assert.equal(query(page).get("model"), "vgg16");
  });
});

test("a link's weights that cannot be downloaded: the message, the consent again, and another model on request", async () => {
  await withPage(
    async (page) => {
      await page.goto(`${env.server.url}index.html?model=tiny&weights=w/missing.safetensors`);
      assert.equal(await waitForState(page, ["ready", "done", "error"]), "ready");
      assert.match(await page.textContent("[data-testid=consent]"), /missing\.safetensors \(architecture tiny\), size unknown until the download starts, from/);
      await markStale(page);
      await page.click("[data-testid=consent] button");
      assert.equal(await waitForState(page, ["done", "error"]), "error");
      assert.match(await page.textContent("[data-testid=error]"), /could not load missing\.safetensors; no model is loaded\.\n.*HTTP 404/);
      assert.ok(await page.isVisible("[data-testid=consent]"), "no way to try again");
      assert.ok(await page.isVisible("[data-testid=waiting]"));
      assert.equal(query(page).get("weights"), "w/missing.safetensors");

      // The visitor gives up on the link and picks the page's own model.
      await markStale(page);
      await page.selectOption("[data-testid=model-select]", "fashion");
      await waitForDone(page, "the page's own model");
      assert.ok(await page.isHidden("[data-testid=consent]"));
      assert.equal(await page.getAttribute("#panel", "data-view"), "predictions");
      assert.equal(query(page).get("weights"), null);
    },
    { allow: ["missing.safetensors"] },
  );
});

test("weights without a model that takes them are not ignored silently", async () => {
  await withPage(async (page) => {
    const downloads = env.server.hits.get("/w/tiny.safetensors");
    for (const [link, why] of [
      ["?weights=/w/tiny.safetensors", /names no architecture/],
      ["?model=fashion&weights=/w/tiny.safetensors", /model=fashion is built into this page/],
      ["?model=nosuch&weights=/w/tiny.safetensors", /model=nosuch is not an architecture this page knows/],
    ]) {
      await page.goto(`${env.server.url}index.html${link}`);
      await waitForDone(page, link);
      const [note] = await notes(page);
      assert.match(note ?? "", /The weights \/w\/tiny\.safetensors were not loaded/, link);
      assert.match(note, why, link);
      assert.ok(await page.isVisible("[data-testid=notes]"));
    }
    assert.equal(env.server.hits.get("/w/tiny.safetensors"), downloads, "downloaded although ignored");
  });
});

test("every bad parameter falls back to its default with a visible note", async () => {
  await withPage(async (page) => {
    await page.goto(`${env.server.url}index.html?model=tiny&view=features&colormap=nope&opacity=7&layer=features.99&scaling=weird&target=99`);
    await waitForDone(page, "bad parameters");
    const text = (await notes(page)).join("\n");
    const [, colormap] = text.match(/no colormap "nope"; using (\w+) \(the page has /) ?? assert.fail(text);
    assert.match(text, /Opacity "7" is not a number from 0 to 1; using 0\.5/);
    assert.match(text, /no layer "features\.99"/);
    assert.match(text, /no scale "weird"/);
    assert.match(text, /no class 99/);
    assert.ok(await page.isVisible("[data-testid=notes]"));
    assert.equal(await page.inputValue("[data-testid=colormap-select]"), colormap);
    assert.equal(await page.inputValue("[data-testid=scaling-select]"), "channel");
    assert.equal(await page.inputValue("[data-testid=target-select]"), "");
    assert.ok((await page.$$eval("#panel canvas", (c) => c.length)) > 0, "empty panel");
    await screenshot(page, "link-notes");

    await page.goto(`${env.server.url}index.html?model=tiny&target=abc`);
    await waitForDone(page, "bad target");
    assert.match((await notes(page)).join("\n"), /Class "abc" is not a class number/);

    // A bare word is a mistyped sample name, not an address of this site to fetch.
    await page.goto(`${env.server.url}index.html?model=tiny&image=doesnotexist`);
    await waitForDone(page, "unknown image");
    assert.match((await notes(page)).join("\n"), /no sample image "doesnotexist"; showing /);
    assert.equal(env.server.hits.get("/doesnotexist"), undefined);
    assert.ok(await page.inputValue("[data-testid=sample-select]"), "no sample selected");
    assert.match(await page.textContent("#model-view-caption"), /as the model sees it \(32×32\)/);

    await page.goto(`${env.server.url}index.html?model=tiny&view=nonsense`);
    await waitForDone(page, "unknown view");
    assert.equal(await page.getAttribute("#panel", "data-view"), "predictions");
    assert.match((await notes(page)).join("\n"), /no view "nonsense"; showing Predictions/);
    assert.equal(query(page).get("view"), null, "the address keeps view=nonsense");
  });
});

test("an image address that cannot be loaded gives the default sample and a note", async () => {
  await withPage(
    async (page) => {
      await page.goto(`${env.server.url}index.html?model=tiny&image=missing/photo.png`);
      await waitForDone(page, "missing image");
      assert.match((await notes(page)).join("\n"), /The image missing\/photo\.png could not be loaded \(.*HTTP 404.*\); showing /);
      assert.match(await page.textContent("#model-view-caption"), /as the model sees it/);
    },
    { allow: ["missing/photo.png"] },
  );
});

test("views are history entries; after an upload the sample menu names the upload", async () => {
  await withPage(async (page) => {
    await page.goto(`${env.server.url}index.html?model=tiny`);
    await waitForDone(page, "first load");
    for (const view of ["summary", "features", "layers", "filters"]) {
      await markStale(page);
      await page.click(`[data-testid=view-${view}]`);
      await waitForDone(page, view);
    }
    for (const view of ["layers", "features", "summary", "predictions"]) {
      await markStale(page);
      await page.goBack();
      assert.ok(page.url().startsWith(env.server.url), `Back left the page for ${page.url()}`);
      await waitForDone(page, `back to ${view}`);
      assert.equal(await page.getAttribute("#panel", "data-view"), view);
      assert.equal(query(page).get("view") ?? "predictions", view);
      assert.equal(await page.getAttribute(`[data-testid=view-${view}]`, "aria-current"), "true");
    }
    await markStale(page);
    await page.goForward();
    await waitForDone(page, "forward");
    assert.equal(await page.getAttribute("#panel", "data-view"), "summary");

    const before = await selectedText(page, "sample-select");
    const sample = await page.inputValue("[data-testid=sample-select]");
    await markStale(page);
    await page.setInputFiles("[data-testid=image-file]", { name: "mine.png", mimeType: "image/png", buffer: readFileSync(`${ROOT}/www/samples/coffee.png`) });
    await waitForDone(page, "upload");
    const after = await selectedText(page, "sample-select");
    assert.notEqual(after, before);
    assert.match(after, /mine\.png/);
    assert.equal(query(page).get("image"), null);
    // The sample shown before is a choice again (a menu still on it would not fire a change).
    await markStale(page);
    await page.selectOption("[data-testid=sample-select]", sample);
    await waitForDone(page, "the sample again");
    assert.equal(await selectedText(page, "sample-select"), before);
    assert.equal(await page.$$eval("[data-testid=sample-select] option[data-own]", (o) => o.length), 0, "the upload's entry stays");
    assert.match(await page.textContent("#model-view-caption"), new RegExp(`^${before.replace(/[()+]/g, "\\$&")}, as the model sees it`));
  });
});

// A page on another origin (another port) that embeds the element, as docs/web.md shows.
function hostPage(site) {
  const dir = mkdtempSync(path.join(tmpdir(), "convscope-host-"));
  writeFileSync(
    path.join(dir, "host.html"),
    `<!doctype html><meta charset="utf-8"><title>another site</title>
<script type="module" src="${site}embed.js" onerror="window.embedFailed = true"></script>
<convscope-view model="tiny" image="coffee" view="features" width="640" height="480"></convscope-view>`,
  );
  return dir;
}

for (const isolated of [false, true]) {
  test(`<convscope-view> from another origin defines itself and renders (host ${isolated ? "" : "not "}cross-origin isolated)`, async () => {
    const host = await serveStatic(hostPage(env.server.url), { isolated });
    try {
      assert.notEqual(new URL(host.url).origin, new URL(env.server.url).origin);
      await withPage(async (page) => {
        await page.goto(`${host.url}host.html`);
        await page.waitForFunction(() => customElements.get("convscope-view") || window.embedFailed, null, { timeout: 60_000 });
        assert.ok(await page.evaluate(() => Boolean(customElements.get("convscope-view"))), "embed.js did not load from the other origin");
        await page.waitForFunction(() => ["done", "error"].includes(document.querySelector("convscope-view").dataset.state), null, { timeout: 120_000 });
        assert.equal(await page.$eval("convscope-view", (e) => e.dataset.state), "done");
        const frame = page.frames().find((f) => f.url().startsWith(env.server.url));
        assert.ok(frame, "no frame of the convscope site");
        assert.ok((await frame.$$eval("[data-testid=feature-tiles]", (t) => t.length)) > 0, "no feature maps drawn");
        if (!isolated) await screenshot(page, "embed-cross-origin");
      });
    } finally {
      await host.close();
    }
  });
}

test("a photo with EXIF orientation 6 is shown upright, as the model sees it", async () => {
  await withPage(async (page) => {
    await page.goto(`${env.server.url}index.html?model=tiny`);
    await waitForDone(page, "first load");
    await markStale(page);
    await page.setInputFiles("[data-testid=image-file]", { name: "orientation6.jpg", mimeType: "image/jpeg", buffer: readFileSync(`${ROOT}/crate/tests/fixtures/exif/orientation6.jpg`) });
    await waitForDone(page, "rotated photo");
    // Stored 32x16 with its left half red; upright 16x32 with its top half red. The tiny
    // model squeezes it to 32x32, so the red half says which way up it reached the model.
    const { top, bottom, left, right } = await page.$eval("[data-testid=model-view]", (c) => {
      const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      const mean = (x0, y0, x1, y1) => {
        let red = 0;
        let n = 0;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
          const i = (y * c.width + x) * 4;
          red += data[i] - (data[i + 1] + data[i + 2]) / 2;
          n++;
        }
        return red / n;
      };
      const w = c.width;
      const h = c.height;
      return { top: mean(0, 0, w, h / 2 - 2), bottom: mean(0, h / 2 + 2, w, h), left: mean(0, 0, w / 2 - 2, h), right: mean(w / 2 + 2, 0, w, h) };
    });
    assert.ok(top > 100 && bottom < 30, `the top is not red and the bottom not clear: top ${top}, bottom ${bottom} (left ${left}, right ${right})`);
  });
});
