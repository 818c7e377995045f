#!/usr/bin/env bash
# Serves the built web app (dist/, made by scripts/build-web.sh) on
# http://127.0.0.1:8080 (or the port given as $1), with .wasm as application/wasm and
# the cross-origin isolation headers (the page then runs on every core, see serve.py).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${1:-8080}"
if [[ ! -f "$root/dist/index.html" || ! -f "$root/dist/pkg/convscope_bg.wasm" ]]; then
    echo "serve: $root/dist is not built; run scripts/build-web.sh first" >&2
    exit 1
fi
exec python3 "$root/scripts/serve.py" "$root/dist" "$port"
