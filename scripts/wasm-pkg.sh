#!/usr/bin/env bash
# Turns a cargo-built convscope.wasm into what the page loads: its JS glue (tools/webbuild,
# wasm-bindgen's library at the version in Cargo.lock, built here on first use) and the
# module optimised by wasm-opt -O3. OUT_DIR is replaced only once all of it is written,
# so a page served from it never sees half a build. Extra arguments go to wasm-opt
# (more wasm features, e.g. --enable-threads). CONVSCOPE_WASM_OPT=0 skips wasm-opt
# (scripts/demo.sh does: it takes over a minute of CPU and, measured on VGG16 in Node,
# does not change the speed; the module is 25% larger, 3.2 instead of 2.5 MB).
#
#   scripts/wasm-pkg.sh IN.wasm OUT_DIR [WASM_OPT_FLAG...]
#   scripts/wasm-pkg.sh --build-tool     # only build tools/webbuild
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Wherever cargo puts it (CARGO_TARGET_DIR or config may move target/). The tool has its
# own target dir, so build-web.sh can build it while cargo builds the wasm.
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
tool_target="${target_dir:-$root/target}/webbuild"
tool="$tool_target/webbuild/webbuild"
build_tool=(cargo build --quiet -p webbuild --features bindgen --profile webbuild --target-dir "$tool_target")
if [[ "${1:-}" == "--build-tool" ]]; then
    exec "${build_tool[@]}"
fi
"${build_tool[@]}"

if (( $# < 2 )); then
    echo "usage: scripts/wasm-pkg.sh IN.wasm OUT_DIR [WASM_OPT_FLAG...] | --build-tool" >&2
    exit 2
fi
wasm_in="$1"
out="$2"
shift 2

# wasm-opt: binaryen from npm (a devDependency, so a known version) or a system one.
# Binaryen before 116 (Debian bookworm ships 108) rewrites wasm-bindgen's externref
# table as anyref, and the module then fails at start-up, so such a one is not used.
wasm_opt=""
if [[ -x "$root/node_modules/.bin/wasm-opt" ]]; then
    wasm_opt="$root/node_modules/.bin/wasm-opt"
elif command -v wasm-opt >/dev/null 2>&1; then
    v="$(wasm-opt --version | awk '{print $3}')"
    if [[ "$v" =~ ^[0-9]+$ ]] && (( v >= 116 )); then
        wasm_opt="$(command -v wasm-opt)"
    else
        echo "wasm-pkg: ignoring $(command -v wasm-opt) (binaryen ${v:-?}, needs 116+; scripts/setup.sh npm installs binaryen from npm)"
    fi
fi

staging="$out.new"
rm -rf "$staging"
mkdir -p "$staging"
"$tool" "$wasm_in" "$staging"

module="$staging/convscope_bg.wasm"
if [[ "${CONVSCOPE_WASM_OPT:-1}" == "0" ]]; then
    echo "wasm-pkg: CONVSCOPE_WASM_OPT=0: $out/convscope_bg.wasm is not optimised ($(wc -c < "$module") bytes)"
elif [[ -z "$wasm_opt" ]]; then
    echo "wasm-pkg: no usable wasm-opt, $out/convscope_bg.wasm is not optimised"
else
    started=$SECONDS
    before="$(wc -c < "$module")"
    "$wasm_opt" -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-mutable-globals --enable-reference-types \
        --enable-multivalue "$@" "$module" -o "$module.opt"
    mv "$module.opt" "$module"
    echo "wasm-pkg: $("$wasm_opt" --version) -O3: $before -> $(wc -c < "$module") bytes in $(( SECONDS - started )) s"
fi
rm -rf "$out"
mv "$staging" "$out"
