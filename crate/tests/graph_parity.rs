//! The layer graph against the PyTorch float64 references of `fixtures/graph/`.

mod common;
use common::*;
use convscope::model::graph::{Graph, Val};
use convscope::model::{families, synthetic, ArchSpec};
use std::collections::HashMap;

#[derive(serde::Deserialize, Debug, Clone)]
struct GraphCase {
    arch: String,
    seed: u64,
    image: String,
    target: usize,
    cam_layers: Vec<String>,
}

fn graph_cases() -> Vec<GraphCase> {
    serde_json::from_str(&std::fs::read_to_string(fixture("graph/graph_dev.json")).unwrap()).unwrap()
}

/// The fixtures' model: the generator's weights with the calibrated batch-norm statistics.
fn model(case: &GraphCase) -> Graph {
    let spec = ArchSpec::parse(&case.arch).unwrap();
    let graph = families::graph(&spec).unwrap();
    let mut params: HashMap<String, Vec<f32>> = synthetic::state_dict(&graph, case.seed)
        .into_iter()
        .map(|(n, _, v)| (n, v))
        .collect();
    // Models without batch norm (ConvNeXt) have no statistics file.
    let Ok(bytes) = std::fs::read(fixture(&format!("graph/{}-s{}-bnstats.safetensors", case.arch, case.seed))) else {
        return Graph::new(spec, graph, params).unwrap();
    };
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for (name, view) in st.tensors() {
        let v: Vec<f32> = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        assert!(params.insert(name.clone(), v).is_some(), "{name} is not in the state dict");
    }
    Graph::new(spec, graph, params).unwrap()
}

fn val(t: &candle_core::Tensor) -> Val {
    Val::from_tensor(t).unwrap()
}

#[test]
fn logits_and_cam_layer_activations_match_pytorch() {
    for (i, case) in graph_cases().iter().enumerate() {
        let g = model(case);
        let x = val(&input(&case.image));
        let t0 = std::time::Instant::now();
        let logits = g.forward(&x).unwrap();
        eprintln!("{} forward {:?}", case.arch, t0.elapsed());
        let ours: Vec<f64> = logits.data.iter().map(|v| *v as f64).collect();
        let e = max_rel_error(&ours, &reference("graph/graph_dev.npz", i, "logits"));
        eprintln!("{} logits error {e:.2e}", case.arch);
        for layer in &case.cam_layers {
            let node = g.node(layer).unwrap();
            let a = g.forward_to(&x, node).unwrap();
            let ours: Vec<f64> = a.data.iter().map(|v| *v as f64).collect();
            let key = format!("act__{}", layer.replace('.', "_"));
            let e2 = max_rel_error(&ours, &reference("graph/graph_dev.npz", i, &key));
            eprintln!("{} {layer} error {e2:.2e}", case.arch);
            assert!(e2 <= 1e-4, "{} {layer}: {e2:.2e}", case.arch);
        }
        assert!(e <= 1e-4, "{} logits: {e:.2e}", case.arch);
        let _ = case.target;
    }
}
