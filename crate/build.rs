//! Finds the method catalogue's entries (src/methods/catalogue.rs says how they are
//! written): every file of src/methods/ that defines `pub const METHOD: MethodSpec` or
//! `pub const CHECK: CheckSpec` becomes a module of `methods` and an entry of the
//! catalogue's lists, so that adding a method is adding its file.

use std::fs;
use std::path::Path;

const METHOD_ENTRY: &str = "pub const METHOD: MethodSpec";
const CHECK_ENTRY: &str = "pub const CHECK: CheckSpec";

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("methods");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();

    // Two outputs: module declarations for methods/mod.rs, and the lists for
    // methods/catalogue.rs (which sees the modules as `super::NAME`).
    let (mut modules, mut methods, mut checks) = (String::new(), Vec::new(), Vec::new());
    for path in &files {
        let text = fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        // At the start of a line: an item, not a mention in a comment.
        let is_method = text.lines().any(|l| l.starts_with(METHOD_ENTRY));
        let is_check = text.lines().any(|l| l.starts_with(CHECK_ENTRY));
        if !is_method && !is_check {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        modules.push_str(&format!(
            "#[path = {:?}]\npub mod {name};\n",
            path.display().to_string()
        ));
        if is_method {
            methods.push(format!("&super::{name}::METHOD"));
        }
        if is_check {
            checks.push(format!("&super::{name}::CHECK"));
        }
    }
    let lists = format!(
        "/// Every file's `METHOD` (the order is [`methods`]'s to choose).\n\
         const METHOD_SPECS: &[&MethodSpec] = &[{}];\n\
         /// Every file's `CHECK`.\n\
         const CHECK_SPECS: &[&CheckSpec] = &[{}];\n",
        methods.join(", "),
        checks.join(", ")
    );
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    write_if_changed(&Path::new(&out).join("catalogue_modules.rs"), &modules);
    write_if_changed(&Path::new(&out).join("catalogue_lists.rs"), &lists);
}

/// Leaves an unchanged file alone, so its time stamp does not trigger rebuilds.
fn write_if_changed(path: &Path, text: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
