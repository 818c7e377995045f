//! Speed of the layer-graph engine at 224 px: forward and Grad-CAM medians, where the
//! time goes by operation, peak memory; and a line protocol (`serve`) through which
//! `scripts/bench_native_ort.py` times this engine and onnxruntime alternately on the
//! same model, weights and input.
//!
//! ```text
//! cargo run --release -p convscope --example graph_bench -- [--runs N] [--profile | --nodes] ARCH...
//! cargo run --release -p convscope --example graph_bench -- dump ARCH DIR
//! cargo run --release -p convscope --example graph_bench -- serve ARCH
//! cargo run --release -p convscope --example graph_bench -- faithfulness ARCH...
//! ```
//!
//! Weights are the fixtures' generator's (`model::synthetic`), with the calibrated
//! batch-norm statistics of `tests/fixtures/graph/` where the fixtures have them, so
//! activations stay in a realistic range. Threads: rayon's (`RAYON_NUM_THREADS`).

mod faithfulness;

use convscope::bench::peak_rss_mb;
use convscope::model::graph::{Graph, GraphSpec, Kind, NodeId, Src, Stop, Val};
use convscope::model::ops::ReluGrad;
use convscope::model::{families, synthetic, ArchSpec};
use convscope::Result;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::time::Instant;

/// Seeds of the fixtures that ship batch-norm statistics; other models use seed 1 and
/// the generator's own statistics (mean 0, variance 1).
const FIXTURE_SEEDS: &[(&str, u64)] = &[
    ("resnet18", 21),
    ("resnet50", 22),
    ("mobilenet_v2", 23),
    ("mobilenet_v3_small", 24),
    ("efficientnet_b0", 25),
    ("densenet121", 26),
];

struct Model {
    graph: Graph,
    /// Every float state-dict entry, as bound (for `dump` only; empty otherwise, so that
    /// the peak memory measured is the engine's own).
    state: Vec<(String, Vec<usize>, Vec<f32>)>,
}

fn model(arch: &str, keep_state: bool) -> Result<Model> {
    let spec = ArchSpec::parse(arch)?;
    let graph_spec = families::graph(&spec)?;
    let seed = FIXTURE_SEEDS
        .iter()
        .find(|(a, _)| *a == arch)
        .map_or(1, |(_, s)| *s);
    let mut state = synthetic::state_dict(&graph_spec, seed);
    let stats = format!(
        "{}/tests/fixtures/graph/{arch}-s{seed}-bnstats.safetensors",
        env!("CARGO_MANIFEST_DIR")
    );
    if let Ok(bytes) = std::fs::read(&stats) {
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| convscope::Error::Input(e.to_string()))?;
        let by_name: HashMap<String, usize> = state
            .iter()
            .enumerate()
            .map(|(i, e)| (e.0.clone(), i))
            .collect();
        for (name, view) in st.tensors() {
            if let Some(i) = by_name.get(&name) {
                state[*i].2 = view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
            }
        }
    }
    let params: HashMap<String, Vec<f32>> = if keep_state {
        state
            .iter()
            .map(|(n, _, v)| (n.clone(), v.clone()))
            .collect()
    } else {
        std::mem::take(&mut state)
            .into_iter()
            .map(|(n, _, v)| (n, v))
            .collect()
    };
    let graph = Graph::new(spec, graph_spec, params)?;
    Ok(Model { graph, state })
}

/// A deterministic `[1, 3, size, size]` input in [-2, 2] (a normalised image's range).
fn input(size: usize) -> Val {
    let data = (0..3 * size * size)
        .map(|i| ((i as f32 * 0.618_034).fract() * 4.0 - 2.0) * ((i % 7) as f32 / 7.0))
        .collect();
    Val::new(data, vec![1, 3, size, size])
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold(0, |best, (i, x)| if *x > v[best] { i } else { best })
}

/// Grad-CAM at the family's default layer for the top class: a trace to the logits, the
/// reverse pass from the logits down to the layer, then the channel weights and the map.
/// CPU time of the whole process in ms (every thread; on a machine shared with other
/// work this is what the pass itself cost, while wall time also counts waiting).
fn cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `t` is.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
}

/// Told to an observer when the timed part of a pass starts.
const START: NodeId = NodeId::MAX;

fn grad_cam(g: &Graph, x: &Val, on_node: &mut dyn FnMut(NodeId)) -> Result<Vec<f32>> {
    let layer = g.spec().cam_layer;
    let out = g.output();
    // As the methods' Grad-CAM does (`Forward::for_method`): traced from the layer on.
    let trace = g.trace_after(x, layer, out)?;
    let logits = g.value(&trace, Src::Node(out))?;
    let mut seed = vec![0f32; logits.data.len()];
    seed[argmax(&logits.data)] = 1.0;
    on_node(START);
    let grad = g.backward_observed(
        &trace,
        out,
        seed,
        Stop::Node(layer),
        ReluGrad::Plain,
        on_node,
    )?;
    let act = g.value(&trace, Src::Node(layer))?;
    let (c, plane) = (act.shape[1], act.shape[2] * act.shape[3]);
    let mut cam = vec![0f32; plane];
    for ch in 0..c {
        let gs = &grad.data[ch * plane..(ch + 1) * plane];
        let weight = gs.iter().sum::<f32>() / plane as f32;
        for (m, a) in cam.iter_mut().zip(&act.data[ch * plane..(ch + 1) * plane]) {
            *m += weight * a;
        }
    }
    cam.iter_mut().for_each(|v| *v = v.max(0.0));
    Ok(cam)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A short label for where a node's time goes: the convolution's path, or the op. In a
/// plain forward pass a batch norm or activation right after a convolution runs inside
/// it, so its time is the convolution's.
fn op_label(spec: &GraphSpec, i: NodeId, backward: bool) -> String {
    let dir = if backward { "bwd " } else { "" };
    let producer = |j: NodeId| match spec.nodes[j].inputs.as_slice() {
        [Src::Node(p)] => Some(*p),
        _ => None,
    };
    let mut at = i;
    if !backward {
        // Walk back through an activation and a batch norm to the convolution they ride on.
        for _ in 0..2 {
            match (&spec.nodes[at].kind, producer(at)) {
                (Kind::Act(_) | Kind::BatchNorm2d { .. }, Some(p))
                    if matches!(
                        spec.nodes[p].kind,
                        Kind::Conv2d(_) | Kind::BatchNorm2d { .. }
                    ) =>
                {
                    at = p
                }
                _ => break,
            }
        }
    }
    match &spec.nodes[at].kind {
        Kind::Conv2d(c) => {
            let shape = if c.groups > 1 && c.groups == c.in_channels {
                format!("depthwise {}x{} s{}", c.kernel.0, c.kernel.1, c.stride.0)
            } else if c.kernel == (1, 1) {
                format!("1x1 s{}", c.stride.0)
            } else {
                format!("{}x{} s{}", c.kernel.0, c.kernel.1, c.stride.0)
            };
            format!("{dir}conv {shape}")
        }
        k => format!("{dir}{}", k.class()),
    }
}

/// One observed pass: calls its argument after each node.
type Pass<'a> = &'a dyn Fn(&mut dyn FnMut(NodeId)) -> Result<()>;

/// Median time per node over `runs` passes, summed by label.
/// How a profile groups its nodes.
#[derive(Clone, Copy, PartialEq)]
enum Profile {
    None,
    /// By kind of operation, largest first.
    ByOp,
    /// Each node (or fused run) by name, in order.
    ByNode,
}

fn profile(
    name: &str,
    g: &Graph,
    runs: usize,
    pass: Pass,
    backward: bool,
    by: Profile,
) -> Result<()> {
    let mut per_node: BTreeMap<NodeId, Vec<f64>> = BTreeMap::new();
    for _ in 0..runs {
        let mut last = cpu_ms();
        pass(&mut |i| {
            let now = cpu_ms();
            if i != START {
                per_node.entry(i).or_default().push(now - last);
            }
            last = now;
        })?;
    }
    let mut by_label: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (i, times) in per_node {
        let label = match by {
            Profile::ByNode => format!(
                "{i:>4} {} {}",
                g.spec().nodes[i].name,
                op_label(g.spec(), i, backward)
            ),
            _ => op_label(g.spec(), i, backward),
        };
        let e = by_label.entry(label).or_default();
        e.0 += median(times);
        e.1 += 1;
    }
    let total: f64 = by_label.values().map(|e| e.0).sum();
    let mut rows: Vec<_> = by_label.into_iter().collect();
    if by == Profile::ByOp {
        rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    }
    println!("  {name}: {total:.1} ms in nodes");
    for (label, (ms, count)) in rows {
        println!(
            "    {label:<40} {ms:>8.2} ms {:>5.1}%  ({count} nodes)",
            100.0 * ms / total
        );
    }
    Ok(())
}

/// Median wall and CPU ms of `runs` calls after a warm-up.
fn time(runs: usize, f: &dyn Fn() -> Result<()>) -> Result<(f64, f64)> {
    f()?;
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (t, c) = (Instant::now(), cpu_ms());
        f()?;
        wall.push(t.elapsed().as_secs_f64() * 1e3);
        cpu.push(cpu_ms() - c);
    }
    Ok((median(wall), median(cpu)))
}

fn bench(archs: &[String], runs: usize, show_profile: Profile) -> Result<()> {
    println!(
        "{} thread(s), 224 px, median of {runs} (wall / process CPU; profiles in CPU ms)",
        rayon::current_num_threads()
    );
    for arch in archs {
        let Model { graph, .. } = model(arch, false)?;
        let g = &graph;
        let x = input(224);
        let (fw, fc) = time(runs, &|| g.forward(&x).map(drop))?;
        let (cw, cc) = time(runs, &|| grad_cam(g, &x, &mut |_| {}).map(drop))?;
        println!(
            "{arch:<14} forward {fw:>7.1} ms ({fc:>7.1} cpu)  grad-cam {cw:>7.1} ms ({cc:>7.1} cpu) = {:.2}x forward  peak RSS {:.0} MB",
            cw / fw,
            peak_rss_mb()
        );
        if show_profile != Profile::None {
            profile(
                "forward",
                g,
                runs,
                &|on| g.forward_observed(&x, on).map(drop),
                false,
                show_profile,
            )?;
            profile(
                "grad-cam reverse",
                g,
                runs,
                &|on| grad_cam(g, &x, on).map(drop),
                true,
                show_profile,
            )?;
        }
    }
    Ok(())
}

/// Writes `DIR/ARCH.safetensors` (the state dict), `DIR/ARCH-graph.json` (the graph
/// spec) and `DIR/ARCH-io.safetensors` (the benchmark's input and our logits).
fn dump(arch: &str, dir: &str) -> Result<()> {
    let m = model(arch, true)?;
    let io_err = |e: std::io::Error| convscope::Error::Input(format!("{dir}: {e}"));
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let save = |path: String, tensors: &[(String, Vec<usize>, Vec<f32>)]| -> Result<()> {
        let bytes: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, _, v)| v.iter().flat_map(|f| f.to_le_bytes()).collect())
            .collect();
        let views = tensors
            .iter()
            .zip(&bytes)
            .map(|((n, s, _), b)| {
                Ok((
                    n.clone(),
                    safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)?,
                ))
            })
            .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
            .map_err(|e| convscope::Error::Input(e.to_string()))?;
        safetensors::serialize_to_file(views, None, std::path::Path::new(&path))
            .map_err(|e| convscope::Error::Input(e.to_string()))
    };
    save(format!("{dir}/{arch}.safetensors"), &m.state)?;
    let spec = serde_json::to_string(m.graph.spec())
        .map_err(|e| convscope::Error::Input(e.to_string()))?;
    std::fs::write(format!("{dir}/{arch}-graph.json"), spec).map_err(io_err)?;
    let x = input(224);
    let logits = m.graph.forward(&x)?;
    save(
        format!("{dir}/{arch}-io.safetensors"),
        &[
            ("input".into(), x.shape.clone(), x.data.to_vec()),
            ("logits".into(), logits.shape.clone(), logits.data.to_vec()),
        ],
    )
}

/// One line per request on stdin: `forward` or `gradcam` (prints `wall_ms cpu_ms` of
/// that one run), `rss` (prints the peak RSS in MB), `quit`.
fn serve(arch: &str) -> Result<()> {
    let Model { graph, .. } = model(arch, false)?;
    let x = input(224);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    println_flush(&mut out, "ready");
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let run = |f: &dyn Fn() -> Result<()>| -> Result<String> {
            let (t, c) = (Instant::now(), cpu_ms());
            f()?;
            Ok(format!(
                "{:.3} {:.3}",
                t.elapsed().as_secs_f64() * 1e3,
                cpu_ms() - c
            ))
        };
        let reply = match line.trim() {
            "forward" => run(&|| graph.forward(&x).map(drop))?,
            "gradcam" => run(&|| grad_cam(&graph, &x, &mut |_| {}).map(drop))?,
            "rss" => format!("{:.1}", peak_rss_mb()),
            "quit" => break,
            other => format!("error unknown request {other}"),
        };
        println_flush(&mut out, &reply);
    }
    Ok(())
}

fn println_flush(out: &mut impl Write, s: &str) {
    let _ = writeln!(out, "{s}");
    let _ = out.flush();
}

/// As the command line does (its `heap` module): keep freed blocks in one heap for every
/// thread, so that each layer's fresh output map does not page-fault again.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes two allocator thresholds, before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn main() {
    keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Everything runs on rayon's workers, so one thread means one thread: no caller
    // waiting beside a worker.
    let result = rayon::scope(|_| run(&args));
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("dump") if args.len() == 3 => dump(&args[1], &args[2]),
        Some("serve") if args.len() == 2 => serve(&args[1]),
        Some("faithfulness") => faithfulness::run(&args[1..]),
        _ => {
            let mut runs = 10;
            let mut show_profile = Profile::None;
            let mut archs = Vec::new();
            let mut it = args.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--runs" => runs = it.next().and_then(|r| r.parse().ok()).unwrap_or(runs),
                    "--profile" => show_profile = Profile::ByOp,
                    "--nodes" => show_profile = Profile::ByNode,
                    arch => archs.push(arch.to_string()),
                }
            }
            if archs.is_empty() {
                archs = vec!["resnet50".into(), "mobilenet_v2".into(), "vgg16".into()];
            }
            bench(&archs, runs, show_profile)
        }
    }
}
