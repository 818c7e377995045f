// A picture enlarged: clicking a map (or Enter on it) opens a copy in a dialog, as large
// as the window allows (90vmin), with square pixels; Escape or Close closes it and focus
// goes back to the picture. The copy reads out the same numbers as the picture when it
// has a readout (draw/readout.js). One dialog for the page, made on first use.
import { readout } from "./readout.js";

let dialog = null;

/** Makes `canvas` open enlarged on click and on Enter (it takes focus for that). */
export function enlargeable(canvas) {
  canvas.tabIndex = 0;
  canvas.classList.add("enlargeable");
  canvas.title = "Click (or Enter) to enlarge";
  canvas.addEventListener("click", () => enlarge(canvas));
  canvas.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    enlarge(canvas);
  });
  return canvas;
}

/** Opens the dialog with a copy of `source` as it is now. */
export function enlarge(source) {
  const d = dialog ?? (dialog = makeDialog());
  const copy = document.createElement("canvas");
  copy.width = source.width;
  copy.height = source.height;
  copy.getContext("2d").drawImage(source, 0, 0);
  copy.className = "enlarged-picture";
  copy.dataset.testid = "enlarged-picture";
  copy.setAttribute("role", "img");
  const label = source.getAttribute("aria-label") ?? "The picture";
  copy.setAttribute("aria-label", `${label} (enlarged)`);
  const title = d.querySelector("h2");
  title.textContent = label;
  const slot = d.querySelector(".enlarged-slot");
  slot.replaceChildren(copy);
  if (source.readoutSpec) slot.append(readout(copy, { ...source.readoutSpec, onEnter: undefined, testid: "enlarged-readout" }));
  d.opener = source;
  d.showModal();
  copy.focus();
}

function makeDialog() {
  const d = document.createElement("dialog");
  d.className = "enlarged";
  d.dataset.testid = "enlarged";
  d.setAttribute("aria-labelledby", "enlarged-title");
  const title = document.createElement("h2");
  title.id = "enlarged-title";
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "Close";
  close.dataset.testid = "enlarged-close";
  close.addEventListener("click", () => d.close());
  const head = document.createElement("div");
  head.className = "enlarged-head";
  head.append(title, close);
  const slot = document.createElement("div");
  slot.className = "enlarged-slot";
  d.append(head, slot);
  // A click on the backdrop (outside the dialog's box) closes it too.
  d.addEventListener("click", (event) => {
    if (event.target === d) d.close();
  });
  // Escape closes a modal dialog by itself; focus then goes back to the picture.
  d.addEventListener("close", () => {
    d.querySelector(".enlarged-slot").replaceChildren();
    if (d.opener?.isConnected) d.opener.focus();
    d.opener = null;
  });
  document.body.append(d);
  return d;
}
