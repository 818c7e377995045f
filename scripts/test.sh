#!/usr/bin/env bash
# The project's one test command: the Rust tests (native), then the web tests (wasm
# build, wasm in Node, the page in headless Chromium).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo test --workspace
"$root/scripts/test-web.sh"
