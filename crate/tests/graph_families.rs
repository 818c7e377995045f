//! The families' graphs against torchvision's own state dicts (the fixtures' lists of
//! every entry, in order): same names, shapes and order, so weights load by name and the
//! fixtures' generator numbers every tensor as PyTorch does.

use convscope::model::{families, ArchSpec};

#[test]
fn state_dicts_match_torchvision_entry_for_entry() {
    for model in [
        "resnet18",
        "resnet50",
        "mobilenet_v2",
        "mobilenet_v3_small",
        "efficientnet_b0",
        "densenet121",
        "convnext_tiny",
    ] {
        let path = format!(
            "{}/tests/fixtures/graph/{model}-state-dict.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let want: Vec<(String, Vec<usize>, bool)> = serde_json::from_str(&text).unwrap();
        let graph = families::graph(&ArchSpec::parse(model).unwrap()).unwrap();
        let got: Vec<(String, Vec<usize>, bool)> = graph
            .state
            .iter()
            .map(|e| (e.name.clone(), e.shape.clone(), e.is_float))
            .collect();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{model}: state-dict entry {i}");
        }
        assert_eq!(got.len(), want.len(), "{model}: number of entries");
    }
}
