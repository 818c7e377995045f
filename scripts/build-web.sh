#!/usr/bin/env bash
# Builds the web app into dist/: the convscope library compiled to wasm32, its JS glue
# and the module optimised (scripts/wasm-pkg.sh: tools/webbuild, then wasm-opt) in
# dist/pkg/, plus the static files from www/, three.js and the benchmark's engines from
# node_modules/. Installs what is missing (scripts/setup.sh: the wasm32 target first, the
# npm packages while cargo builds). Then the wasm threads build, dist/pkg-threads/
# (scripts/build-web-threads.sh, nightly Rust, about 9 minutes cold); if it cannot be
# made the site still works on one thread. CONVSCOPE_THREADS=0 skips it. Before that,
# the relaxed-SIMD build, dist/pkg-relaxed/ (scripts/build-web-relaxed.sh, about 3
# minutes cold), for browsers that run it; CONVSCOPE_RELAXED=0 skips it.
# Usage: scripts/build-web.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

target=wasm32-unknown-unknown
dist="$root/dist"
"$root/scripts/setup.sh" wasm

# Wherever cargo puts it (CARGO_TARGET_DIR or config may move target/).
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
target_dir="${target_dir:-$root/target}"
mkdir -p "$target_dir"

# Two jobs run while cargo builds the wasm, each with its log in the target dir: npm ci
# (mostly waiting on the network and the disk) and tools/webbuild (its own target dir,
# so neither cargo waits for the other's lock; on 2 cores it fills the gaps where the
# wasm build compiles one crate at a time).
declare -A jobs=()
start_job() {
    local name="$1"
    shift
    echo "build-web: $name alongside (log: $target_dir/$name.log)"
    "$@" > "$target_dir/$name.log" 2>&1 &
    jobs[$name]=$!
}
finish_job() {
    local name="$1" ok=0
    wait "${jobs[$name]}" || ok=$?
    unset "jobs[$name]"
    sed "s/^/build-web: $name: /" "$target_dir/$name.log"
    if (( ok != 0 )); then
        echo "build-web: $name failed (above)" >&2
        exit 1
    fi
}
# Stops the jobs if the build fails meanwhile.
trap 'for pid in "${jobs[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT
start_job npm "$root/scripts/setup.sh" npm
start_job webbuild "$root/scripts/wasm-pkg.sh" --build-tool

echo "build-web: cargo build (release, $target)"
cargo build --lib --release --target "$target" -p convscope
finish_job webbuild
finish_job npm

rm -rf "$dist"
mkdir -p "$dist"
"$root/scripts/wasm-pkg.sh" "$target_dir/$target/release/convscope.wasm" "$dist/pkg"
wasm_out="$dist/pkg/convscope_bg.wasm"
# Tells the worker which builds exist, so it never requests a missing one;
# build-web-relaxed.sh and build-web-threads.sh mark theirs once complete.
"$root/scripts/wasm-builds.sh"

cp -R "$root/www/." "$dist/"

# three.js from npm, served from dist/ (no CDN): the module build and OrbitControls,
# whose bare `from 'three'` import is pointed at the copied file, because an import map
# would be an inline script and the page's Content-Security-Policy forbids those.
three="$root/node_modules/three"
mkdir -p "$dist/vendor/three"
cp "$three/build/three.module.js" "$three/build/three.core.js" "$three/LICENSE" "$dist/vendor/three/"
sed "s#from 'three'#from './three.module.js'#" "$three/examples/jsm/controls/OrbitControls.js" \
    > "$dist/vendor/three/OrbitControls.js"
if grep -q "from 'three'" "$dist/vendor/three/OrbitControls.js"; then
    echo "build-web: could not rewrite OrbitControls' import of three" >&2
    exit 1
fi

# The benchmark page's competitors (bench.html), from npm (package.json), never a CDN.
ort="$root/node_modules/onnxruntime-web/dist"
tfjs="$root/node_modules/@tensorflow"
if [[ -d "$ort" && -d "$tfjs/tfjs/dist" && -d "$tfjs/tfjs-backend-wasm/dist" ]]; then
    mkdir -p "$dist/ort" "$dist/tfjs"
    cp "$ort/ort.wasm.min.mjs" "$ort/ort-wasm-simd-threaded.mjs" "$ort/ort-wasm-simd-threaded.wasm" "$dist/ort/"
    cp "$tfjs/tfjs/dist/tf.min.js" "$tfjs/tfjs-backend-wasm/dist/tf-backend-wasm.min.js" \
        "$tfjs/tfjs-backend-wasm/dist/"tfjs-backend-wasm*.wasm "$dist/tfjs/"
else
    echo "build-web: onnxruntime-web / TensorFlow.js not in node_modules (npm ci): bench.html will not run"
fi

size="$(wc -c < "$wasm_out")"
echo "build-web: $wasm_out is $size bytes ($(( size / 1024 )) KiB)"
if [[ "${CONVSCOPE_RELAXED:-1}" == "0" ]]; then
    echo "build-web: CONVSCOPE_RELAXED=0: no relaxed-SIMD build, the site runs plain simd128"
elif ! "$root/scripts/build-web-relaxed.sh"; then
    echo "build-web: WARNING: the relaxed-SIMD build (dist/pkg-relaxed/) failed; the site runs plain simd128" >&2
fi
if [[ "${CONVSCOPE_THREADS:-1}" == "0" ]]; then
    echo "build-web: CONVSCOPE_THREADS=0: no wasm threads build, the site runs on one thread"
elif ! "$root/scripts/build-web-threads.sh"; then
    echo "build-web: WARNING: the wasm threads build (dist/pkg-threads/) failed; the site is built single-threaded only" >&2
fi
echo "build-web: site in $dist (serve with scripts/serve.sh)"
