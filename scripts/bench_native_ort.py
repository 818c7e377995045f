"""Our engine against onnxruntime's native CPU build on the same model, weights and input,
timed alternately in one run (scripts/bench-native-ort.sh drives it).

For each architecture: our `graph_bench dump` writes the state dict, the graph spec and
the input with our logits; this script turns the spec into an ONNX model with the same
weights (node by node: Conv, BatchNormalization, Relu, Clip, Add, pools, Gemm), checks
that onnxruntime's logits equal ours, then runs two servers (our `graph_bench serve` and
an onnxruntime session in a child Python process), asks each for one run in turn, round
by round, and prints the medians of wall and process-CPU time, and each process's peak
RSS. onnxruntime has no reverse pass, so Grad-CAM is ours only.

Usage: bench_native_ort.py --bin PATH --work DIR [--runs N] [--threads 1,2] ARCH...
       bench_native_ort.py --serve-ort MODEL.onnx INPUT.safetensors THREADS   (internal)
"""

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import time

import numpy as np


def read_safetensors(path):
    """Every tensor of an f32 safetensors file, by name."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", f"{name}: {meta['dtype']}"
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a : 8 + n + b], dtype="<f4").reshape(meta["shape"])
    return out


def to_onnx(spec, weights, path):
    """The graph spec (our `GraphSpec` as JSON) as an ONNX model with `weights`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    used = set()

    def init(name):
        if name not in used:
            used.add(name)
            inits.append(numpy_helper.from_array(np.ascontiguousarray(weights[name]), name))
        return name

    def src(s):
        return "input" if s == "Input" else f"n{s['Node']}"

    def window_attrs(cfg):
        """ONNX's kernel_shape, strides and pads of a conv's or pool's sliding window."""
        ph, pw = cfg["padding"]
        return {"kernel_shape": list(cfg["kernel"]), "strides": list(cfg["stride"]), "pads": [ph, pw, ph, pw]}

    def const(name, value):
        inits.append(numpy_helper.from_array(np.array(value, dtype=np.float32), name))
        return name

    shapes = {}  # node id -> rank, enough to know when a Linear must flatten first
    for i, node in enumerate(spec["nodes"]):
        kind = node["kind"]
        ins = [src(s) for s in node["inputs"]]
        out = f"n{i}"
        p = node["params"]
        rank = 4 if node["inputs"][0] == "Input" else shapes[node["inputs"][0]["Node"]]
        shapes[i] = rank
        if isinstance(kind, str):
            name, cfg = kind, None
        else:
            ((name, cfg),) = kind.items()
        if name == "Conv2d":
            args = [ins[0], init(p[0])] + ([init(p[1])] if cfg["bias"] else [])
            attrs = window_attrs(cfg)
            nodes.append(helper.make_node("Conv", args, [out], dilations=list(cfg["dilation"]), group=cfg["groups"], **attrs))
        elif name == "BatchNorm2d":
            nodes.append(helper.make_node("BatchNormalization", [ins[0]] + [init(t) for t in p], [out], epsilon=cfg["eps"]))
        elif name == "Act":
            if cfg == "Relu":
                nodes.append(helper.make_node("Relu", ins, [out]))
            elif cfg == "Relu6":
                nodes.append(helper.make_node("Clip", [ins[0], const(f"{out}_lo", 0.0), const(f"{out}_hi", 6.0)], [out]))
            elif cfg == "Sigmoid":
                nodes.append(helper.make_node("Sigmoid", ins, [out]))
            elif cfg == "Hardswish":
                nodes.append(helper.make_node("HardSwish", ins, [out]))
            elif cfg == "Hardsigmoid":
                nodes.append(helper.make_node("HardSigmoid", ins, [out], alpha=1.0 / 6, beta=0.5))
            elif cfg == "Silu":
                nodes.append(helper.make_node("Sigmoid", ins, [out + "_s"]))
                nodes.append(helper.make_node("Mul", [ins[0], out + "_s"], [out]))
            else:
                raise SystemExit(f"no ONNX export for activation {cfg}")
        elif name in ("Add", "Mul"):
            nodes.append(helper.make_node(name, ins, [out]))
        elif name == "Concat":
            nodes.append(helper.make_node("Concat", ins, [out], axis=1))
        elif name in ("MaxPool2d", "AvgPool2d"):
            attrs = window_attrs(cfg) | {"ceil_mode": int(cfg["ceil_mode"])}
            if name == "AvgPool2d":
                attrs["count_include_pad"] = int(cfg["count_include_pad"])
            nodes.append(helper.make_node("MaxPool" if name == "MaxPool2d" else "AveragePool", ins, [out], **attrs))
        elif name == "AdaptiveAvgPool2d":
            # Global pooling; VGG's 7x7 pool is the identity at 224 px.
            op = "GlobalAveragePool" if tuple(cfg["out"]) == (1, 1) else "Identity"
            nodes.append(helper.make_node(op, ins, [out]))
        elif name == "Flatten":
            nodes.append(helper.make_node("Flatten", ins, [out], axis=1))
            shapes[i] = 2
        elif name == "Linear":
            x = ins[0]
            if rank != 2:
                nodes.append(helper.make_node("Flatten", [x], [out + "_flat"], axis=1))
                x = out + "_flat"
            args = [x, init(p[0])] + ([init(p[1])] if cfg["bias"] else [])
            nodes.append(helper.make_node("Gemm", args, [out], transB=1))
            shapes[i] = 2
        elif name in ("Dropout", "Block"):
            nodes.append(helper.make_node("Identity", ins, [out]))
        else:
            raise SystemExit(f"no ONNX export for {name}")
    last = f"n{len(spec['nodes']) - 1}"
    graph = helper.make_graph(
        nodes,
        spec["arch"],
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, spec["in_channels"], 224, 224])],
        [helper.make_tensor_value_info(last, TensorProto.FLOAT, [1, spec["classes"]])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def peak_rss_mb():
    with open("/proc/self/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    return int(kb) / 1024


def ort_session(model, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def serve_ort(model, io_path, threads):
    """The same line protocol as `graph_bench serve`: `forward`, `rss`, `quit`."""
    sess = ort_session(model, threads)
    x = read_safetensors(io_path)["input"]
    feed = {sess.get_inputs()[0].name: x}
    print("ready", flush=True)
    for line in sys.stdin:
        req = line.strip()
        if req == "forward":
            t, c = time.perf_counter(), time.process_time()
            sess.run(None, feed)
            print(f"{(time.perf_counter() - t) * 1e3:.3f} {(time.process_time() - c) * 1e3:.3f}", flush=True)
        elif req == "rss":
            # VmHWM, not ru_maxrss: the latter carries the forking parent's peak across exec.
            print(f"{peak_rss_mb():.1f}", flush=True)
        elif req == "quit":
            break
        else:
            print(f"error unknown request {req}", flush=True)


class Server:
    def __init__(self, cmd, env):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        assert self.ask(None) == "ready", f"{cmd[0]} did not start"

    def ask(self, req):
        if req is not None:
            self.p.stdin.write(req + "\n")
            self.p.stdin.flush()
        reply = self.p.stdout.readline().strip()
        if not reply or reply.startswith("error"):
            raise SystemExit(f"server said {reply!r} to {req!r}")
        return reply

    def run(self, req):
        wall, cpu = self.ask(req).split()
        return float(wall), float(cpu)

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        self.p.wait()


def bench(args, arch):
    work = args.work
    subprocess.run([args.bin, "dump", arch, work], check=True)
    spec = json.load(open(f"{work}/{arch}-graph.json"))
    model = f"{work}/{arch}.onnx"
    io = f"{work}/{arch}-io.safetensors"
    to_onnx(spec, read_safetensors(f"{work}/{arch}.safetensors"), model)
    ref = read_safetensors(io)
    got = ort_session(model, 1).run(None, {"input": ref["input"]})[0]
    err = float(np.abs(got - ref["logits"]).max() / np.abs(ref["logits"]).max())
    same_top = int(got.argmax()) == int(ref["logits"].argmax())
    print(f"{arch}: onnxruntime logits vs ours: max error {err:.1e} of the largest, same top class: {same_top}")
    if err > 1e-3:
        raise SystemExit(f"{arch}: the two engines do not run the same model")
    rows = []
    for threads in args.threads:
        env = dict(os.environ, RAYON_NUM_THREADS=str(threads), OMP_NUM_THREADS="1")
        ours = Server([args.bin, "serve", arch], env)
        theirs = Server([sys.executable, __file__, "--serve-ort", model, io, str(threads)], env)
        t = {k: [] for k in ("ours_fwd", "ort_fwd", "ours_cam")}
        for _ in range(args.warmup):
            ours.run("forward"), theirs.run("forward"), ours.run("gradcam")
        for _ in range(args.runs):
            t["ours_fwd"].append(ours.run("forward"))
            t["ort_fwd"].append(theirs.run("forward"))
            t["ours_cam"].append(ours.run("gradcam"))
        med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in t.items()}
        rows.append((arch, threads, med, float(ours.ask("rss")), float(theirs.ask("rss"))))
        ours.close()
        theirs.close()
    return rows


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-ort":
        serve_ort(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="graph_bench example binary")
    ap.add_argument("--work", required=True, help="directory for the exported models")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=lambda s: [int(t) for t in s.split(",")], default=[1])
    ap.add_argument("archs", nargs="*", default=["resnet50", "mobilenet_v2", "vgg16"])
    args = ap.parse_args()
    import onnxruntime

    rows = [r for arch in args.archs for r in bench(args, arch)]
    print(f"\nonnxruntime {onnxruntime.__version__}, 224 px, batch 1, median of {args.runs} alternating rounds; ms wall (process CPU)")
    print(f"{'model':<14}{'threads':>8}{'ours fwd':>18}{'ORT fwd':>18}{'ours/ORT':>10}{'ours Grad-CAM':>20}{'CAM/fwd':>9}{'RSS ours':>10}{'RSS ORT':>9}")
    for arch, threads, m, rss_ours, rss_ort in rows:
        cell = lambda k: f"{m[k][0]:.1f} ({m[k][1]:.1f})"
        print(
            f"{arch:<14}{threads:>8}{cell('ours_fwd'):>18}{cell('ort_fwd'):>18}{m['ours_fwd'][0] / m['ort_fwd'][0]:>10.2f}"
            f"{cell('ours_cam'):>20}{m['ours_cam'][0] / m['ours_fwd'][0]:>9.2f}{rss_ours:>9.0f}M{rss_ort:>8.0f}M"
        )


if __name__ == "__main__":
    main()
