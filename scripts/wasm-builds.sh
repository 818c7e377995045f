#!/usr/bin/env bash
# Marks a wasm build of dist/ as complete in dist/wasm-builds.json (the worker reads it
# so that it never requests a build that is missing): `scripts/wasm-builds.sh NAME`
# sets "NAME": true and keeps the others; with no NAME, writes the file afresh (no
# extra builds). Written whole, then renamed, so the worker never reads half a file.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
file="$root/dist/wasm-builds.json"
node -e '
const fs = require("fs");
const [file, name] = process.argv.slice(1);
let builds = { threads: false, relaxed: false };
if (name) {
  try { builds = { ...builds, ...JSON.parse(fs.readFileSync(file, "utf8")) }; } catch {}
  builds[name] = true;
}
fs.writeFileSync(file + ".new", JSON.stringify(builds) + "\n");
fs.renameSync(file + ".new", file);
' "$file" "${1:-}"
