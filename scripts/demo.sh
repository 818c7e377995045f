#!/usr/bin/env bash
# One command from a fresh checkout to the running page: installs the JS dev
# dependencies if missing, builds the web app (scripts/build-web.sh installs the wasm32
# target and wasm-bindgen-cli itself) and serves it on http://127.0.0.1:8080.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ ! -d node_modules/binaryen ]]; then
    npm ci --no-audit --no-fund
fi
"$root/scripts/build-web.sh"
echo "demo: open http://127.0.0.1:${1:-8080}/"
exec "$root/scripts/serve.sh" "${1:-8080}"
