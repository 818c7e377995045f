#!/usr/bin/env bash
# Builds the web app (scripts/build-web.sh) and runs the JS tests under tests/: the
# wasm module in Node and the page in headless Chromium (node --test, playwright-core).
# Needs `npm ci` (or `npm install`) run once at the repository root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [[ ! -d node_modules/playwright-core || ! -d node_modules/binaryen ]]; then
    echo "test-web: installing JS dev dependencies (npm ci)"
    npm ci --no-audit --no-fund
fi
if [[ ! -f crate/tests/fixtures/astronaut32.npy ]]; then
    echo "test-web: crate/tests/fixtures/astronaut32.npy is missing" >&2
    exit 1
fi

"$root/scripts/build-web.sh"
node --test tests/
