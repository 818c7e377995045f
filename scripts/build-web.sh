#!/usr/bin/env bash
# Builds the web app into dist/: the convscope library compiled to wasm32, its
# wasm-bindgen JS glue (dist/pkg/), optimised with wasm-opt when available, plus the
# static files from www/ and three.js from node_modules/. Installs the wasm32 target,
# wasm-bindgen-cli (at the version pinned in Cargo.lock) and the npm packages if they
# are missing. A second build with wasm threads (dist/pkg-threads/, nightly toolchain,
# see build_threads below) is added when it can be made; without it the site still works
# on one thread. CONVSCOPE_THREADS=0 skips it. Usage: scripts/build-web.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

target=wasm32-unknown-unknown
dist="$root/dist"

# The wasm32 target for rustc.
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$target"; then
    echo "build-web: installing rust target $target"
    rustup target add "$target"
fi

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [[ -z "$want" ]]; then
    echo "build-web: wasm-bindgen not found in Cargo.lock" >&2
    exit 1
fi
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [[ "$have" != "$want" ]]; then
    echo "build-web: installing wasm-bindgen-cli $want (found: ${have:-none})"
    # No --locked: the CLI's own lock file can name crate versions the registry no
    # longer serves; the exact CLI version is what must match.
    cargo install wasm-bindgen-cli --version "$want" --force
fi

echo "build-web: cargo build (release, $target)"
cargo build --lib --release --target "$target" -p convscope

# Wherever cargo puts it (CARGO_TARGET_DIR or config may move target/).
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
wasm_in="${target_dir:-$root/target}/$target/release/convscope.wasm"
rm -rf "$dist"
mkdir -p "$dist/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$dist/pkg" "$wasm_in"

wasm_out="$dist/pkg/convscope_bg.wasm"
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
        echo "build-web: ignoring $(command -v wasm-opt) (binaryen ${v:-?}, needs 116+; run npm ci for binaryen from npm)"
    fi
fi

# optimise FILE [FLAG...]: wasm-opt -O3 in place (extra flags: more wasm features).
optimise() {
    local file="$1"
    shift
    if [[ -z "$wasm_opt" ]]; then
        echo "build-web: no usable wasm-opt, skipping optimisation of $file"
        return 0
    fi
    echo "build-web: $("$wasm_opt" --version) -O3 $file"
    local before
    before="$(wc -c < "$file")"
    "$wasm_opt" -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-mutable-globals --enable-reference-types \
        --enable-multivalue "$@" \
        "$file" -o "$file.opt" || return 1
    mv "$file.opt" "$file"
    echo "build-web: wasm-opt: $before -> $(wc -c < "$file") bytes"
}
optimise "$wasm_out"

# The wasm threads build, dist/pkg-threads/: the same library with rayon's pool on Web
# Workers (wasm-bindgen-rayon, cargo feature `threads`). Threads need atomics in every
# crate, std included, so it is nightly with -Z build-std (and rust-src); since Rust's
# wasm atomics no longer imply a shared memory, the linker is asked for one (imported,
# so every thread's instance shares it; 4 GiB maximum, as VGG16 needs over 1 GB) and for
# the TLS symbols wasm-bindgen's thread start-up uses. Only the final link gets those
# flags (cargo rustc), so they do not rebuild every dependency. Its own target dir: the
# nightly artifacts never disturb the stable build's. The page falls back to dist/pkg/
# where it is missing or the page is not cross-origin isolated, so a failure here is a
# warning, never a failed build.
build_threads() {
    if ! rustup run nightly rustc --version >/dev/null 2>&1; then
        echo "build-web: installing the nightly toolchain (wasm threads)"
        timeout 300 rustup toolchain install nightly --profile minimal --component rust-src || return 1
    elif ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
        echo "build-web: rustup component add rust-src --toolchain nightly"
        timeout 300 rustup component add rust-src --toolchain nightly || return 1
    fi
    local started=$SECONDS
    echo "build-web: cargo +nightly build (release, $target, feature threads; $(rustup run nightly rustc --version))"
    RUSTFLAGS='-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128 --cfg getrandom_backend="wasm_js"' \
        cargo +nightly rustc --lib --release --target "$target" -p convscope --features threads \
        -Z build-std=panic_abort,std --target-dir "$threads_target" -- \
        -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory \
        -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
        -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base || return 1
    mkdir -p "$dist/pkg-threads" || return 1
    wasm-bindgen --target web --no-typescript --out-dir "$dist/pkg-threads" \
        "$threads_target/$target/release/convscope.wasm" || return 1
    optimise "$dist/pkg-threads/convscope_bg.wasm" --enable-threads || return 1
    echo "build-web: threads build done in $(( SECONDS - started )) s"
}
threads_target="${target_dir:-$root/target}/threads"
if [[ "${CONVSCOPE_THREADS:-1}" == "0" ]]; then
    echo "build-web: CONVSCOPE_THREADS=0: no wasm threads build, the site runs on one thread"
elif ! build_threads; then
    rm -rf "$dist/pkg-threads"
    echo "build-web: WARNING: the wasm threads build (dist/pkg-threads/) failed; the site is built single-threaded only" >&2
fi
# Tells the worker which builds exist, so it never requests a missing one.
if [[ -f "$dist/pkg-threads/convscope_bg.wasm" ]]; then
    echo '{"threads": true}' > "$dist/wasm-builds.json"
else
    echo '{"threads": false}' > "$dist/wasm-builds.json"
fi

cp -R "$root/www/." "$dist/"

# three.js from npm, served from dist/ (no CDN): the module build and OrbitControls,
# whose bare `from 'three'` import is pointed at the copied file, because an import map
# would be an inline script and the page's Content-Security-Policy forbids those.
three="$root/node_modules/three"
if [[ ! -f "$three/build/three.module.js" ]]; then
    echo "build-web: installing JS dependencies (npm ci) for three.js"
    npm ci --no-audit --no-fund
fi
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
if [[ -f "$dist/pkg-threads/convscope_bg.wasm" ]]; then
    echo "build-web: with wasm threads: dist/pkg-threads/ (used where the page is cross-origin isolated)"
else
    echo "build-web: no dist/pkg-threads/: one thread everywhere"
fi
echo "build-web: site in $dist (serve with scripts/serve.sh)"
