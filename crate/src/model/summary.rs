//! The Keras-style `model.summary()`: one row per node with its output shape, parameter
//! count and, for graphs that are not a chain, Keras' functional-model column
//! "Connected to". Computed from the architecture alone (shapes by inference, no weights).

use super::arch::ArchSpec;
use super::families;
use super::graph::{GraphSpec, Src};
use crate::error::Result;
use serde::Serialize;

/// One row of the summary table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LayerSummary {
    /// torchvision module path.
    pub name: String,
    /// PyTorch class name (`Conv2d`, `ReLU`, `BasicBlock`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// `[C, H, W]` for maps, `[F]` for flat features (batch left out).
    pub output_shape: Vec<usize>,
    pub params: usize,
    /// The matching layer of Keras' VGG (`block1_conv1`, `fc1`, `predictions`), whose
    /// convolutions carry their ReLU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keras_name: Option<String>,
    /// The nodes whose outputs this node reads (`input` for the image).
    pub connected_to: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    pub arch: String,
    pub family: String,
    pub input_shape: Vec<usize>,
    pub layers: Vec<LayerSummary>,
    pub total_params: usize,
    pub trainable_params: usize,
    /// Batch norms' running statistics: state, not parameters (PyTorch's buffers).
    pub buffers: usize,
    /// Whether every node reads only the one before it (then "Connected to" says nothing
    /// new and the table leaves it out).
    pub chain: bool,
}

/// The name a consumer sees for `s`.
pub fn source_name(spec: &GraphSpec, s: Src) -> String {
    match s {
        Src::Input => "input".into(),
        Src::Node(i) => spec.nodes[i].name.clone(),
    }
}

/// The summary for an input of `size` (height, width); the spec's own size if `None`.
pub fn summarize(spec: &ArchSpec, size: Option<(usize, usize)>) -> Result<Summary> {
    let graph = families::graph(spec)?;
    summarize_graph(spec, &graph, size)
}

pub fn summarize_graph(
    spec: &ArchSpec,
    graph: &GraphSpec,
    size: Option<(usize, usize)>,
) -> Result<Summary> {
    let size = size.unwrap_or((spec.size, spec.size));
    let shapes = graph.shapes(size)?;
    let layers: Vec<LayerSummary> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| LayerSummary {
            name: n.name.clone(),
            kind: n.kind.class(),
            output_shape: shapes[i].clone(),
            params: n.kind.param_count(),
            keras_name: graph.keras_names.get(&i).cloned(),
            connected_to: n.inputs.iter().map(|s| source_name(graph, *s)).collect(),
        })
        .collect();
    let total = layers.iter().map(|l| l.params).sum();
    let buffers = graph
        .state
        .iter()
        .filter(|e| {
            e.is_float && (e.name.ends_with(".running_mean") || e.name.ends_with(".running_var"))
        })
        .map(|e| e.shape.iter().product::<usize>())
        .sum();
    Ok(Summary {
        arch: spec.to_string(),
        family: spec.family_name().to_string(),
        input_shape: vec![spec.in_channels, size.0, size.1],
        layers,
        total_params: total,
        trainable_params: total,
        buffers,
        chain: graph.is_chain(),
    })
}

/// `1,234,567`: Keras prints parameter counts with thousands separators.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The summary as a Keras-style text table.
pub fn render_table(s: &Summary) -> String {
    let shape = |v: &[usize]| {
        format!(
            "({})",
            v.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let width = s
        .layers
        .iter()
        .map(|l| l.name.len() + l.kind.len() + 4)
        .max()
        .unwrap_or(0)
        .max(34);
    let last = if s.chain { "Keras" } else { "Connected to" };
    let rule = width + 22 + 14 + 2 + if s.chain { 12 } else { 40 };
    let mut out = format!(
        "Model: \"{}\"  input {}\n{:<width$}{:<22}{:>14}  {last}\n{}\n",
        s.arch,
        shape(&s.input_shape),
        "Layer (type)",
        "Output Shape",
        "Param #",
        "=".repeat(rule)
    );
    for l in &s.layers {
        let extra = if s.chain {
            l.keras_name.clone().unwrap_or_default()
        } else {
            l.connected_to.join(", ")
        };
        let row = format!(
            "{:<width$}{:<22}{:>14}  {extra}",
            format!("{} ({})", l.name, l.kind),
            shape(&l.output_shape),
            thousands(l.params),
        );
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "{}\nTotal params: {}\nTrainable params: {}\nNon-trainable params: 0\n",
        "=".repeat(rule),
        thousands(s.total_params),
        thousands(s.trainable_params)
    ));
    if s.buffers > 0 {
        out.push_str(&format!(
            "Buffers (batch-norm running statistics, not parameters): {}\n",
            thousands(s.buffers)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(138357544), "138,357,544");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }

    #[test]
    fn graphs_show_what_each_node_reads() {
        let s = summarize(&ArchSpec::parse("resnet18").unwrap(), None).unwrap();
        assert!(!s.chain);
        assert_eq!(s.total_params, 11_689_512);
        let add = s.layers.iter().find(|l| l.name == "layer2.0.add").unwrap();
        assert_eq!(add.connected_to, ["layer2.0.bn2", "layer2.0.downsample"]);
        assert_eq!(add.output_shape, [128, 28, 28]);
        let table = render_table(&s);
        assert!(
            table.contains("Connected to") && table.contains("Total params: 11,689,512"),
            "{table}"
        );
        let vgg = summarize(&ArchSpec::parse("vgg16").unwrap(), None).unwrap();
        assert!(vgg.chain && !render_table(&vgg).contains("Connected to"));
    }
}
