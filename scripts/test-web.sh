#!/usr/bin/env bash
# Builds the web app (scripts/build-web.sh) and runs the JS tests under tests/: the
# wasm module in Node and the page in headless Chromium (node --test, playwright-core).
# Installs what is missing first (scripts/setup.sh wasm npm browser).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

"$root/scripts/setup.sh" wasm npm browser
if [[ ! -f crate/tests/fixtures/astronaut32.npy ]]; then
    echo "test-web: crate/tests/fixtures/astronaut32.npy is missing" >&2
    exit 1
fi

"$root/scripts/build-web.sh"
node --test tests/
