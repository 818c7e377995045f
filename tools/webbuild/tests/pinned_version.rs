//! The tool's wasm-bindgen-cli-support must be exactly the wasm-bindgen that convscope
//! links (Cargo.lock): the generated glue reads the custom sections that version's
//! macros wrote. A `cargo update` of one without the other fails here, by name.

use std::path::Path;

/// The version after `name = "PACKAGE"` in a Cargo.lock.
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    lines.find(|line| *line == name_line)?;
    let version = lines.next()?.strip_prefix("version = \"")?;
    Some(version.trim_end_matches('"').to_string())
}

/// The version requirement of `dependency` in a manifest line `dependency = "REQ"` or
/// `dependency = { version = "REQ", ... }`.
fn required_version(manifest: &str, dependency: &str) -> Option<String> {
    manifest.lines().find_map(|line| {
        let (name, spec) = line.split_once('=')?;
        if name.trim() != dependency {
            return None;
        }
        let spec = spec.trim();
        let quoted = match spec.strip_prefix('{') {
            Some(table) => table
                .split_once("version")?
                .1
                .trim_start()
                .strip_prefix('=')?
                .trim_start(),
            None => spec,
        };
        Some(quoted.strip_prefix('"')?.split('"').next()?.to_string())
    })
}

#[test]
fn bindgen_library_is_pinned_to_the_locked_wasm_bindgen() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(here.join("Cargo.toml")).unwrap();
    let lock = std::fs::read_to_string(here.join("../../Cargo.lock")).unwrap();

    let wasm_bindgen = locked_version(&lock, "wasm-bindgen").expect("wasm-bindgen in Cargo.lock");
    let pin = required_version(&manifest, "wasm-bindgen-cli-support")
        .expect("wasm-bindgen-cli-support in tools/webbuild/Cargo.toml");
    assert_eq!(
        pin,
        format!("={wasm_bindgen}"),
        "tools/webbuild/Cargo.toml must pin wasm-bindgen-cli-support to \"={wasm_bindgen}\", \
         the wasm-bindgen in Cargo.lock"
    );
    let support = locked_version(&lock, "wasm-bindgen-cli-support")
        .expect("wasm-bindgen-cli-support in Cargo.lock");
    assert_eq!(
        support, wasm_bindgen,
        "Cargo.lock's wasm-bindgen-cli-support and wasm-bindgen differ"
    );
}

#[test]
fn version_readers_find_the_named_entry_only() {
    let lock = "[[package]]\nname = \"wasm-bindgen-shared\"\nversion = \"0.2.1\"\n\n\
                [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
    assert_eq!(
        locked_version(lock, "wasm-bindgen").as_deref(),
        Some("0.2.130")
    );
    assert_eq!(locked_version(lock, "wasm-bindgen-macro"), None);
    let manifest = "[dependencies]\nwasm-bindgen-cli-support-extra = \"1\"\nwasm-bindgen-cli-support = \"=0.2.9\"\n";
    assert_eq!(
        required_version(manifest, "wasm-bindgen-cli-support").as_deref(),
        Some("=0.2.9")
    );
    let table = "wasm-bindgen-cli-support = { version = \"=0.2.130\", optional = true }\n";
    assert_eq!(
        required_version(table, "wasm-bindgen-cli-support").as_deref(),
        Some("=0.2.130")
    );
}
