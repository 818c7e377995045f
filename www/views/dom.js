// A tiny element builder: el("td", {className: "num"}, "42").
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "on") for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...[children].flat().filter((c) => c !== null && c !== undefined));
  return node;
}

/** A figure with a caption around `content`. */
export function figure(content, caption) {
  return el("figure", {}, [content, el("figcaption", {}, caption)]);
}

/**
 * Gives a picture (a canvas) its text alternative: what it shows, in words, for screen
 * readers (a canvas has none of its own). Answers the canvas.
 */
export function altText(canvas, text) {
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", text);
  return canvas;
}

/**
 * `content` (a wide table, a long listing) in a box that scrolls sideways by itself on a
 * narrow screen instead of the page. The box takes focus, so keyboard users can scroll it
 * too, and is named `label` for that.
 */
export function scrollBox(content, label) {
  return el("div", { className: "table-scroll", tabIndex: 0, role: "region", "aria-label": label }, content);
}
