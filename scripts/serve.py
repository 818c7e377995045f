#!/usr/bin/env python3
"""Serves a folder over HTTP on 127.0.0.1 for local use of the web app.

Like `python3 -m http.server`, but pins the MIME types the page needs (application/wasm
for streaming compilation, text/javascript for module scripts) whatever the machine's
mime.types says, and tells the browser not to cache, so a rebuild shows at once.
Usage: serve.py DIR [PORT]
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

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: serve.py DIR [PORT]")
    port = int(sys.argv[2]) if len(sys.argv) == 3 else 8080
    handler = functools.partial(Handler, directory=sys.argv[1])
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"serving {sys.argv[1]} on http://127.0.0.1:{port}/ (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
