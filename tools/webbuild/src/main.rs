//! `webbuild INPUT.wasm OUT_DIR`: what `wasm-bindgen --target web --no-typescript
//! --out-dir OUT_DIR INPUT.wasm` (the CLI of the same version) does, for
//! scripts/wasm-pkg.sh, with the bindgen library pinned in this crate's manifest: a fresh
//! machine compiles only that library instead of installing wasm-bindgen-cli. Works for
//! both of the page's builds: the threads transform is chosen by the module itself (a
//! shared memory).
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::ExitCode;

use wasm_bindgen_cli_support::Bindgen;

const USAGE: &str = "usage: webbuild INPUT.wasm OUT_DIR";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir] = args.as_slice() else {
        eprintln!("webbuild: {USAGE}");
        return ExitCode::from(2);
    };
    match generate(PathBuf::from(input), PathBuf::from(out_dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("webbuild: error: {input}: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The web target's ES module (`convscope.js`) and processed wasm (`convscope_bg.wasm`)
/// in `out_dir`, byte for byte what the CLI writes with those flags: the library's own
/// defaults differ from the CLI's in two places, set here as the CLI sets them.
fn generate(input: PathBuf, out_dir: PathBuf) -> anyhow::Result<()> {
    if !input.is_file() {
        anyhow::bail!("no such file (build the wasm first)");
    }
    let mut bindgen = Bindgen::new();
    bindgen
        .web(true)?
        .input_path(input)
        .typescript(false)
        // `init()` without arguments fetches convscope_bg.wasm next to the glue, as the
        // page's worker calls it.
        .omit_default_module_path(false);
    // externref only where the module uses reference types, never because
    // WASM_BINDGEN_EXTERNREF is set in the environment (deprecated as a flag, which the
    // CLI still passes).
    #[allow(deprecated)]
    bindgen.reference_types(false);
    bindgen.generate(out_dir)
}
