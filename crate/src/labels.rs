//! Class names, so predictions read "Indian elephant" rather than "class 385".
//!
//! `imagenet_classes.txt` holds the 1000 ImageNet-1k names, one a line, in class-index
//! order. Provenance: `torchvision.models._meta._IMAGENET_CATEGORIES`, torchvision 0.29.2
//! (BSD-3-Clause), the list torchvision's pretrained VGG weights report, so our indices
//! and names match what PyTorch users see. It is bundled with `include_str!` because the
//! WebAssembly build has no file system to read it from.

use std::sync::OnceLock;

const IMAGENET_CLASSES: &str = include_str!("imagenet_classes.txt");

/// The 1000 ImageNet-1k class names, indexed by class (parsed once).
pub fn imagenet() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        IMAGENET_CLASSES
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Labels for a model with `classes` outputs when its card names none: the ImageNet
/// names for a 1000-way classifier, otherwise "class 0", "class 1", ...
pub fn default_labels(classes: usize) -> Vec<String> {
    if classes == imagenet().len() {
        imagenet().iter().map(|s| s.to_string()).collect()
    } else {
        (0..classes).map(|i| format!("class {i}")).collect()
    }
}
