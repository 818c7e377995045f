#!/usr/bin/env bash
# One command from a fresh checkout to the running page on http://127.0.0.1:8080 (or
# the port given as $1): builds the single-thread site (scripts/build-web.sh, which
# installs what is missing) and serves it at once; the relaxed-SIMD build and the wasm
# threads build (scripts/build-web-relaxed.sh, about 3 minutes cold, then
# scripts/build-web-threads.sh, nightly Rust, about 9) then run in the background and
# the page uses them from its next load on. CONVSCOPE_RELAXED=0 / CONVSCOPE_THREADS=0
# skip them.
# No wasm-opt (CONVSCOPE_WASM_OPT=1 asks for it): over a minute of CPU before the page
# is served, for a module 20% smaller and no faster (scripts/wasm-pkg.sh); the page is
# served from this machine. Ctrl-C stops the server and a threads build still running.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
port="${1:-8080}"
export CONVSCOPE_WASM_OPT="${CONVSCOPE_WASM_OPT:-0}"

CONVSCOPE_RELAXED=0 CONVSCOPE_THREADS=0 "$root/scripts/build-web.sh"

background=""
stop_background() {
    # Its own session (setsid), so the whole group goes: the scripts, cargo, rustc.
    [[ -n "$background" ]] && kill -TERM -- "-$background" 2>/dev/null || true
}
if [[ "${CONVSCOPE_RELAXED:-1}" != "0" || "${CONVSCOPE_THREADS:-1}" != "0" ]]; then
    log="$root/target/build-web-background.log"
    mkdir -p "$root/target"
    echo "demo: the faster wasm builds run in the background (log: $log); reload the page when they are done"
    setsid bash -c '
        if [[ "${CONVSCOPE_RELAXED:-1}" != "0" ]]; then
            if "$1/scripts/build-web-relaxed.sh" >> "$2" 2>&1; then
                echo "demo: the relaxed-SIMD build is done: reload the page for faster kernels"
            else
                echo "demo: the relaxed-SIMD build failed (see $2); the page stays on plain SIMD" >&2
            fi
        fi
        if [[ "${CONVSCOPE_THREADS:-1}" != "0" ]]; then
            if "$1/scripts/build-web-threads.sh" >> "$2" 2>&1; then
                echo "demo: the wasm threads build is done: reload the page to run on every core"
            else
                echo "demo: the wasm threads build failed (see $2); the page stays on one thread" >&2
            fi
        fi' build-web-background "$root" "$log" &
    background=$!
    trap stop_background EXIT
    trap 'exit 130' INT TERM
fi

echo "demo: open http://127.0.0.1:$port/"
"$root/scripts/serve.sh" "$port"
