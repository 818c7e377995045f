#!/usr/bin/env bash
# Renders the README's gallery: every attribution method of `convscope explain`, on the
# embedded Fashion-MNIST shortcut twin and a test image with its marker painted on
# (www/samples/), into docs/images/gallery-METHOD.png, plus the clean model's Grad-CAM on
# the same image. The twin learned "checkerboard in the corner = Bag": a method that
# explains the model points at the marker.
#
#   scripts/render-gallery.sh [SAMPLE]      # default: the first marked sample of the twin
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
sample="${1:-$(python3 -c 'import json; d = json.load(open("www/samples/fashion.json")); c = d["shortcut"]["class"] if "shortcut" in d else 8; print(next(s["file"] for s in d["models"]["fashion-vgg-shortcut"] if s["marker"] and s["label"] != c))')}"
out=docs/images
mkdir -p "$out" target/gallery
cargo build -q --release -p convscope
convscope=target/release/convscope
twin=www/models/fashion-vgg-shortcut.json
for method in saliency guided-backprop integrated-gradients smoothgrad grad-cam grad-cam++ score-cam guided-grad-cam occlusion; do
    name="${method//++/-pp}"
    extra=()
    # 2-pixel windows, stride 1: a 27x27 grid fine enough to find a 4x4 marker.
    [[ "$method" == occlusion ]] && extra=(--window 2 --stride 1)
    "$convscope" explain "$method" --model "$twin" --image "www/samples/$sample" "${extra[@]}" \
        --out "target/gallery/$name.npy" --png "$out/gallery-$name.png" --colormap jet
done
"$convscope" explain grad-cam --model www/models/fashion-vgg.json --image "www/samples/$sample" \
    --out target/gallery/clean-grad-cam.npy --png "$out/gallery-clean-grad-cam.png" --colormap jet
echo "render-gallery: docs/images/gallery-*.png from www/samples/$sample"
