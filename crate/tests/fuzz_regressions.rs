//! Every input the fuzzers (`fuzz/`) ever crashed on, kept under
//! `tests/fixtures/fuzz/<target>/` and fed through the same public call as its fuzz
//! target: each must now come back as a value or an error with a message, not a panic.

use convscope::image::{decode, preprocess, Preprocessing};
use convscope::model::{summary::summarize, ArchSpec, Graph, ModelCard};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// The crashers of one fuzz target, with their file names.
fn crashers(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    out.sort();
    out
}

/// Runs `call` on every crasher of `target`; a panic fails the test naming the file, and
/// `check` sees each result's error message (None when the input was accepted).
fn replay(
    target: &str,
    call: impl Fn(&[u8]) -> Option<String>,
    check: impl Fn(&str, Option<String>),
) {
    let cases = crashers(target);
    for (name, bytes) in &cases {
        let outcome = catch_unwind(AssertUnwindSafe(|| call(bytes)));
        match outcome {
            Ok(error) => check(name, error),
            Err(_) => panic!("fuzz/{target}/{name} still panics"),
        }
    }
}

#[test]
fn npy_crashers_are_errors() {
    replay(
        "npy",
        |b| convscope::npy::from_bytes(b).err().map(|e| e.to_string()),
        |name, error| {
            let e = error.unwrap_or_else(|| panic!("{name} was accepted"));
            assert!(e.starts_with("npy: "), "{name}: {e}");
        },
    );
}

#[test]
fn weights_crashers_are_errors() {
    let spec = ArchSpec::parse("tiny").unwrap();
    replay(
        "weights",
        |b| {
            Graph::from_bytes(&spec, b.to_vec())
                .err()
                .map(|e| e.to_string())
        },
        |name, error| {
            let e = error.unwrap_or_else(|| panic!("{name} was accepted"));
            assert!(e.contains("weights"), "{name}: {e}");
        },
    );
}

#[test]
fn model_card_crashers_are_handled() {
    replay(
        "model_card",
        |b| {
            let text = std::str::from_utf8(b).ok()?;
            let card = ModelCard::from_json(text).map_err(|e| e.to_string());
            if let Ok(card) = &card {
                summarize(&card.arch, None)
                    .map_err(|e| e.to_string())
                    .err()?;
            }
            ArchSpec::parse(text).err().map(|e| e.to_string())
        },
        |_, _| {},
    );
}

#[test]
fn image_crashers_are_handled() {
    replay(
        "image",
        |b| match decode(b) {
            Ok(img) => preprocess(&img, &Preprocessing::imagenet(), 3)
                .err()
                .map(|e| e.to_string()),
            Err(e) => Some(e.to_string()),
        },
        |name, error| {
            if let Some(e) = error {
                assert!(
                    e.starts_with("image: ") || e.starts_with("input: "),
                    "{name}: {e}"
                );
            }
        },
    );
}
