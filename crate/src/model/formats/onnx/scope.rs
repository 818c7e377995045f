//! Where a node came from, as PyTorch's exporter records it: each node's metadata holds
//! `pkg.torch.onnx.name_scopes`, the module paths from the model down to the node
//! (`['', 'layer4', 'layer4.1', 'layer4.1.relu', 'relu_15']`: the root, the modules, then
//! the traced op's own name), and `pkg.torch.onnx.class_hierarchy`, their classes. A node
//! is named after its innermost module; an op written in a module's `forward` (a residual
//! `add`) after that module and the op.

use super::proto::Node;

/// The modules a node runs in and what it is called.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    /// Module paths from the outermost to the innermost, the root left out.
    pub modules: Vec<String>,
    /// The class of each module (`BasicBlock`), parallel to `modules`.
    pub classes: Vec<String>,
    /// The traced op without its counter (`relu_15` -> `relu`), or the ONNX node's name
    /// when the exporter wrote no scopes.
    pub op: String,
    /// Whether the exporter wrote scopes for this node.
    pub scoped: bool,
}

/// Reads a Python list of strings as `repr` writes it: `['', 'a.b', "it's"]`.
pub fn python_strings(text: &str) -> Option<Vec<String>> {
    let body = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let mut out = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let Some(quote) = chars.next() else { break };
        if quote != '\'' && quote != '"' {
            return None;
        }
        let mut s = String::new();
        loop {
            match chars.next()? {
                '\\' => s.push(chars.next()?),
                c if c == quote => break,
                c => s.push(c),
            }
        }
        out.push(s);
    }
    Some(out)
}

/// `relu_15` -> `relu`; `_native_batch_norm_legit_no_training_3` -> without the `_3`.
fn strip_counter(name: &str) -> &str {
    match name.rsplit_once('_') {
        Some((stem, n))
            if !stem.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            stem
        }
        _ => name,
    }
}

/// The last component of a dotted class path (`torchvision.models.resnet.BasicBlock`).
fn short_class(path: &str) -> String {
    path.rsplit('.').next().unwrap_or(path).to_string()
}

/// The scope of `node` (the `index`-th of its graph).
pub fn of(node: &Node, index: usize) -> Scope {
    let fallback = || {
        let op = if node.name.is_empty() {
            format!("{}_{index}", node.op_type)
        } else {
            node.name.clone()
        };
        Scope {
            op,
            ..Scope::default()
        }
    };
    let Some(mut names) = node
        .meta("pkg.torch.onnx.name_scopes")
        .and_then(python_strings)
    else {
        return fallback();
    };
    let classes = node
        .meta("pkg.torch.onnx.class_hierarchy")
        .and_then(python_strings)
        .unwrap_or_default();
    let Some(op) = names.pop() else {
        return fallback();
    };
    // names[0] is the root module ''.
    let modules: Vec<String> = names.into_iter().skip(1).collect();
    let classes = (0..modules.len())
        .map(|i| {
            classes
                .get(i + 1)
                .map_or_else(|| "Module".to_string(), |c| short_class(c))
        })
        .collect();
    Scope {
        modules,
        classes,
        op: strip_counter(&op).to_string(),
        scoped: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pytorch_scopes() {
        assert_eq!(
            python_strings("['', 'layer4', 'layer4.1', 'relu_15']").unwrap(),
            ["", "layer4", "layer4.1", "relu_15"]
        );
        assert_eq!(
            python_strings(r#"['a', "it's", 'b\\c']"#).unwrap(),
            ["a", "it's", "b\\c"]
        );
        assert_eq!(python_strings("[]").unwrap(), Vec::<String>::new());
        assert!(python_strings("['unterminated").is_none());
        assert!(python_strings("not a list").is_none());
        let node = Node {
            name: "node_add_7".into(),
            op_type: "Add".into(),
            metadata: vec![
                ("pkg.torch.onnx.name_scopes".into(), "['', 'layer4', 'layer4.1', 'add_7']".into()),
                (
                    "pkg.torch.onnx.class_hierarchy".into(),
                    "['torchvision.models.resnet.ResNet', 'torch.nn.modules.container.Sequential', 'torchvision.models.resnet.BasicBlock', 'aten.add.Tensor']".into(),
                ),
            ],
            ..Node::default()
        };
        let s = of(&node, 3);
        assert_eq!(s.modules, ["layer4", "layer4.1"]);
        assert_eq!(s.classes, ["Sequential", "BasicBlock"]);
        assert_eq!(s.op, "add");
        let bare = of(
            &Node {
                op_type: "Relu".into(),
                ..Node::default()
            },
            5,
        );
        assert_eq!((bare.op.as_str(), bare.scoped), ("Relu_5", false));
    }
}
