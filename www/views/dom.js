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
