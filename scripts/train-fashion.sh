#!/usr/bin/env bash
# Reproduces the two embedded Fashion-MNIST models in www/models/ (the clean VGG and its
# shortcut twin, f16 safetensors + model cards with their measured test accuracy) and
# the page's sample images in www/samples/, from Debian's dataset-fashion-mnist.
#
#   scripts/train-fashion.sh            # both models, seed 1, then the samples
#
# Everything is seeded: the same command on the same machine gives the same files.
# Takes about TIME_PLACEHOLDER on a 2-core machine (see docs/fashion.md for the measured
# times). Extra arguments go to both `convscope train` runs (e.g. --epochs 2 for a trial).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    echo "train-fashion: Fashion-MNIST is missing; install it with: apt-get install dataset-fashion-mnist" >&2
    exit 1
fi

# The dev profile: dependencies (candle, gemm) are optimised there too, and it shares
# its build with `cargo test`.
convscope() { cargo run -q -p convscope -- "$@"; }

convscope train --out www/models --seed 1 "$@"
convscope train --out www/models --seed 1 --shortcut "$@"
convscope samples --out www/samples --shortcut-model www/models/fashion-vgg-shortcut.json
