// "Save as PNG" for every canvas in a panel: one button per canvas, named after the
// view and the canvas' own label. A canvas that carries `exportPng` (PNG bytes the core
// made: an attribution's picture as `convscope explain --png` writes it, enlarged and
// with its colour bar) saves those bytes; any other saves what it shows. WebGL canvases
// must keep their drawing buffer (preserveDrawingBuffer) for this to capture it.

/** Adds a PNG download button after each canvas of `root` that lacks one. */
export function addExportButtons(root, baseName) {
  const canvases = [...root.querySelectorAll("canvas")].filter((c) => !c.dataset.exportable);
  canvases.forEach((canvas, i) => {
    canvas.dataset.exportable = "1";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "export";
    button.textContent = "Save PNG";
    const part = canvas.dataset.name ?? (canvases.length > 1 ? String(i + 1) : "");
    const name = `convscope-${[baseName, part].filter(Boolean).join("-")}.png`.replace(/[^\w.+-]+/g, "_");
    button.dataset.filename = name;
    // Many buttons say "Save PNG": their names say which picture each saves.
    button.setAttribute("aria-label", `Save PNG: ${name}`);
    button.title = canvas.exportPng ? `Save this picture as ${name}, enlarged with its colour bar as convscope explain --png writes it` : `Save this picture as ${name}`;
    button.addEventListener("click", () => savePng(canvas, name));
    // Under a colour bar's labels rather than between bar and labels.
    (canvas.closest("figure.colour-bar") ?? canvas).after(button);
  });
}

export function savePng(canvas, filename) {
  if (canvas.exportPng) download(new Blob([canvas.exportPng], { type: "image/png" }), filename);
  else canvas.toBlob((blob) => blob && download(blob, filename), "image/png");
}

function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
