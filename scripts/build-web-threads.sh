#!/usr/bin/env bash
# Adds the wasm threads build, dist/pkg-threads/, to a site built by scripts/build-web.sh:
# the same library with rayon's pool on Web Workers (wasm-bindgen-rayon, cargo feature
# `threads`), which the page's worker uses where the page is cross-origin isolated.
# dist/wasm-builds.json says "threads": true only once dist/pkg-threads/ is complete, so
# a page served meanwhile runs the single-thread build and takes this one on its next
# load (scripts/demo.sh serves first and runs this in the background). On failure the
# site stays as it was and this exits non-zero.
#
# Threads need atomics in every crate, std included, so it is nightly with -Z build-std
# (and rust-src; scripts/setup.sh threads installs them); since Rust's wasm atomics no
# longer imply a shared memory, the linker is asked for one (imported, so every thread's
# instance shares it; 4 GiB maximum, as VGG16 needs over 1 GB) and for the TLS symbols
# wasm-bindgen's thread start-up uses. Only the final link gets those flags (cargo
# rustc), so they do not rebuild every dependency. Its own target dir: the nightly
# artifacts never disturb the stable build's. About 9 minutes cold on this 2-core
# machine, 1.5 when only our crate changed (docs/web.md, "Threads").
source "$(dirname "${BASH_SOURCE[0]}")/extra-build-env.sh" build-web-threads
"$root/scripts/setup.sh" threads

threads_target="$target_dir/threads"
target=wasm32-unknown-unknown
started=$SECONDS
echo "build-web-threads: cargo +nightly build (release, $target, feature threads; $(rustup run nightly rustc --version))"
RUSTFLAGS='-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128 --cfg getrandom_backend="wasm_js"' \
    cargo +nightly rustc --lib --release --target "$target" -p convscope --features threads \
    -Z build-std=panic_abort,std --target-dir "$threads_target" -- \
    -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory \
    -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
    -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base
"$root/scripts/wasm-pkg.sh" "$threads_target/$target/release/convscope.wasm" "$dist/pkg-threads" --enable-threads

"$root/scripts/wasm-builds.sh" threads
size="$(wc -c < "$dist/pkg-threads/convscope_bg.wasm")"
echo "build-web-threads: done in $(( SECONDS - started )) s: dist/pkg-threads/ ($size bytes), used on the page's next load where it is cross-origin isolated"
