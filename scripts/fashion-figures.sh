#!/usr/bin/env bash
# Renders docs/images/fashion-gradcam-*.png: Grad-CAM of the clean Fashion-MNIST model and
# of its shortcut twin on the same test images with the marker painted on (the page's
# samples, written by `convscope samples` in scripts/train-fashion.sh), by the CLI's own
# renderer. Default layer (the last ReLU of `features`), top class, 8x pixel blocks.
#
#   scripts/fashion-figures.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

convscope() { cargo run -q -p convscope -- "$@"; }

maps="$(mktemp -d)"
trap 'rm -rf "$maps"' EXIT
# The first test image of three classes other than "Bag" (test indices 19, 2 and 9).
for pair in t-shirt-top:00019 trouser:00002 sneaker:00009; do
    name="${pair%%:*}"
    image="www/samples/fashion-${pair#*:}-marker.png"
    for model in clean:fashion-vgg shortcut:fashion-vgg-shortcut; do
        convscope explain grad-cam --model "www/models/${model#*:}.json" --image "$image" \
            --full --zoom 8 --out "$maps/$name.npy" \
            --png "docs/images/fashion-gradcam-$name-${model%%:*}.png"
    done
done
