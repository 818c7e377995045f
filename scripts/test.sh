#!/usr/bin/env bash
# The project's one test command: installs what is missing (scripts/setup.sh: the wasm32
# target, the npm packages, Debian's chromium and dataset-fashion-mnist; those two need
# root, or it says the command to run), then the Rust tests (native), then the web tests
# (scripts/test-web.sh: wasm build, wasm in Node, the page in headless Chromium).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

"$root/scripts/setup.sh" wasm npm browser data
cargo test --workspace
"$root/scripts/test-web.sh"
