#!/usr/bin/env bash
# Installs what this repository's scripts need and a fresh Debian machine of this kind
# lacks; what is already there is left alone, so a second run only checks. The one
# place that installs anything: the other scripts (build-web.sh and so demo.sh,
# build-web-threads.sh, test.sh, test-web.sh, bench-browser.sh, train-fashion.sh) and
# .ci/run call it with the parts they need.
#
#   wasm     the wasm32-unknown-unknown Rust target (rustup)
#   npm      the npm packages (npm ci when node_modules is missing or differs from
#            package-lock.json): binaryen's wasm-opt, three.js, playwright-core, the
#            benchmark's engines
#   browser  Debian's chromium (the page tests drive it headless)
#   data     Debian's dataset-fashion-mnist (crate/tests/fashion.rs, scripts/train-fashion.sh)
#   threads  the nightly toolchain with rust-src (the wasm threads build, build-web-threads.sh)
#
# Debian packages are installed with apt-get as root; as another user the script names
# what is missing and the command that installs it, and fails.
# Usage: scripts/setup.sh PART...
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

say() { echo "setup: $*"; }
fail() {
    echo "setup: $*" >&2
    exit 1
}

# need_command NAME HOW: fails naming HOW to get NAME when it is not on PATH.
need_command() {
    command -v "$1" >/dev/null 2>&1 || fail "$1 not found on PATH; $2"
}

# debian_packages PACKAGE...: apt-get install of those not installed.
debian_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    (( ${#missing[@]} == 0 )) && return 0
    if (( EUID != 0 )); then
        fail "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}"
    fi
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update </dev/null
    apt-get install -y "${missing[@]}" </dev/null
}

wasm_target() {
    local target=wasm32-unknown-unknown
    need_command cargo "install Rust with rustup (https://rustup.rs)"
    if command -v rustup >/dev/null 2>&1; then
        if ! rustup target list --installed | grep -qx "$target"; then
            say "rustup target add $target"
            rustup target add "$target" </dev/null
        fi
    elif [[ ! -d "$(rustc --print sysroot)/lib/rustlib/$target" ]]; then
        fail "rustc has no $target standard library and rustup is not installed; install Rust with rustup (https://rustup.rs), then: rustup target add $target"
    fi
}

# True when node_modules holds exactly the packages of package-lock.json: npm ci writes
# node_modules/.package-lock.json, and a package missing there or on disk, or at another
# version, means node_modules is stale. Optional packages for other platforms are never
# installed, so only their versions are compared.
npm_current() {
    [[ -f node_modules/.package-lock.json ]] || return 1
    node - <<'JS'
const fs = require("node:fs");
const want = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages;
const stale = Object.entries(want).filter(([path, pkg]) => {
  if (path === "") return false;
  if (!have[path]) return !pkg.optional;
  return have[path].version !== pkg.version || !fs.existsSync(`${path}/package.json`);
});
process.exit(stale.length ? 1 : 0);
JS
}

npm_packages() {
    need_command node "install Node.js and npm (apt-get install nodejs npm)"
    need_command npm "install npm (apt-get install npm)"
    if ! npm_current; then
        say "npm ci (node_modules missing or not as in package-lock.json)"
        npm ci --no-audit --no-fund </dev/null
    fi
}

# The threads build's toolchain; timeouts so a slow mirror cannot hold up a build
# that works without it.
nightly_toolchain() {
    need_command rustup "install Rust with rustup (https://rustup.rs); the wasm threads build needs its nightly toolchain"
    if ! rustup run nightly rustc --version >/dev/null 2>&1; then
        say "rustup toolchain install nightly (wasm threads)"
        timeout 300 rustup toolchain install nightly --profile minimal --component rust-src </dev/null
    elif ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
        say "rustup component add rust-src --toolchain nightly"
        timeout 300 rustup component add rust-src --toolchain nightly </dev/null
    fi
}

(( $# > 0 )) || fail "usage: scripts/setup.sh PART... (parts: wasm npm browser data threads)"
# Debian packages first, all in one apt-get run.
debs=()
for part in "$@"; do
    case "$part" in
        wasm | npm | threads) ;;
        browser) debs+=(chromium) ;;
        data) debs+=(dataset-fashion-mnist) ;;
        *) fail "unknown part '$part' (parts: wasm npm browser data threads)" ;;
    esac
done
(( ${#debs[@]} == 0 )) || debian_packages "${debs[@]}"
for part in "$@"; do
    case "$part" in
        wasm) wasm_target ;;
        npm) npm_packages ;;
        threads) nightly_toolchain ;;
    esac
done
