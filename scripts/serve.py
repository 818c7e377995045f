#!/usr/bin/env python3
"""Serves a folder over HTTP on 127.0.0.1 for local use of the web app.

Like `python3 -m http.server`, but pins the MIME types the page needs (application/wasm
for streaming compilation, text/javascript for module scripts) whatever the machine's
mime.types says, and tells the browser not to cache, so a rebuild shows at once. It
sends the two cross-origin isolation headers (COOP same-origin, COEP require-corp), so
the page may share wasm memory between threads and runs the wasm threads build
(dist/pkg-threads/) where it exists; every resource of the page is same-origin, so
require-corp blocks nothing. `--no-isolation` leaves them out (one thread, as on a host
that does not send them). Every file may be read by another site
(Access-Control-Allow-Origin: *, Cross-Origin-Resource-Policy: cross-origin), so a page
elsewhere can load embed.js and show <convscope-view> (docs/web.md, Embedding).
Usage: serve.py [--no-isolation] DIR [PORT]
"""
import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
        ".html": "text/html; charset=utf-8",
        ".css": "text/css",
        ".png": "image/png",
        ".svg": "image/svg+xml",
        ".safetensors": "application/octet-stream",
    }

    isolated = True

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        # embed.js is a module script on other sites' pages: fetched with CORS.
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        if self.isolated:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()


def main():
    args = sys.argv[1:]
    if args[:1] == ["--no-isolation"]:
        Handler.isolated = False
        args = args[1:]
    if len(args) not in (1, 2):
        sys.exit("usage: serve.py [--no-isolation] DIR [PORT]")
    port = int(args[1]) if len(args) == 2 else 8080
    handler = functools.partial(Handler, directory=args[0])
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        isolation = "cross-origin isolated" if Handler.isolated else "not isolated: one thread"
        print(f"serving {args[0]} on http://127.0.0.1:{port}/ ({isolation}; Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
