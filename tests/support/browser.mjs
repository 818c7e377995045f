// Headless Chromium (Debian's, driven by playwright-core) against the built site served
// on 127.0.0.1 by the test itself, with a watch on everything a page must not do:
// console errors, uncaught exceptions, failed responses and requests to any other host.
import assert from "node:assert/strict";
import { before, after } from "node:test";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { serveStatic } from "./server.mjs";
import { DIST, ROOT } from "./paths.mjs";

// Screenshots refresh the README's pictures only when asked (UPDATE_SCREENSHOTS=1), so a
// plain test run leaves the tree clean; otherwise they go under target/ (ignored).
export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? path.join(ROOT, "docs", "images")
  : path.join(ROOT, "target", "screenshots");

function chromiumPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  try {
    return execFileSync("sh", ["-c", "command -v chromium || command -v chromium-browser"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("chromium not found on PATH (apt-get install chromium)");
  }
}

/**
 * Starts the server (with `extra` files and, unless `isolated: false`, the cross-origin
 * isolation headers; see server.mjs) and the browser; `close()` stops both.
 */
export async function openBrowser({ extra, isolated } = {}) {
  assert.ok(existsSync(path.join(DIST, "index.html")), `${DIST} is not built: run scripts/build-web.sh first`);
  const server = await serveStatic(DIST, { extra, isolated });
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--no-sandbox",
      // WebGL (the 3D view) on the CPU: no GPU on this machine or in CI.
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--no-first-run",
      "--no-default-browser-check",
    ],
  });
  return {
    server,
    browser,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * A page that records problems: console errors, page errors, HTTP errors, and any
 * request to a host other than 127.0.0.1 (which is also blocked).
 */
export async function watchedPage(browser, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const problems = [];
  const requests = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    requests.push(url.href);
    if (url.protocol === "blob:" || url.protocol === "data:") return route.continue();
    if (url.hostname !== "127.0.0.1") {
      problems.push(`request left 127.0.0.1: ${url.href}`);
      return route.abort();
    }
    return route.continue();
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  page.on("response", (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  // Not "requestfailed": Chromium reports a fetch whose body was read to the end as
  // ERR_ABORTED now and then (the loader races its completion message); a real failure
  // shows as an HTTP status, a console error or an error state of the page.
  return { page, context, problems, requests, close: () => context.close() };
}

/** Waits until <html data-state> is one of `states`; answers the state. */
export async function waitForState(page, states, timeout = 120_000) {
  const list = [states].flat();
  await page.waitForFunction((want) => want.includes(document.documentElement.dataset.state), list, { timeout, polling: 50 });
  return page.evaluate(() => document.documentElement.dataset.state);
}

/** Waits for done (or fails with the page's error message). */
export async function waitForDone(page, what, timeout) {
  const state = await waitForState(page, ["done", "error"], timeout);
  if (state !== "done") assert.fail(`${what}: page reached "${state}": ${await page.textContent("[data-testid=error]")}`);
}

/**
 * For every canvas in `selector`: its size and how many distinct colours it shows
 * (read back through a 2D canvas, so WebGL canvases count too).
 */
export async function canvasColours(page, selector = "#panel canvas") {
  return page.$$eval(selector, (canvases) =>
    canvases.map((c) => {
      const probe = document.createElement("canvas");
      probe.width = Math.min(c.width, 512);
      probe.height = Math.min(c.height, 512);
      const ctx = probe.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(c, 0, 0, probe.width, probe.height);
      const { data } = ctx.getImageData(0, 0, probe.width, probe.height);
      const seen = new Set();
      for (let i = 0; i < data.length && seen.size < 4096; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      return { name: c.dataset.name ?? c.id, width: c.width, height: c.height, colours: seen.size };
    }),
  );
}

/** Saves a screenshot of the page as docs/images/web-NAME.png. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `web-${name}.png`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/**
 * Marks the page's state as "stale" before an action, so that a wait afterwards sees the
 * state the action leads to, not the one before it (the page overwrites the mark).
 */
export async function markStale(page) {
  await page.evaluate(() => {
    document.documentElement.dataset.state = "stale";
  });
}

/**
 * The server and browser of a test file: started before its tests, closed after them.
 * Answers a function that gives `{server, browser}` once started.
 */
export function browserForTests(options) {
  let env;
  before(async () => {
    env = await openBrowser(options);
  });
  after(async () => {
    await env?.close();
  });
  return () => env;
}

/**
 * One browser and test server for every test of a file (`openBrowser(options)`), opened
 * before the first test and closed after the last; its fields (`browser`, `server`, ...)
 * are filled in once `before` has run.
 */
export function browserForFile(options) {
  const env = {};
  before(async () => {
    Object.assign(env, await openBrowser(options));
  });
  after(async () => {
    await env.close?.();
  });
  return env;
}

/**
 * Runs `fn(watched)` with a fresh watched page of `env`, then fails on any problem the
 * page recorded and on any request beyond the test server.
 */
export async function withWatchedPage(env, fn) {
  const w = await watchedPage(env.browser);
  try {
    await fn(w);
    assert.deepEqual(w.problems, [], w.problems.join("\n"));
    const foreign = w.requests.filter((u) => !u.startsWith(env.server.url) && !u.startsWith("blob:") && !u.startsWith("data:"));
    assert.deepEqual(foreign, [], "requests beyond the test server");
  } finally {
    await w.close();
  }
}

/**
 * In the maximize view: starts a 10,000-step activation maximization and waits until
 * this run reports its own steps (the finished run's picture is still there at first).
 */
export async function startLongMaximization(page) {
  await markStale(page);
  await page.fill("[data-testid=maximize-steps]", "10000");
  await page.click("[data-testid=maximize-run]");
  await page.waitForFunction(() => /^Step \d+ of 10000/.test(document.querySelector("[data-testid=maximize-state]")?.textContent), null, { timeout: 120_000, polling: 20 });
}

/**
 * Clicks Cancel while a run is part way (its progress bar strictly between 0 and 1),
 * in the same poll that sees it there; answers the progress at the click. A deep
 * feature map of the cancel test's model finishes about a second after its first layer
 * in the threaded build, and a click made by Playwright after a separate wait (scroll,
 * stability checks) could land after the run ended and the button was hidden.
 */
export async function cancelMidRun(page, timeout = 120_000) {
  const handle = await page.waitForFunction(() => {
    const value = Number(document.querySelector("[data-testid=progress]")?.value);
    const cancel = document.querySelector("[data-testid=cancel]");
    if (!(value > 0 && value < 1) || !cancel || cancel.hidden || cancel.disabled || cancel.offsetParent === null) return false;
    cancel.click();
    return { value };
  }, null, { timeout, polling: 20 });
  return (await handle.jsonValue()).value;
}
