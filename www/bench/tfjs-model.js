// A VGG network in TensorFlow.js ops (NHWC, the layout its wasm backend/XNNPACK wants),
// with the synthetic weights; uses the global `tf` of the UMD bundles bench.html loads.
import { fill, paramSpecs } from "./synthetic.js";

// torchvision conv weight [out, in, 3, 3] -> TF filter [3, 3, in, out].
function toHwio(w, out, inC) {
  const f = new Float32Array(w.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inC; i++) {
      for (let k = 0; k < 9; k++) f[(k * inC + i) * out + o] = w[(o * inC + i) * 9 + k];
    }
  }
  return f;
}

// Returns { predict(xNchw: Float32Array) -> Float32Array logits, dispose() }.
export function vggTfjs(tf, cfg, seed, head) {
  const specs = paramSpecs(cfg, head);
  let t = 0;
  const next = () => {
    const spec = specs[t];
    const data = fill(seed, t, spec, new Float32Array(spec.shape.reduce((a, b) => a * b, 1)));
    t += 1;
    return { spec, data };
  };
  const layers = [];
  for (const item of cfg) {
    if (item === "M") {
      layers.push({ pool: true });
    } else {
      const w = next();
      const b = next();
      const [out, inC] = w.spec.shape;
      layers.push({ filter: tf.tensor4d(toHwio(w.data, out, inC), [3, 3, inC, out]), bias: tf.tensor1d(b.data) });
    }
  }
  const dense = [0, 1, 2].map(() => {
    const w = next();
    const b = next();
    // Stored [in, out]: tfjs-backend-wasm 4.22's fused matMul gets transposeB wrong.
    const weight = tf.tidy(() => tf.tensor2d(w.data, w.spec.shape).transpose());
    return { weight, bias: tf.tensor1d(b.data) };
  });
  const size = head.size;
  const predict = (xNchw) =>
    tf.tidy(() => {
      let x = tf.tensor4d(xNchw, [1, head.inChannels, size, size]).transpose([0, 2, 3, 1]);
      for (const l of layers) {
        x = l.pool ? tf.maxPool(x, 2, 2, "valid") : tf.fused.conv2d({ x, filter: l.filter, strides: 1, pad: "same", bias: l.bias, activation: "relu" });
      }
      // torchvision flattens C, H, W; AdaptiveAvgPool2d(7) is the identity at 224 px.
      x = x.transpose([0, 3, 1, 2]).reshape([1, -1]);
      for (const [i, d] of dense.entries()) {
        x = tf.fused.matMul({ a: x, b: d.weight, bias: d.bias, activation: i < 2 ? "relu" : "linear" });
      }
      return x;
    });
  return {
    predict(xNchw) {
      const y = predict(xNchw);
      const v = y.dataSync();
      y.dispose();
      return v;
    },
    dispose() {
      for (const l of layers) if (!l.pool) tf.dispose([l.filter, l.bias]);
      for (const d of dense) tf.dispose([d.weight, d.bias]);
    },
  };
}
