// A request that fails above an earlier result (issue 17): the panel still holds the
// result of other settings, so it is dimmed and labelled as not updated (the label is
// its description for screen readers), until a run succeeds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { browserForTests, withWatchedPage, waitForDone, waitForState, markStale } from "../support/browser.mjs";
import { axeViolations, severe, describeViolations } from "../support/axe.mjs";

const env = browserForTests();

/**
 * Whether the panel is marked stale: its label shown and named by aria-describedby, and
 * its pictures dimmed (the text keeps its contrast, to stay readable).
 */
async function staleMark(page) {
  return page.evaluate(() => {
    const panel = document.getElementById("panel");
    const label = document.getElementById(panel.getAttribute("aria-describedby") ?? "");
    const shown = Boolean(label && !label.hidden && label.getClientRects().length);
    const canvas = panel.querySelector("canvas");
    return { shown, text: shown ? label.textContent : "", opacity: canvas ? Number(getComputedStyle(canvas).opacity) : 1 };
  });
}

test("a failed run leaves the earlier result marked as not updated, until a run succeeds", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    await page.goto(`${env().server.url}index.html?model=tiny&view=sanity`);
    await waitForDone(page, "sanity check");
    assert.deepEqual(await staleMark(page), { shown: false, text: "", opacity: 1 });
    const chart = await page.getAttribute("[data-testid=sanity-chart]", "aria-label");

    // A seed the core refuses (below its minimum): the error, and the old chart stays
    // with its old settings, dimmed under the label.
    await markStale(page);
    await page.fill("[data-testid=sanity-init-seed]", "-1");
    await page.click("[data-testid=sanity-run]");
    assert.equal(await waitForState(page, ["done", "error"]), "error");
    assert.match(await page.textContent("[data-testid=error]"), /init-seed/);
    assert.equal(await page.getAttribute("[data-testid=sanity-chart]", "aria-label"), chart, "the earlier result is gone");
    const stale = await staleMark(page);
    assert.ok(stale.shown, "no visible label on the earlier result");
    assert.match(stale.text, /^Not updated: the last request failed/);
    assert.ok(stale.opacity < 0.8, `the earlier result is not dimmed (opacity ${stale.opacity})`);
    const violations = severe(await axeViolations(page));
    assert.deepEqual(violations, [], describeViolations(violations));

    // A good value: the new result, unmarked.
    await markStale(page);
    await page.fill("[data-testid=sanity-init-seed]", "1");
    await page.click("[data-testid=sanity-run]");
    await waitForDone(page, "sanity check with seed 1");
    assert.deepEqual(await staleMark(page), { shown: false, text: "", opacity: 1 });
    assert.equal(await page.getAttribute("#panel", "aria-describedby"), null);

    // Marked again by another failure; another view that runs clears the mark.
    await markStale(page);
    await page.fill("[data-testid=sanity-init-seed]", "-2");
    await page.click("[data-testid=sanity-run]");
    assert.equal(await waitForState(page, ["done", "error"]), "error");
    assert.ok((await staleMark(page)).shown);
    await markStale(page);
    await page.click("[data-testid=view-predictions]");
    await waitForDone(page, "predictions");
    assert.deepEqual(await staleMark(page), { shown: false, text: "", opacity: 1 });
  });
});

test("an attribution the core refuses shows its form to correct, not the earlier map", async () => {
  await withWatchedPage(env(), async ({ page }) => {
    await page.goto(`${env().server.url}index.html?view=occlusion`);
    await waitForDone(page, "occlusion");
    assert.ok((await page.$$eval("#panel canvas", (c) => c.length)) > 0);
    await markStale(page);
    await page.fill("[data-testid=occlusion-window]", "1000");
    await page.click("[data-testid=occlusion-run]");
    assert.equal(await waitForState(page, ["done", "error"]), "error");
    assert.match(await page.textContent("[data-testid=error]"), /occlusion window 1000 is larger than the 28x28 input/);
    // Nothing of the earlier map is left to be read as this window's.
    assert.equal(await page.$$eval("#panel canvas", (c) => c.length), 0);
    assert.equal(await page.inputValue("[data-testid=occlusion-window]"), "1000");
    assert.equal((await staleMark(page)).shown, false);
  });
});
