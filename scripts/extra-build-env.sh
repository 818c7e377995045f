# Sourced (not run) by the scripts that add a wasm build to a site scripts/build-web.sh
# has built (build-web-relaxed.sh, build-web-threads.sh), with their name as $1: sets
# `root`, `dist` and `target_dir` (wherever cargo puts its output), enters `root`, puts
# cargo's bin folder on PATH, and stops with a message unless dist/ is built.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
dist="$root/dist"
if [[ ! -f "$dist/index.html" || ! -f "$dist/pkg/convscope_bg.wasm" ]]; then
    echo "$1: $dist is not built; run scripts/build-web.sh first" >&2
    exit 1
fi
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
target_dir="${target_dir:-$root/target}"
