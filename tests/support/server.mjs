// A tiny static file server for tests: serves a folder on 127.0.0.1 at a free port,
// with the MIME types the page needs (.wasm as application/wasm) and, unless
// `isolated: false`, the two headers that make the page cross-origin isolated (so it may
// use shared wasm memory and run the wasm threads build; docs/web.md). Every file may be
// read from another site, as docs/web.md asks of a static host: embed.js is loaded as a
// module script by the pages that embed <convscope-view>, and module scripts are fetched
// with CORS.
import http from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".svg": "image/svg+xml",
};

// Cross-origin isolation: every resource the page loads is same-origin, so require-corp
// blocks nothing of ours.
const ISOLATION = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };
// Another site may load the files (embed.js) and frame the page, also a cross-origin
// isolated site (whose require-corp then needs Cross-Origin-Resource-Policy).
const SHARED = { "Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin" };

export async function serveStatic(dir, { extra = {}, isolated = true } = {}) {
  const root = path.resolve(dir);
  const common = { "Cache-Control": "no-store", ...SHARED, ...(isolated ? ISOLATION : {}) };
  // Downloads per path (GET; a HEAD asking for a size is not one), so tests can tell
  // whether something was fetched (again).
  const hits = new Map();
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://127.0.0.1");
      if (req.method !== "HEAD") hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
      // Extra files given as bytes: {"/path": Buffer}.
      if (Object.hasOwn(extra, url.pathname)) {
        res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": extra[url.pathname].length, ...common });
        res.end(extra[url.pathname]);
        return;
      }
      let file = path.normalize(path.join(root, decodeURIComponent(url.pathname)));
      if (file !== root && !file.startsWith(root + path.sep)) {
        res.writeHead(403).end();
        return;
      }
      if (url.pathname.endsWith("/")) file = path.join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, {
        "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream",
        ...common,
      });
      res.end(body);
    } catch {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    hits,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
