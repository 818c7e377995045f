//! The parameter tensors a VGG-family network needs, in torchvision `state_dict` order.

use super::arch::{ArchSpec, CfgItem};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// torchvision name, e.g. `features.0.weight`.
    pub name: String,
    pub shape: Vec<usize>,
    /// Inputs feeding one output: `in * 3 * 3` for convs, `in` for linears.
    pub fan_in: usize,
}

/// Module path of every conv (`features.N`) with its `(in, out)` channels, in order.
pub fn convs(spec: &ArchSpec) -> Vec<(String, usize, usize)> {
    let (mut idx, mut c, mut out) = (0, spec.in_channels, Vec::new());
    for item in spec.cfg() {
        match item {
            CfgItem::Pool => idx += 1,
            CfgItem::Conv(v) => {
                out.push((format!("features.{idx}"), c, *v));
                c = *v;
                idx += 2; // conv + its ReLU
            }
        }
    }
    out
}

/// The three linears of the classifier: `(module path, in, out)`.
pub fn linears(spec: &ArchSpec) -> [(String, usize, usize); 3] {
    let flat = spec.last_channels() * spec.pool() * spec.pool();
    [
        ("classifier.0".into(), flat, spec.hidden()),
        ("classifier.3".into(), spec.hidden(), spec.hidden()),
        ("classifier.6".into(), spec.hidden(), spec.classes),
    ]
}

/// Every parameter, in `state_dict` order (the order the fixtures' generator numbers).
pub fn param_specs(spec: &ArchSpec) -> Vec<ParamSpec> {
    let mut out = Vec::new();
    let mut push = |module: &str, shape: Vec<usize>, fan_in: usize| {
        let bias_len = shape[0];
        out.push(ParamSpec {
            name: format!("{module}.weight"),
            shape,
            fan_in,
        });
        out.push(ParamSpec {
            name: format!("{module}.bias"),
            shape: vec![bias_len],
            fan_in,
        });
    };
    for (module, cin, cout) in convs(spec) {
        push(&module, vec![cout, cin, 3, 3], cin * 9);
    }
    for (module, fin, fout) in linears(spec) {
        push(&module, vec![fout, fin], fin);
    }
    out
}

/// Total parameter count.
pub fn count(spec: &ArchSpec) -> usize {
    param_specs(spec)
        .iter()
        .map(|p| p.shape.iter().product::<usize>())
        .sum()
}
