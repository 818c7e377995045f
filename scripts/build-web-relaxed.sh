#!/usr/bin/env bash
# Adds the relaxed-SIMD build, dist/pkg-relaxed/, to a site built by scripts/build-web.sh:
# the same library compiled with +relaxed-simd, so the GEMM and depthwise kernels multiply
# and add with f32x4.relaxed_madd, which V8 and SpiderMonkey turn into one fused
# instruction where the CPU has FMA. Measured in Node on the ONNX exports of the graph
# fixtures (one thread): ResNet-18 91 -> 77 ms, MobileNetV2 24 -> 21, DenseNet-121 184 ->
# 145. The page's worker takes it where the browser validates relaxed-SIMD code and the
# threads build is not in use (that one stays plain simd128: Safari runs wasm threads
# but not relaxed SIMD); dist/wasm-builds.json says "relaxed": true once it is complete.
# Its own target dir (other RUSTFLAGS), so it never rebuilds the plain build's.
source "$(dirname "${BASH_SOURCE[0]}")/extra-build-env.sh" build-web-relaxed
relaxed_target="$target_dir/relaxed"
target=wasm32-unknown-unknown
started=$SECONDS
echo "build-web-relaxed: cargo build (release, $target, +relaxed-simd)"
RUSTFLAGS='-C target-feature=+simd128,+relaxed-simd --cfg getrandom_backend="wasm_js"' \
    cargo build --lib --release --target "$target" -p convscope --target-dir "$relaxed_target"
"$root/scripts/wasm-pkg.sh" "$relaxed_target/$target/release/convscope.wasm" "$dist/pkg-relaxed" --enable-relaxed-simd
"$root/scripts/wasm-builds.sh" relaxed
echo "build-web-relaxed: done in $(( SECONDS - started )) s: dist/pkg-relaxed/"
