// The 3D view's labels: HTML text over the canvas (crisp at any zoom, read by screen
// readers, measurable by tests), placed after each render by a collision pass: labels
// in order of importance, each at the first spot (its full text above or below its
// layer, then its short text) that overlaps no label already placed and stays inside
// the canvas (slid in from its edge); a label with no such spot is hidden. Zoomed out, the block names and ends
// stay; zoomed in, every layer gets its name.

const FONT = "600 12px system-ui, sans-serif";
const LINE = 16; // px per line of text
const PAD = 4; // px of padding left and right, inside the box
const GAP = 3; // px kept free between two labels, and between a label and its anchor

let measurer;
function textWidth(text) {
  measurer ??= document.createElement("canvas").getContext("2d");
  measurer.font = FONT;
  return Math.ceil(Math.max(...text.split("\n").map((line) => measurer.measureText(line).width)));
}

export class LabelLayer {
  constructor(container) {
    this.root = document.createElement("div");
    this.root.className = "labels3d";
    Object.assign(this.root.style, { position: "absolute", left: "0", top: "0", width: "100%", height: "100%", pointerEvents: "none", overflow: "hidden" });
    container.append(this.root);
    this.labels = [];
  }

  /**
   * `spec`: {texts: [full, short?], priority, rank (ties: lower first), anchors:
   * {above?, below?, right?} (world points), order: the sides to try, centre? (the
   * layer's, world), colour?, firstColour?, data: {name: value} for data-*}.
   */
  add(spec) {
    const element = document.createElement("div");
    element.dataset.testid = "label3d";
    for (const [k, v] of Object.entries(spec.data ?? {})) element.dataset[k] = String(v);
    Object.assign(element.style, {
      position: "absolute",
      left: "0",
      top: "0",
      font: FONT,
      lineHeight: `${LINE}px`,
      padding: `0 ${PAD}px`,
      boxSizing: "border-box",
      whiteSpace: "pre",
      color: spec.colour ?? "#1b1b1f",
      background: "rgba(244, 245, 248, 0.82)",
      borderRadius: "3px",
    });
    element.hidden = true;
    this.root.append(element);
    const sizes = spec.texts.map((t) => ({ text: t, width: textWidth(t) + 2 * PAD, height: LINE * t.split("\n").length }));
    const label = { ...spec, element, sizes, selected: false };
    this.labels.push(label);
    return label;
  }

  clear() {
    this.root.replaceChildren();
    this.labels = [];
  }

  /** Places every label for `camera`, on a canvas `width` x `height` CSS px. */
  place(camera, width, height) {
    const placed = [];
    // Where each layer's centre falls on the canvas (tests check the axis with it).
    for (const label of this.labels) {
      if (!label.centre) continue;
      const p = label.centre.clone().project(camera);
      label.element.dataset.cx = (((p.x + 1) / 2) * width).toFixed(1);
      label.element.dataset.cy = (((1 - p.y) / 2) * height).toFixed(1);
    }
    const order = [...this.labels].sort((a, b) => b.selected - a.selected || b.priority - a.priority || a.rank - b.rank);
    for (const label of order) {
      const spot = this.spotFor(label, camera, width, height, placed);
      const { element } = label;
      label.spot = spot;
      if (!spot) {
        element.hidden = true;
        continue;
      }
      placed.push(spot);
      if (element.dataset.text !== spot.text) show(element, spot.text, label.firstColour);
      element.style.width = `${spot.w}px`;
      element.style.height = `${spot.h}px`;
      element.style.transform = `translate(${Math.round(spot.x)}px, ${Math.round(spot.y)}px)`;
      element.style.outline = label.selected ? "2px solid #3b6fd4" : "";
      element.dataset.side = spot.side;
      element.hidden = false;
    }
  }

  /** Draws the shown labels on a 2D context whose pixels are `scale` CSS px (a saved PNG). */
  drawOn(ctx, scale) {
    for (const label of this.labels) {
      const spot = label.spot;
      if (!spot) continue;
      ctx.fillStyle = "rgba(244, 245, 248, 0.82)";
      ctx.fillRect(Math.round(spot.x) * scale, Math.round(spot.y) * scale, spot.w * scale, spot.h * scale);
      ctx.font = FONT.replace("12px", `${12 * scale}px`);
      ctx.textBaseline = "middle";
      spot.text.split("\n").forEach((line, k) => {
        ctx.fillStyle = k === 0 && label.firstColour ? label.firstColour : (label.colour ?? "#1b1b1f");
        ctx.fillText(line, (Math.round(spot.x) + PAD) * scale, (Math.round(spot.y) + LINE * (k + 0.5)) * scale);
      });
    }
  }

  spotFor(label, camera, width, height, placed) {
    for (const size of label.sizes) {
      for (const side of label.order) {
        const world = label.anchors[side];
        if (!world) continue;
        const p = world.clone().project(camera);
        if (p.z < -1 || p.z > 1) continue;
        const ax = ((p.x + 1) / 2) * width;
        const ay = ((1 - p.y) / 2) * height;
        const box = { w: size.width, h: size.height, text: size.text, side };
        if (side === "above") Object.assign(box, { x: ax - size.width / 2, y: ay - GAP - size.height });
        else if (side === "below") Object.assign(box, { x: ax - size.width / 2, y: ay + GAP });
        else Object.assign(box, { x: ax + GAP, y: ay - size.height / 2 });
        // A layer on the canvas keeps its label on it, slid in from the edge if need be.
        if (ax < 0 || ay < 0 || ax > width || ay > height || box.w > width || box.h > height) continue;
        box.x = Math.min(Math.max(box.x, 0), width - box.w);
        box.y = Math.min(Math.max(box.y, 0), height - box.h);
        if (!placed.some((o) => overlaps(o, box))) return box;
      }
    }
    return null;
  }
}

/** Sets the label's text; with `firstColour`, its first line in that colour. */
function show(element, text, firstColour) {
  element.dataset.text = text;
  if (!firstColour) {
    element.textContent = text;
    return;
  }
  const [first, ...rest] = text.split("\n");
  const head = document.createElement("span");
  head.style.color = firstColour;
  head.textContent = first;
  element.replaceChildren(head, ...(rest.length ? ["\n" + rest.join("\n")] : []));
}

function overlaps(a, b) {
  return a.x < b.x + b.w + GAP && b.x < a.x + a.w + GAP && a.y < b.y + b.h + GAP && b.y < a.y + a.h + GAP;
}
