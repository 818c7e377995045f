//! Hostile or mislabelled files given to the `convscope` binary (issue 8): a
//! decompression bomb, a JPEG called .png, model cards that are not cards. Each either
//! works or ends with exit code 1 and one line naming the problem; never a panic.

mod common;
use common::{arg, convscope_cli as convscope, scratch};
use convscope::model::{synthetic, weights, ArchSpec};
use image::ImageFormat;
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    scratch("hostile", name)
}

/// A model card for the synthetic tiny model, with its weights next to it.
fn tiny_card() -> PathBuf {
    let card = temp("tiny.json");
    if !card.exists() {
        let spec = ArchSpec::parse("tiny").unwrap();
        let bytes = weights::to_safetensors(&synthetic::weights(&spec, 3), safetensors::Dtype::F32)
            .unwrap();
        std::fs::write(temp("tiny.safetensors"), bytes).unwrap();
        std::fs::write(
            &card,
            r#"{"name":"tiny","arch":"tiny","weights":"tiny.safetensors"}"#,
        )
        .unwrap();
    }
    card
}

/// The 32x32 fixture picture encoded as `format`.
fn picture(format: ImageFormat) -> Vec<u8> {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/astronaut32.png");
    let img = image::open(fixture).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A small valid PNG whose header claims `w` x `h` pixels (with a correct CRC, so only
/// the size gives it away): a few hundred bytes that would decode to tens of GB.
fn bomb(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = picture(ImageFormat::Png);
    assert_eq!(&bytes[12..16], b"IHDR");
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    bytes
}

/// Runs convscope expecting exit 1 with one `convscope: error:` line and no panic.
fn failure(args: &[&str]) -> String {
    let out = convscope(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("convscope: error: "), "{err}");
    err
}

#[test]
fn a_decompression_bomb_png_is_refused_with_its_claimed_size() {
    let file = temp("bomb.png");
    let bytes = bomb(100_000, 100_000);
    assert!(bytes.len() < 4096, "the bomb is {} bytes", bytes.len());
    std::fs::write(&file, bytes).unwrap();
    let card = tiny_card();
    let err = failure(&["predict", "--model", arg(&card), "--image", arg(&file)]);
    assert!(
        err.contains("bomb.png") && err.contains("100000x100000") && err.contains("16384"),
        "{err}"
    );
}

#[test]
fn a_jpeg_named_png_still_decodes() {
    let file = temp("really-a-jpeg.png");
    std::fs::write(&file, picture(ImageFormat::Jpeg)).unwrap();
    let card = tiny_card();
    let out = convscope(&[
        "predict",
        "--model",
        arg(&card),
        "--image",
        arg(&file),
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["top"].as_array().map(Vec::len), Some(5), "{json}");
}

#[test]
fn model_cards_that_are_not_cards_are_named() {
    let cases = [
        ("html.json", "<!DOCTYPE html><p>404</p>", "expected value"),
        (
            "no-arch.json",
            r#"{"name":"x","weights":"w.safetensors"}"#,
            "missing field `arch`",
        ),
        (
            "bad-arch.json",
            r#"{"name":"x","arch":"resnet51","weights":"w"}"#,
            "resnet51",
        ),
        ("truncated.json", r#"{"name":"x","arch":"tiny","wei"#, "EOF"),
    ];
    for (name, text, needle) in cases {
        let card = temp(name);
        std::fs::write(&card, text).unwrap();
        let err = failure(&["summary", "--model", arg(&card)]);
        assert!(
            err.contains("model card") && err.contains(name) && err.contains(needle),
            "{name}: `{err}` lacks `{needle}`"
        );
    }
}

#[test]
fn a_card_whose_weights_file_is_missing_names_the_path() {
    let card = temp("orphan.json");
    std::fs::write(
        &card,
        r#"{"name":"orphan","arch":"tiny","weights":"gone.safetensors"}"#,
    )
    .unwrap();
    let err = failure(&["predict", "--model", arg(&card), "--image", "any.png"]);
    // The card, the name it gives, and where that was looked for (next to the card).
    assert!(
        err.contains("orphan.json")
            && err.contains("weights file `gone.safetensors` does not exist")
            && err.contains(arg(&temp("gone.safetensors"))),
        "{err}"
    );
}
