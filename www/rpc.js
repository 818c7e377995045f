// Requests to the model worker, with progress and cancellation.
//
// The wasm runs synchronously inside the worker, so a running request cannot be
// interrupted from outside: cancelling terminates the worker and starts a fresh one,
// which `restore` brings back to the last good state (model and image) before any new
// request is sent. Protocol (docs/web.md): the page posts {id, type, ...args}; the
// worker answers {id, progress, detail?, partial?} any number of times, then {id, ok:
// true, result} or {id, ok: false, error, fatal?}.

export class CancelledError extends Error {
  constructor() {
    super("cancelled");
    this.name = "CancelledError";
  }
}

export class ModelWorker {
  /**
   * @param {URL} url the worker module
   * @param {(call: Function) => Promise<void>} restore re-sends the model and image to
   *   a freshly started worker (after a cancel or a crash)
   */
  constructor(url, restore) {
    this.url = url;
    this.restore = restore;
    this.generation = 0;
    this.pending = new Map();
    this.nextId = 1;
    this.restoring = null;
    this.start();
  }

  start() {
    this.generation += 1;
    const worker = new Worker(workerUrl(this.url), { type: "module" });
    worker.onmessage = ({ data }) => this.receive(data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.failAll(`the model worker failed: ${event.message || "could not load worker.js or the wasm module"}`);
    };
    worker.onmessageerror = () => this.failAll("the model worker sent an unreadable message");
    this.worker = worker;
  }

  receive(data) {
    const entry = this.pending.get(data.id);
    if (!entry) return;
    if ("progress" in data) {
      entry.onProgress?.(data.progress, data.detail, data.partial);
      return;
    }
    this.pending.delete(data.id);
    if (data.ok) entry.resolve(data.result);
    else if (data.fatal) {
      // A trap inside wasm (out of memory, a bug) leaves its memory inconsistent: start
      // afresh with the last good model and image, and say so with the error.
      entry.reject(new Error(`${data.error}. The model worker was restarted with the last model and image.`));
      this.restart().catch((err) => console.warn("restoring the model worker failed", err));
    } else entry.reject(new Error(data.error));
  }

  failAll(message) {
    for (const { reject } of this.pending.values()) reject(new Error(message));
    this.pending.clear();
  }

  /** Sends one request; resolves with its result. `transfer` lists buffers to move. */
  async call(type, args = {}, { transfer = [], onProgress } = {}) {
    if (this.restoring) await this.restoring;
    return this.send(type, args, transfer, onProgress);
  }

  send(type, args, transfer = [], onProgress) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, type, ...args }, transfer);
    });
  }

  /** Whether a request is running. */
  get busy() {
    return this.pending.size > 0;
  }

  /** Stops whatever runs: every pending request rejects with CancelledError. */
  async cancel() {
    for (const { reject } of this.pending.values()) reject(new CancelledError());
    this.pending.clear();
    await this.restart();
  }

  /** A fresh worker, restored to the last good state. */
  restart() {
    this.worker.terminate();
    for (const { reject } of this.pending.values()) reject(new Error("the model worker was restarted"));
    this.pending.clear();
    this.start();
    const send = (type, args, transfer) => this.send(type, args, transfer);
    this.restoring = this.restore(send).finally(() => {
      this.restoring = null;
    });
    return this.restoring;
  }
}

// The worker's address; a page opened with ?debug opens worker.js?debug, which offers
// test-only requests (worker.js).
function workerUrl(url) {
  const debug = typeof location !== "undefined" && new URLSearchParams(location.search).has("debug");
  if (!debug) return url;
  const withFlag = new URL(url, location.href);
  withFlag.searchParams.set("debug", "");
  return withFlag;
}
