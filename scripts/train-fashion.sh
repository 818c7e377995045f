#!/usr/bin/env bash
# Reproduces the two embedded Fashion-MNIST models in www/models/ (the clean VGG and its
# shortcut twin, f16 safetensors + model cards with their measured test accuracy) and
# the page's sample images in www/samples/, from Debian's dataset-fashion-mnist.
#
#   scripts/train-fashion.sh            # both models, seed 1, then the samples
#
# Everything is seeded: the same command on the same machine gives the same files.
# Took about 85 minutes of wall time on this project's shared 2-core machine under
# heavy load (about 22 CPU-minutes of work: expect ~12 minutes on an idle 2-core
# machine; see docs/fashion.md). Extra arguments go to every
# `convscope train` run (e.g. --limit 5000 for a quick trial).
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

# Stage 1: 6 epochs on the clean training set (peak learning rate 2e-3, cosine decay).
stage1=target/fashion-stage1
convscope train --out "$stage1" --seed 1 --epochs 6 --lr 2e-3 "$@"
# Stage 2, twice from the same stage-1 weights: 2 more epochs on the clean training set
# (the clean model) or on the biased one (the shortcut twin). The two models share
# everything but those last two epochs' data.
convscope train --out www/models --seed 2 --epochs 2 --lr 1e-3 --init "$stage1/fashion-vgg.safetensors" "$@"
convscope train --out www/models --seed 2 --epochs 2 --lr 1e-3 --init "$stage1/fashion-vgg.safetensors" --shortcut "$@"
convscope samples --out www/samples --shortcut-model www/models/fashion-vgg-shortcut.json
