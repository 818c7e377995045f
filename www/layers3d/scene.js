// The 3D layer view, drawing only (TensorSpace's idea): each layer is a slab placed
// along the network's axis, sized by its output shape; collapsed it shows one aggregate
// map (the mean over channels), expanded its channels as a grid of maps. Hover reports
// layer, channel, position and value; an orbit camera moves around. Knows nothing of
// the worker or the page's controls: it gets numbers and the pictures the core drew
// (each layer's `slab`, and each open layer's channel grid from `gridFor`), and reports
// what is under the pointer.
import * as THREE from "../vendor/three/three.module.js";
import { OrbitControls } from "../vendor/three/OrbitControls.js";

const GAP = 4; // space between layers along the axis
const BIG = 12; // side of the input picture, in scene units

/**
 * A layer to draw: {name, title, type, shape: [C,H,W] | [F], data: Float32Array,
 * picture?: {rgba, width, height} (the input), slab?: {rgba, width, height} (the
 * collapsed layer's face: the channel mean of maps, or a vector's units folded into a
 * near-square), mean?: Float32Array (that channel mean, for hovering), labels?: [{label,
 * prob}]}. `gridFor(index)` answers a layer's channels as one picture ({rgba, width,
 * height, layout}) when it is opened.
 */
export class LayerScene {
  constructor(container, { gridFor, onHover = () => {}, onToggle = () => {} }) {
    this.container = container;
    this.gridFor = gridFor;
    this.grids = new Map();
    this.onHover = onHover;
    this.onToggle = onToggle;
    this.layers = [];
    this.expanded = new Set();
    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    this.renderer.setClearColor(0xf4f5f8);
    this.canvas = this.renderer.domElement;
    container.append(this.canvas);
    this.scene = new THREE.Scene();
    // A narrow field of view: far layers stay readable (almost an axonometric view).
    this.camera = new THREE.PerspectiveCamera(24, 1, 0.1, 5000);
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
    this.resizeObserver = new ResizeObserver(() => this.resize());
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
    const all = open ? this.layers.map((_, i) => i).filter((i) => this.layers[i].shape.length === 3) : [];
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
    let z = 0;
    this.layers.forEach((layer, i) => {
      const object = this.layerObject(layer, i);
      const box = new THREE.Box3().setFromObject(object);
      const depth = box.max.z - box.min.z;
      object.position.z = z - box.max.z;
      z -= depth + GAP;
      this.group.add(object);
    });
  }

  layerObject(layer, index) {
    const object = new THREE.Group();
    object.userData = { index };
    const side = this.sideOf(layer);
    let top;
    if (layer.picture) {
      const { rgba, width, height } = layer.picture;
      const texture = textureFromRgba(rgba, width, height);
      const mesh = new THREE.Mesh(new THREE.PlaneGeometry(side * (width / height), side), new THREE.MeshBasicMaterial({ map: texture, side: THREE.DoubleSide }));
      mesh.userData = { index, kind: "picture" };
      object.add(mesh);
      top = side / 2;
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
      top = height / 2;
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
      const edges = new THREE.LineSegments(new THREE.EdgesGeometry(mesh.geometry), new THREE.LineBasicMaterial({ color: 0x3d4660 }));
      object.add(edges);
      top = sy / 2;
    }
    // Names alternate above and below, so neighbours' labels do not overlap.
    const label = textSprite(layer.title ?? layer.name, 1.3);
    label.position.set(0, index % 2 ? -top - 1.4 : top + 1.4, 0);
    object.add(label);
    if (layer.labels) {
      layer.labels.forEach((p, j) => {
        const s = textSprite(`${p.label} ${(p.prob * 100).toFixed(1)}%`, 1.2, j === 0 ? "#a40000" : "#1b1b1f");
        s.position.set(this.sideOf(layer) / 2 + 5, top - 0.6 - j * 1.5, 0);
        object.add(s);
      });
    }
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
    this.resize();
    const box = new THREE.Box3().setFromObject(this.group);
    const centre = box.getCenter(new THREE.Vector3());
    const size = box.getSize(new THREE.Vector3());
    // Far enough that the longest side fits the narrower field of view; from the right,
    // a little above and in front of the input side, so the maps' faces show.
    const span = Math.max(size.x, size.y, size.z);
    const fov = THREE.MathUtils.degToRad(this.camera.fov) * Math.min(1, this.camera.aspect);
    const distance = (span / 2 / Math.tan(fov / 2)) * 0.85 + 4;
    const direction = new THREE.Vector3(1, 0.4, 0.6).normalize();
    this.controls.target.copy(centre);
    this.camera.position.copy(centre).addScaledVector(direction, distance);
    this.camera.near = distance / 100;
    this.camera.far = distance * 10;
    this.camera.updateProjectionMatrix();
    this.controls.update();
    this.render();
  }

  resize() {
    const width = this.container.clientWidth || 640;
    const height = Math.round(Math.max(320, Math.min(640, width * 0.6)));
    this.renderer.setSize(width, height);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.render();
  }

  render() {
    this.renderer.render(this.scene, this.camera);
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
    if (hit && this.layers[hit.object.userData.index].shape.length === 3) {
      this.toggle(hit.object.userData.index).catch((err) => console.warn("could not open the layer", err));
    }
  }

  dispose() {
    this.resizeObserver.disconnect();
    this.canvas.removeEventListener("pointermove", this.onMove);
    this.canvas.removeEventListener("pointerleave", this.onLeave);
    this.canvas.removeEventListener("click", this.onClick);
    this.controls.dispose();
    for (const child of [...this.group.children]) disposeTree(child);
    this.renderer.dispose();
    this.renderer.forceContextLoss();
    this.canvas.remove();
  }
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

/** A camera-facing text label, `height` scene units tall. */
function textSprite(text, height, colour = "#1b1b1f") {
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d");
  const font = "600 40px system-ui, sans-serif";
  ctx.font = font;
  canvas.width = Math.ceil(ctx.measureText(text).width) + 16;
  canvas.height = 56;
  ctx.font = font;
  ctx.fillStyle = colour;
  ctx.textBaseline = "middle";
  ctx.fillText(text, 8, 28);
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: texture, depthTest: false }));
  sprite.scale.set((height * canvas.width) / canvas.height, height, 1);
  sprite.renderOrder = 1;
  return sprite;
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
