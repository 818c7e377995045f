#!/usr/bin/env bash
# Our engine against onnxruntime's native CPU build, side by side in one run: the same
# model, weights and input (exported from our graph to ONNX by scripts/bench_native_ort.py),
# timed alternately round by round, one thread unless asked. Prints a table of medians
# (wall and process-CPU ms), Grad-CAM against our forward, and each process's peak RSS.
# Needs onnx and onnxruntime in the Python environment (pip install onnx onnxruntime);
# a benchmark, never part of the tests. The exported models go to target/ort-bench/.
# Usage: scripts/bench-native-ort.sh [--runs N] [--threads 1,2] [ARCH...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! python3 -c "import onnx, onnxruntime" 2>/dev/null; then
    echo "bench-native-ort: needs the Python packages onnx and onnxruntime (pip install onnx onnxruntime)" >&2
    exit 1
fi
cargo build --release -p convscope --example graph_bench
exec python3 scripts/bench_native_ort.py --bin target/release/examples/graph_bench --work target/ort-bench "$@"
