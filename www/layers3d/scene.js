// The 3D layer view, drawing only (TensorSpace's idea): each layer is a slab placed
// along the network's axis, sized by its output shape; collapsed it shows one aggregate
// map (the mean over channels), expanded its channels as a grid of maps. Hover reports
// layer, channel, position and value; an orbit camera moves around. Knows nothing of
// the worker or the page's controls: it gets numbers and the pictures the core drew
// (each layer's `slab`, and each open layer's channel grid from `gridFor`), and reports
// what is under the pointer. Graphs are laid out by layout.js (branches in lanes below
// the main path, drawn with their connections); labels are HTML, placed by labels.js so
// that none covers another; the arrow keys move a selection (keys.js).
import * as THREE from "../vendor/three/three.module.js";
import { OrbitControls } from "../vendor/three/OrbitControls.js";
import { layoutLayers } from "./layout.js";
import { LabelLayer } from "./labels.js";
import { neighbour } from "./keys.js";

const GAP = 4; // space between layers along the axis
const BIG = 12; // side of the input picture, in scene units
const FOV = 24; // vertical field of view of the full-height canvas, in degrees
const LANE_GAP = 2.5; // space between the main path and a branch beside it
const EDGE = 0x6b7aa6; // connections between layers
const JOIN_EDGE = 0xc25b12; // the outline of a layer where branches join

/**
 * A layer to draw: {name, title, type, shape: [C,H,W] | [F], data: Float32Array,
 * picture?: {rgba, width, height} (the input), slab?: {rgba, width, height} (the
 * collapsed layer's face: the channel mean of maps, or a vector's units folded into a
 * near-square), mean?: Float32Array (that channel mean, for hovering), labels?: [{label,
 * prob}]}. `gridFor(index)` answers a layer's channels as one picture ({rgba, width,
 * height, layout}) when it is opened.
 */
export class LayerScene {
  constructor(container, { gridFor, onHover = () => {}, onToggle = () => {}, onSelect = () => {} }) {
    this.container = container;
    this.gridFor = gridFor;
    this.grids = new Map();
    this.onHover = onHover;
    this.onToggle = onToggle;
    this.onSelect = onSelect;
    this.selected = -1;
    this.nodeLabels = [];
    this.layers = [];
    this.expanded = new Set();
    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    this.renderer.setClearColor(0xf4f5f8);
    this.canvas = this.renderer.domElement;
    container.append(this.canvas);
    this.labelLayer = new LabelLayer(container);
    this.scene = new THREE.Scene();
    // A narrow field of view: far layers stay readable (almost an axonometric view).
    this.camera = new THREE.PerspectiveCamera(FOV, 1, 0.1, 5000);
    this.controls = new OrbitControls(this.camera, this.canvas);
    this.controls.addEventListener("change", () => this.render());
    this.raycaster = new THREE.Raycaster();
    this.pointer = new THREE.Vector2();
    this.group = new THREE.Group();
    this.scene.add(this.group);
    this.onMove = (e) => this.hover(e);
    this.onLeave = (e) => this.onHover(null, e);
    this.onClick = (e) => this.click(e);
    this.canvas.addEventListener("pointermove", this.onMove);
    this.canvas.addEventListener("pointerleave", this.onLeave);
    this.canvas.addEventListener("click", this.onClick);
    // The keyboard: the stage takes focus; arrows select, Enter opens, Escape leaves.
    this.onKey = (e) => this.key(e);
    container.tabIndex = 0;
    container.addEventListener("keydown", this.onKey);
    // The stage may have no width yet when the scene is first framed (the panel shows
    // once the view is done): frame again on resizing, until the visitor moves the camera.
    this.controls.addEventListener("start", () => (this.moved = true));
    this.resizeObserver = new ResizeObserver(() => (this.moved || !this.layout ? this.resize() : this.frame()));
    this.resizeObserver.observe(container);
  }

  /** Builds the scene for `layers`; expanded layers (by index) open to their channels. */
  async assemble(layers, expanded = []) {
    this.layers = layers;
    await this.loadGrids(expanded);
    this.expanded = new Set(expanded);
    this.rebuild();
    this.frame();
  }

  isExpanded(i) {
    return this.expanded.has(i);
  }

  async toggle(i, open = !this.expanded.has(i)) {
    if (open) await this.loadGrids([i]);
    if (open) this.expanded.add(i);
    else this.expanded.delete(i);
    this.rebuild();
    this.render();
    this.onToggle(i, open);
  }

  async setAll(open) {
    // Maps only: the input is a picture, not a layer the worker knows.
    const all = open ? this.layers.map((_, i) => i).filter((i) => this.layers[i].shape.length === 3 && !this.layers[i].picture) : [];
    await this.loadGrids(all);
    this.expanded = new Set(all);
    this.rebuild();
    this.frame();
  }

  /** Asks for the channel grids of layers `indices` not drawn yet. */
  async loadGrids(indices) {
    for (const i of indices) if (!this.grids.has(i)) this.grids.set(i, await this.gridFor(i));
  }

  rebuild() {
    for (const child of [...this.group.children]) disposeTree(child);
    this.group.clear();
    this.labelLayer.clear();
    this.nodeLabels = [];
    const layout = layoutLayers(this.layers);
    this.layout = layout;
    const nodes = layout.nodes;
    this.objects = this.layers.map((layer, i) => this.layerObject(layer, i, nodes[i]));
    const boxes = this.objects.map((o) => new THREE.Box3().setFromObject(o));
    // Columns along -z, each as deep as its deepest layer (a chain: one layer each).
    const colDepth = new Array(layout.columns).fill(0);
    nodes.forEach((n, i) => (colDepth[n.column] = Math.max(colDepth[n.column], boxes[i].max.z - boxes[i].min.z)));
    const front = [];
    let z = 0;
    colDepth.forEach((d, c) => {
      front[c] = z;
      z -= d + GAP;
    });
    // A branch hangs below the main layers of the columns it spans (and one either side,
    // where it leaves and joins), clear of them by LANE_GAP.
    const half = (i) => (boxes[i].max.y - boxes[i].min.y) / 2;
    const ys = this.layers.map(() => 0);
    const groups = new Map();
    nodes.forEach((n, i) => {
      if (!n.main) groups.set(n.group, [...(groups.get(n.group) ?? []), i]);
    });
    for (const members of groups.values()) {
      const lo = Math.min(...members.map((i) => nodes[i].column)) - 1;
      const hi = Math.max(...members.map((i) => nodes[i].column)) + 1;
      let mainHalf = 0;
      nodes.forEach((n, i) => {
        if (n.main && n.column >= lo && n.column <= hi) mainHalf = Math.max(mainHalf, half(i));
      });
      const branchHalf = Math.max(...members.map(half));
      for (const i of members) {
        const k = -nodes[i].lane; // 1: the first lane below
        ys[i] = -(mainHalf + LANE_GAP + branchHalf + (k - 1) * (2 * branchHalf + LANE_GAP));
      }
    }
    this.objects.forEach((object, i) => {
      const n = nodes[i];
      const depth = boxes[i].max.z - boxes[i].min.z;
      object.position.set(0, ys[i], front[n.column] - (colDepth[n.column] - depth) / 2 - boxes[i].max.z);
      boxes[i].translate(object.position);
      this.group.add(object);
    });
    this.boxes = boxes;
    // Connections only where there is a graph: a chain reads without them.
    if (nodes.some((n) => !n.main || n.preds.length > 1)) this.group.add(connections(nodes, boxes, front, colDepth));
    this.layers.forEach((layer, i) => this.addLabels(layer, i, boxes[i], nodes[i]));
    this.group.updateMatrixWorld(true);
    this.container.dataset.open = String(this.expanded.size); // how many layers show their channels
    if (this.selected >= this.layers.length) this.selected = -1;
    this.highlightSelected();
  }

  /** The layer's name (full and short), and the top classes beside the output. */
  addLabels(layer, i, box, node) {
    const centre = box.getCenter(new THREE.Vector3());
    const above = new THREE.Vector3(centre.x, box.max.y + 0.3, centre.z);
    const below = new THREE.Vector3(centre.x, box.min.y - 0.3, centre.z);
    const ends = i === 0 || i === this.layers.length - 1;
    // The ends first, then the blocks and joins a reader navigates by, then the rest.
    const priority = ends ? 90 : layer.block || layer.join ? 50 : node.main ? 30 : 20;
    const full = layer.title ?? layer.name;
    const texts = layer.short && layer.short !== full ? [full, layer.short] : [full];
    // A main-path name below its layer would read as the branch's where one runs
    // beside it: there, above only.
    const branchNear = this.layout.nodes.some((m) => m.lane < 0 && Math.abs(m.column - node.column) <= 1);
    const order = node.lane < 0 ? ["below", "above"] : branchNear ? ["above"] : ["above", "below"];
    this.nodeLabels[i] = this.labelLayer.add({
      texts,
      priority,
      rank: i,
      anchors: { above, below },
      centre,
      order,
      data: { name: layer.name, lane: node.lane, main: node.main ? 1 : 0, column: node.column, joins: node.preds.length, wy: centre.y.toFixed(3) },
    });
    if (layer.labels) {
      const text = layer.labels.map((p) => `${p.label} ${(p.prob * 100).toFixed(1)}%`).join("\n");
      const right = new THREE.Vector3(box.max.x, centre.y, box.min.z - 0.5);
      this.labelLayer.add({ texts: [text], priority: 85, rank: i, anchors: { right, below }, order: ["right", "below"], firstColour: "#a40000", data: { name: "top classes" } });
    }
  }

  layerObject(layer, index) {
    const object = new THREE.Group();
    object.userData = { index };
    const side = this.sideOf(layer);
    if (layer.picture) {
      const { rgba, width, height } = layer.picture;
      const texture = textureFromRgba(rgba, width, height);
      const mesh = new THREE.Mesh(new THREE.PlaneGeometry(side * (width / height), side), new THREE.MeshBasicMaterial({ map: texture, side: THREE.DoubleSide }));
      mesh.userData = { index, kind: "picture" };
      object.add(mesh);
    } else if (layer.shape.length === 3 && this.expanded.has(index)) {
      const grid = this.grids.get(index);
      const texture = textureFromRgba(grid.rgba, grid.width, grid.height);
      const [, h, w] = layer.shape;
      // Scene units per map pixel: maps at their closed size, unless the grid would
      // then be more than twice as wide as the closed layer.
      const unit = Math.min(side / Math.max(h, w), (2 * side) / Math.max(grid.width, grid.height));
      const width = grid.width * unit;
      const height = grid.height * unit;
      const material = new THREE.MeshBasicMaterial({ map: texture, side: THREE.DoubleSide, transparent: true, alphaTest: 0.5 });
      const mesh = new THREE.Mesh(new THREE.PlaneGeometry(width, height), material);
      mesh.userData = { index, kind: "grid", grid };
      object.add(mesh);
    } else {
      const { rgba, width: mw, height: mh } = layer.slab;
      const texture = textureFromRgba(rgba, mw, mh);
      // Depth grows with the channels; a vector is one flat sheet of its units.
      const thickness = layer.shape.length === 3 ? 0.3 + 0.35 * Math.log2(layer.shape[0] || 1) : 0.3;
      const sx = side * (mw / Math.max(mw, mh));
      const sy = side * (mh / Math.max(mw, mh));
      const plain = new THREE.MeshBasicMaterial({ color: 0x9aa7c7 });
      const face = new THREE.MeshBasicMaterial({ map: texture });
      // BoxGeometry faces: +x, -x, +y, -y, +z (front, toward the input), -z.
      const mesh = new THREE.Mesh(new THREE.BoxGeometry(sx, sy, thickness), [plain, plain, plain, plain, face, face]);
      mesh.userData = { index, kind: "slab", size: [mw, mh] };
      object.add(mesh);
      if (!layer.join) edges(object, 0x3d4660);
    }
    if (layer.join) edges(object, JOIN_EDGE);
    return object;
  }

  /** Side of a layer's maps in scene units: grows with the square root of the size. */
  sideOf(layer) {
    const inputSide = this.layers[0]?.shape?.[2] ?? 224;
    if (layer.picture) return BIG;
    if (layer.shape.length === 3) return Math.max(1.2, BIG * Math.sqrt(layer.shape[2] / inputSide));
    return Math.max(1.2, Math.min(BIG * 0.66, Math.sqrt(layer.shape[0]) * 0.15));
  }

  /** Puts the camera where the whole network is in view. */
  frame() {
    // A long, flat network (ResNet, MobileNet) fills the width with room to spare above
    // and below: the canvas then loses that spare height (down to 320 px).
    this.shortBy = null;
    this.resize();
    const used = this.fit();
    const height = Math.max(320, Math.round((this.size[1] * used) / 0.8));
    if (height < this.size[1] - 16) {
      this.shortBy = height;
      this.resize();
      this.fit();
    }
    this.render();
  }

  /**
   * From the right, a little above and in front of the input side, so the maps' faces
   * show; far enough that the layers (each one's own corners, tighter than the whole
   * box's seen at an angle) span 92% of the canvas's width or 88% of its height,
   * whichever binds, leaving on the right the width of the top classes' label. Answers
   * the fraction of the height the layers take.
   */
  fit() {
    const direction = new THREE.Vector3(1, 0.4, 0.6).normalize();
    const right = new THREE.Vector3().crossVectors(new THREE.Vector3(0, 1, 0), direction).normalize();
    const up = new THREE.Vector3().crossVectors(direction, right);
    const box = new THREE.Box3().setFromObject(this.group);
    const centre = box.getCenter(new THREE.Vector3());
    const points = () => (this.boxes ?? [box]).flatMap(corners);
    const side = this.labelLayer.labels.find((l) => l.anchors.right)?.sizes[0].width ?? 0;
    const reserve = side ? (2 * (side + 12)) / this.size[0] : 0; // in NDC units
    const tanV = Math.tan(THREE.MathUtils.degToRad(this.camera.fov) / 2);
    const tanH = tanV * this.camera.aspect;
    const size = box.getSize(new THREE.Vector3());
    let distance = Math.max(size.x, size.y, size.z) / tanV;
    let used = 1;
    // A few rounds of: look, measure the picture in perspective, recentre and rescale.
    for (let k = 0; k < 5; k++) {
      this.placeCamera(centre, direction, distance);
      const ndc = points().map((c) => c.project(this.camera));
      const [x0, x1] = [Math.min(...ndc.map((p) => p.x)), Math.max(...ndc.map((p) => p.x))];
      const [y0, y1] = [Math.min(...ndc.map((p) => p.y)), Math.max(...ndc.map((p) => p.y))];
      const shiftX = ((x0 + x1) / 2 + reserve / 2) * tanH * distance;
      const shiftY = ((y0 + y1) / 2) * tanV * distance;
      centre.addScaledVector(right, shiftX).addScaledVector(up, shiftY);
      const scale = Math.max((x1 - x0) / (1.84 - reserve), (y1 - y0) / 1.76);
      distance *= scale;
      used = (y1 - y0) / 2 / scale;
    }
    this.placeCamera(centre, direction, distance);
    this.controls.target.copy(centre);
    this.controls.update();
    return used;
  }

  placeCamera(centre, direction, distance) {
    this.camera.position.copy(centre).addScaledVector(direction, distance);
    this.camera.near = distance / 100;
    this.camera.far = distance * 10;
    this.camera.lookAt(centre);
    this.camera.updateMatrixWorld();
    this.camera.updateProjectionMatrix();
  }

  resize() {
    const width = this.container.clientWidth || 640;
    const full = Math.round(Math.max(320, Math.min(640, width * 0.6)));
    const height = Math.min(this.shortBy ?? Infinity, full);
    this.size = [width, height];
    // A shortened canvas keeps the horizontal field of view (a wider one would show the
    // layers at the edges edge-on): the vertical one shrinks with the height.
    this.camera.fov = THREE.MathUtils.radToDeg(2 * Math.atan(Math.tan(THREE.MathUtils.degToRad(FOV / 2)) * (height / full)));
    this.renderer.setSize(width, height);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.render();
  }

  render() {
    this.renderer.render(this.scene, this.camera);
    if (this.size) this.labelLayer.place(this.camera, ...this.size);
  }

  /** PNG bytes of the picture with its labels (they are HTML, not in the canvas). */
  pngWithLabels() {
    this.render();
    const out = document.createElement("canvas");
    out.width = this.canvas.width;
    out.height = this.canvas.height;
    const ctx = out.getContext("2d");
    ctx.drawImage(this.canvas, 0, 0);
    this.labelLayer.drawOn(ctx, out.width / this.size[0]);
    const base64 = out.toDataURL("image/png").split(",")[1];
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }

  /** Selects layer `i` (-1: none): outlined, its label kept, told to `onSelect`. */
  select(i) {
    this.selected = i;
    this.highlightSelected();
    // A layer chosen off the canvas (zoomed in) is brought to its middle: the camera
    // moves with the orbit's centre, at once (no animation to sit through).
    if (i >= 0) {
      const centre = this.boxes[i].getCenter(new THREE.Vector3());
      const p = centre.clone().project(this.camera);
      if (Math.abs(p.x) > 1 || Math.abs(p.y) > 1 || p.z > 1) {
        const shift = centre.sub(this.controls.target);
        this.controls.target.add(shift);
        this.camera.position.add(shift);
        this.controls.update();
      }
    }
    this.render();
    this.onSelect(i >= 0 ? { index: i, layer: this.layers[i], open: this.expanded.has(i), node: this.layout.nodes[i] } : null);
  }

  highlightSelected() {
    if (this.highlight) {
      this.scene.remove(this.highlight);
      this.highlight.geometry.dispose();
      this.highlight.material.dispose();
      this.highlight = null;
    }
    this.nodeLabels.forEach((l, i) => (l.selected = i === this.selected));
    if (this.selected >= 0) {
      this.highlight = new THREE.BoxHelper(this.objects[this.selected], 0x3b6fd4);
      this.scene.add(this.highlight);
    }
  }

  /** Arrows move the selection, Enter or Space opens (or closes) it, Escape lets go. */
  key(event) {
    // Keys meant for a control inside the stage (its Save PNG button) stay theirs.
    if (!this.layout || event.target !== this.container) return;
    const i = this.selected;
    if (["ArrowRight", "ArrowLeft", "ArrowUp", "ArrowDown", "Home", "End"].includes(event.key)) {
      event.preventDefault();
      this.select(i < 0 ? 0 : neighbour(this.layout.nodes, i, event.key));
    } else if ((event.key === "Enter" || event.key === " ") && i >= 0) {
      event.preventDefault();
      const layer = this.layers[i];
      if (layer.shape.length === 3 && !layer.picture) {
        this.toggle(i)
          .then(() => this.select(i))
          .catch((err) => console.warn("could not open the layer", err));
      } else this.select(i);
    } else if (event.key === "Escape" && i >= 0) {
      this.select(-1);
    }
  }

  pick(event) {
    const rect = this.canvas.getBoundingClientRect();
    this.pointer.set(((event.clientX - rect.left) / rect.width) * 2 - 1, -((event.clientY - rect.top) / rect.height) * 2 + 1);
    this.raycaster.setFromCamera(this.pointer, this.camera);
    const hit = this.raycaster.intersectObjects(this.group.children, true).find((h) => h.object.userData?.kind);
    return hit ?? null;
  }

  /** What is under the pointer: {layer, channel?, x?, y?, value?}. */
  describe(hit) {
    const { index, kind } = hit.object.userData;
    const layer = this.layers[index];
    const info = { index, layer };
    const uv = hit.uv;
    if (!uv) return info;
    if (kind === "picture") {
      const { rgba, width, height } = layer.picture;
      const x = Math.min(width - 1, Math.floor(uv.x * width));
      const y = Math.min(height - 1, Math.floor((1 - uv.y) * height));
      Object.assign(info, { x, y, rgb: Array.from(rgba.subarray(4 * (y * width + x), 4 * (y * width + x) + 3)) });
    } else if (kind === "grid") {
      const { grid } = hit.object.userData;
      const px = Math.floor(uv.x * grid.width);
      const py = Math.floor((1 - uv.y) * grid.height);
      const [, h, w] = layer.shape;
      const { columns, gap, margin } = grid.layout;
      const col = Math.floor((px - margin) / (w + gap));
      const row = Math.floor((py - margin) / (h + gap));
      const x = px - margin - col * (w + gap);
      const y = py - margin - row * (h + gap);
      const channel = row * columns + col;
      if (x < w && y < h && channel < layer.shape[0]) {
        Object.assign(info, { channel, x, y, value: layer.data[channel * h * w + y * w + x] });
      }
    } else if (kind === "slab" && (hit.face?.materialIndex ?? 4) >= 4) {
      const [mw, mh] = hit.object.userData.size;
      const x = Math.min(mw - 1, Math.floor(uv.x * mw));
      const y = Math.min(mh - 1, Math.floor((1 - uv.y) * mh));
      if (layer.shape.length === 3) Object.assign(info, { x, y, value: layer.mean[y * mw + x], aggregate: "mean over channels" });
      else {
        const unit = y * mw + x;
        if (unit < layer.shape[0]) Object.assign(info, { unit, value: layer.data[unit] });
      }
    }
    return info;
  }

  hover(event) {
    const hit = this.pick(event);
    this.onHover(hit ? this.describe(hit) : null, event);
  }

  click(event) {
    const hit = this.pick(event);
    const layer = hit && this.layers[hit.object.userData.index];
    if (layer && layer.shape.length === 3 && !layer.picture) {
      this.toggle(hit.object.userData.index).catch((err) => console.warn("could not open the layer", err));
    }
  }

  dispose() {
    this.resizeObserver.disconnect();
    this.canvas.removeEventListener("pointermove", this.onMove);
    this.canvas.removeEventListener("pointerleave", this.onLeave);
    this.canvas.removeEventListener("click", this.onClick);
    this.container.removeEventListener("keydown", this.onKey);
    this.labelLayer.root.remove();
    this.controls.dispose();
    for (const child of [...this.group.children]) disposeTree(child);
    this.renderer.dispose();
    this.renderer.forceContextLoss();
    this.canvas.remove();
  }
}

function corners(box) {
  const out = [];
  for (const x of [box.min.x, box.max.x]) for (const y of [box.min.y, box.max.y]) for (const z of [box.min.z, box.max.z]) out.push(new THREE.Vector3(x, y, z));
  return out;
}

/** Outlines the first mesh of a layer's object in `colour`. */
function edges(object, colour) {
  const [mesh] = object.children;
  object.add(new THREE.LineSegments(new THREE.EdgesGeometry(mesh.geometry), new THREE.LineBasicMaterial({ color: colour })));
}

/**
 * The lines from each layer to those it reads, in the plane x = 0: straight along a
 * lane; leaving the main path, down in the gap after the source; joining it, up in the
 * gap before the join; a skip past layers of its own lane (an identity shortcut,
 * DenseNet's earlier layers) under them, lower the longer it is, so skips nest.
 */
function connections(nodes, boxes, front, colDepth) {
  const points = [];
  const mid = (i) => (boxes[i].max.y + boxes[i].min.y) / 2;
  const after = (i) => front[nodes[i].column] - colDepth[nodes[i].column] - GAP / 2;
  const before = (i) => front[nodes[i].column] + GAP / 2;
  nodes.forEach((n, v) => {
    for (const u of n.preds) {
      const a = new THREE.Vector3(0, mid(u), boxes[u].min.z);
      const b = new THREE.Vector3(0, mid(v), boxes[v].max.z);
      const path = [a];
      const passed = [];
      nodes.forEach((m, j) => {
        if (m.lane === n.lane && m.column > nodes[u].column && m.column < n.column) passed.push(j);
      });
      if (nodes[u].lane !== n.lane) {
        const z = n.lane === 0 ? before(v) : after(u);
        path.push(new THREE.Vector3(0, a.y, z), new THREE.Vector3(0, b.y, z));
      } else if (passed.length) {
        const span = n.column - nodes[u].column;
        const y = Math.min(...passed.map((j) => boxes[j].min.y)) - 1 - 0.25 * Math.min(span, 24);
        const z0 = after(u);
        const z1 = before(v);
        path.push(new THREE.Vector3(0, a.y, z0), new THREE.Vector3(0, y, z0), new THREE.Vector3(0, y, z1), new THREE.Vector3(0, b.y, z1));
      }
      path.push(b);
      for (let k = 1; k < path.length; k++) points.push(path[k - 1], path[k]);
    }
  });
  return new THREE.LineSegments(new THREE.BufferGeometry().setFromPoints(points), new THREE.LineBasicMaterial({ color: EDGE }));
}

/** A texture from top-down RGBA rows (GL wants bottom-up: flipY on upload). */
function textureFromRgba(rgba, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  const texture = new THREE.CanvasTexture(canvas);
  texture.magFilter = THREE.NearestFilter;
  texture.colorSpace = THREE.SRGBColorSpace;
  return texture;
}

function disposeTree(object) {
  object.traverse((o) => {
    o.geometry?.dispose();
    const materials = Array.isArray(o.material) ? o.material : o.material ? [o.material] : [];
    for (const m of materials) {
      m.map?.dispose();
      m.dispose();
    }
  });
}
