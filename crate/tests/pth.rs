//! The `.pth` reader against checkpoints PyTorch wrote (tests/fixtures/pth/, made by
//! scripts/fixtures/make_pth_fixtures.py; every value compared bit for bit) and against
//! hostile and broken files built opcode by opcode.

#[path = "pth/builder.rs"]
mod builder;
mod common;

use builder::{archive, f32_bytes, legacy, state_dict, Pickle};
use common::assert_mentions;
use convscope::model::formats::pth::{read, StoredTensor};
use serde_json::Value as Json;
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pth")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn expected() -> Json {
    serde_json::from_slice(&fixture("expected.json")).unwrap()
}

fn error(bytes: &[u8]) -> String {
    match read(bytes) {
        Ok(t) => panic!("accepted, {} tensors", t.len()),
        Err(e) => e.to_string(),
    }
}

/// The script's `formula_value`: multiples of 1/1024, exact in every float type.
fn formula_value(tensor_index: u64, element: u64) -> f32 {
    (((element * 7919 + tensor_index * 104729) % 2003) as f32 - 1001.0) / 1024.0
}

fn check_listing(file: &str, got: &[StoredTensor], listing: &Json) {
    let (entries, by_formula) = match listing {
        Json::Array(entries) => (entries, false),
        other => (other["formula"].as_array().unwrap(), true),
    };
    let names: Vec<&str> = got.iter().map(|t| t.name.as_str()).collect();
    let want: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, want, "{file}: names in stored order");
    for (k, (t, e)) in got.iter().zip(entries).enumerate() {
        let shape: Vec<usize> = serde_json::from_value(e["shape"].clone()).unwrap();
        assert_eq!(t.shape, shape, "{file}: {}", t.name);
        assert_eq!(
            t.values.len(),
            shape.iter().product::<usize>(),
            "{file}: {}",
            t.name
        );
        for (i, &v) in t.values.iter().enumerate() {
            let want = if by_formula {
                formula_value(k as u64, i as u64)
            } else {
                e["values"][i].as_f64().unwrap() as f32
            };
            assert_eq!(
                v.to_bits(),
                want.to_bits(),
                "{file}: {}[{i}] = {v}, want {want}",
                t.name
            );
        }
    }
}

#[test]
fn every_checkpoint_pytorch_wrote_reads_bit_for_bit() {
    let expected = expected();
    let checkpoints = expected["checkpoints"].as_object().unwrap();
    assert_eq!(checkpoints.len(), 12);
    for (file, listing) in checkpoints {
        let got = read(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        check_listing(file, &got, listing);
    }
}

#[test]
fn zip_legacy_torch03_and_protocol4_files_hold_the_same_tensors() {
    let zip = read(&fixture("tiny_f32.pth")).unwrap();
    for other in [
        "tiny_f32_legacy.pth",
        "tiny_f32_torch03.pth",
        "tiny_f32_protocol4.pth",
    ] {
        assert_eq!(read(&fixture(other)).unwrap(), zip, "{other}");
    }
    // Parameters saved as nn.Parameter (`_rebuild_parameter`) are the same tensors.
    let params = read(&fixture("tiny_parameters.pth")).unwrap();
    let named = |n: &str| zip.iter().find(|t| t.name == n).unwrap();
    for p in &params {
        assert_eq!(p, named(&p.name));
    }
}

#[test]
fn integer_buffers_are_skipped() {
    let names: Vec<String> = read(&fixture("tiny_f32.pth"))
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        names,
        [
            "conv.weight",
            "conv.bias",
            "bn.weight",
            "bn.bias",
            "bn.running_mean",
            "bn.running_var",
            "fc.weight",
            "fc.bias"
        ]
    );
}

#[test]
fn a_training_checkpoint_yields_its_state_dict_with_names_as_stored() {
    let got = read(&fixture("training_checkpoint.pth")).unwrap();
    assert_eq!(got.len(), 8);
    assert!(
        got.iter().all(|t| t.name.starts_with("module.")),
        "{:?}",
        got[0].name
    );
}

#[test]
fn views_come_out_row_major() {
    let got = read(&fixture("views.pth")).unwrap();
    let get = |n: &str| got.iter().find(|t| t.name == n).unwrap();
    // base[r][c] = (6r + c) / 8 over a 4x6 storage.
    let base = |r: usize, c: usize| (6 * r + c) as f32 / 8.0;
    let t = get("transposed");
    assert_eq!(t.shape, [6, 4]);
    let want: Vec<f32> = (0..6)
        .flat_map(|c| (0..4).map(move |r| base(r, c)))
        .collect();
    assert_eq!(t.values, want);
    let s = get("rows_1_2_every_other_column");
    assert_eq!(s.shape, [2, 3]);
    let want: Vec<f32> = (1..3).flat_map(|r| [0, 2, 4].map(|c| base(r, c))).collect();
    assert_eq!(s.values, want);
    assert_eq!(get("expanded").values, [0.5, -1.5, 2.25, 0.5, -1.5, 2.25]);
    assert_eq!(get("scalar").shape, Vec::<usize>::new());
    assert_eq!(get("scalar").values, [3.5]);
    assert_eq!(get("empty").shape, [0, 3]);
    assert!(get("empty").values.is_empty());
}

#[test]
fn torchvision_architectures_keep_their_names_and_shapes() {
    let mobilenet = read(&fixture("mobilenet_v2_w0.1.pth")).unwrap();
    let shape =
        |ts: &[StoredTensor], n: &str| ts.iter().find(|t| t.name == n).unwrap().shape.clone();
    assert_eq!(shape(&mobilenet, "features.0.0.weight"), [8, 3, 3, 3]);
    assert_eq!(
        shape(&mobilenet, "features.1.conv.0.0.weight"),
        [8, 1, 3, 3]
    );
    assert_eq!(shape(&mobilenet, "classifier.1.weight"), [10, 1280]);
    let resnet = read(&fixture("resnet_like.pth")).unwrap();
    assert_eq!(
        shape(&resnet, "layer2.0.downsample.0.weight"),
        [16, 8, 1, 1]
    );
    assert_eq!(shape(&resnet, "layer3.0.bn3.running_var"), [32]);
}

#[test]
fn a_whole_pickled_model_is_refused_with_what_to_do() {
    let e = error(&fixture("whole_module.pth"));
    assert!(e.contains("`__main__.TinyNet`"), "{e}");
    assert!(e.contains("model.state_dict()"), "{e}");
}

#[test]
fn a_plain_tensor_is_refused_saying_so() {
    let e = error(&fixture("plain_tensor.pth"));
    let plain = "holds a tensor of shape [2, 3], not a state dict";
    assert_mentions(&e, &[plain, "model.state_dict()"]);
}

#[test]
fn pickles_that_call_code_are_refused_naming_the_call() {
    let e = error(&fixture("hostile_os_system.pth"));
    assert_eq!(
        e,
        "weights file: the checkpoint asks to run `os.system`; only plain state dicts are read"
    );
    let e = error(&fixture("hostile_posix_system_zip.pth"));
    assert!(e.contains("asks to run `posix.system`"), "{e}");
    for (module, name) in [
        ("builtins", "eval"),
        ("__builtin__", "getattr"),
        ("subprocess", "Popen"),
        ("torch", "load"),
        ("torch.serialization", "_get_restore_location"),
    ] {
        let call = Pickle::new()
            .global(module, name)
            .str("x")
            .op(b"\x85R")
            .stop();
        assert!(error(&legacy(&call, &[])).contains(&format!("asks to run `{module}.{name}`")));
        // The same inside a state dict, after a good tensor, in a zip archive.
        let hidden = Pickle::new()
            .ordered_dict()
            .str("w")
            .tensor("FloatStorage", "0", 0, &[1], &[1])
            .str("x")
            .global(module, name)
            .str("x")
            .op(b"\x85R")
            .end_dict();
        let bytes = archive(&hidden, None, &[("0", &f32_bytes(&[1.0]))]);
        assert!(error(&bytes).contains(&format!("`{module}.{name}`")));
    }
    // Protocol 4's STACK_GLOBAL names the function with two strings.
    let p4 = Pickle(vec![0x80, 4])
        .str("os")
        .str("system")
        .op(&[0x93])
        .str("x")
        .op(b"\x85R")
        .stop();
    assert!(error(&archive(&p4, None, &[])).contains("asks to run `os.system`"));
}

#[test]
fn unsupported_element_types_are_named() {
    let p = Pickle::new()
        .ordered_dict()
        .str("w")
        .tensor("ComplexFloatStorage", "0", 0, &[1], &[1])
        .end_dict();
    let e = error(&archive(&p, None, &[("0", &[0; 8])]));
    assert_mentions(&e, &["tensors of type `torch.ComplexFloatStorage`"]);
}

#[test]
fn untyped_storages_take_the_dtype_given_to_rebuild_v3() {
    // float16 1.0, -2.0, 0.5 on an untyped (byte) storage.
    let data = [0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38];
    let p = Pickle::new()
        .ordered_dict()
        .str("w")
        .global("torch._utils", "_rebuild_tensor_v3")
        .op(b"(")
        .storage("UntypedStorage", "0", 6)
        .int(0)
        .ints(&[3])
        .ints(&[1])
        .op(&[0x89])
        .global("collections", "OrderedDict")
        .op(b")R")
        .global("torch", "float16")
        .op(b"tR")
        .end_dict();
    let got = read(&archive(&p, Some("little"), &[("0", &data)])).unwrap();
    assert_eq!(got[0].values, [1.0, -2.0, 0.5]);
}

#[test]
fn big_endian_archives_are_read_and_odd_byte_orders_refused() {
    let p = state_dict(&[("w", &[2])]);
    let be: Vec<u8> = [1.5f32, -3.0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let got = read(&archive(&p, Some("big"), &[("0", &be)])).unwrap();
    assert_eq!(got[0].values, [1.5, -3.0]);
    let e = error(&archive(&p, Some("middle"), &[("0", &be)]));
    assert!(e.contains("byteorder record says `middle`"), "{e}");
}

#[test]
fn python2_strings_and_ordered_dict_pairs_are_read() {
    // Python 2 pickled OrderedDict as OrderedDict([[key, value], ...]) and str keys as
    // SHORT_BINSTRING.
    let main = Pickle::new()
        .global("collections", "OrderedDict")
        .op(b"(]](") // args MARK, the outer list, one [key, value] pair, its MARK
        .py2_str("fc.bias")
        .tensor("FloatStorage", "7", 0, &[2], &[1])
        .op(b"eatR") // fill the pair, append it, close the args, call
        .stop();
    let bytes = legacy(&main, &[("7", 2, &f32_bytes(&[0.25, -4.0]))]);
    let got = read(&bytes).unwrap();
    assert_eq!(got[0].name, "fc.bias");
    assert_eq!(got[0].values, [0.25, -4.0]);
}

#[test]
fn every_truncation_is_an_error() {
    for file in [
        "tiny_f32.pth",
        "tiny_f32_legacy.pth",
        "tiny_f32_torch03.pth",
    ] {
        let bytes = fixture(file);
        for len in 0..bytes.len() {
            assert!(
                read(&bytes[..len]).is_err(),
                "{file} cut to {len} bytes was accepted"
            );
        }
    }
    assert_eq!(error(&[]), "weights file: the .pth file is empty (0 bytes)");
}

/// Sets the sizes the central directory gives for record `name` of a zip.
fn patch_central_sizes(bytes: &mut [u8], name: &str, size: u32) {
    let at = (0..bytes.len() - 46)
        .find(|&i| {
            bytes[i..i + 4] == *b"PK\x01\x02" && {
                let n = u16::from_le_bytes([bytes[i + 28], bytes[i + 29]]) as usize;
                bytes.get(i + 46..i + 46 + n) == Some(name.as_bytes())
            }
        })
        .unwrap();
    bytes[at + 20..at + 24].copy_from_slice(&size.to_le_bytes());
    bytes[at + 24..at + 28].copy_from_slice(&size.to_le_bytes());
}

#[test]
fn a_record_past_the_end_of_the_zip_is_refused() {
    let mut bytes = fixture("tiny_f32.pth");
    patch_central_sizes(&mut bytes, "tiny_f32/data/0", 0x7fff_ffff);
    let e = error(&bytes);
    assert_mentions(&e, &["record `tiny_f32/data/0` claims 2147483647 bytes"]);
    assert!(e.contains("past the end"), "{e}");
}

#[test]
fn a_storage_shorter_than_its_tensor_is_refused() {
    let main = state_dict(&[("w", &[10])]);
    let e = error(&legacy(&main, &[("0", 4, &f32_bytes(&[0.0; 4]))]));
    assert_mentions(&e, &["tensor `w`", "reaches element 10"]);
    // Or an offset that points past it.
    let p = Pickle::new()
        .ordered_dict()
        .str("w")
        .tensor("FloatStorage", "0", 3, &[2], &[1])
        .end_dict();
    let e = error(&archive(&p, None, &[("0", &f32_bytes(&[0.0; 4]))]));
    assert!(e.contains("reaches element 5"), "{e}");
    // A storage count larger than the bytes after it.
    let e = error(&legacy(&main, &[("0", 1 << 40, &f32_bytes(&[0.0; 10]))]));
    assert!(e.contains("cut short in storage `0`"), "{e}");
}

#[test]
fn absurd_shapes_are_refused_before_allocating() {
    let p = Pickle::new()
        .ordered_dict()
        .str("w")
        .tensor("FloatStorage", "0", 0, &[1 << 30, 1 << 30], &[0, 0])
        .end_dict();
    let e = error(&archive(&p, None, &[("0", &f32_bytes(&[1.0]))]));
    assert!(e.contains("claims 1152921504606846976 values"), "{e}");
    let p = Pickle::new()
        .ordered_dict()
        .str("w")
        .tensor("FloatStorage", "0", 0, &[-2], &[1])
        .end_dict();
    assert!(error(&archive(&p, None, &[("0", &[0; 8])])).contains("negative size -2"));
}

#[test]
fn stack_mark_and_memo_bombs_stop_at_their_bounds() {
    // Each is the file's first pickle, read before anything else.
    let stack = Pickle(vec![0x80, 2]).op(&vec![b'N'; (1 << 20) + 1]).stop();
    assert!(error(&stack).contains("more than 1048576 values on the stack"));
    let marks = Pickle(vec![0x80, 2]).op(&vec![b'('; 2000]).stop();
    assert!(error(&marks).contains("marks nested over 1024 deep"));
    let mut memo = Pickle::new().op(b"N");
    for i in 0..=(1u32 << 20) {
        memo = memo.op(b"r").op(&i.to_le_bytes());
    }
    assert!(error(&memo.stop()).contains("more than 1048576 memo entries"));
}

#[test]
fn self_containing_and_shared_objects_cost_nothing() {
    // A list appended to itself: no cycle to chase, no leak; not a state dict.
    let looped = Pickle::new().op(b"]q\x00h\x00a").stop();
    let e = error(&legacy(&looped, &[]));
    assert_mentions(&e, &["holds a list of 1 items, not a state dict"]);
    // One dict fetched from the memo 100,000 times into a list: a list of pointers.
    let mut p = Pickle::new()
        .op(b"](") // the list, the MARK of its items
        .ordered_dict()
        .str("a")
        .op(b"Nuq\x01"); // {"a": None}, memoized as entry 1
    for _ in 1..100_000 {
        p = p.op(b"h\x01");
    }
    let fanned = p.op(b"e.").0;
    let e = error(&fanned);
    assert!(e.contains("magic number"), "{e}");
}

#[test]
fn other_files_are_named_for_what_they_are() {
    assert!(error(b"hello world, not a checkpoint").contains("not a PyTorch checkpoint"));
    let mut safetensors = 2u64.to_le_bytes().to_vec();
    safetensors.extend(b"{}");
    assert!(error(&safetensors).contains("safetensors file"));
    let plain = Pickle::new().ordered_dict().end_dict();
    assert!(error(&plain).contains("not a torch.save checkpoint"));
    let empty = legacy(&Pickle::new().ordered_dict().end_dict(), &[]);
    assert!(error(&empty).contains("holds an empty dict"));
    let listed = legacy(&Pickle::new().op(b"]").stop(), &[]);
    assert!(error(&listed).contains("holds a list of 0 items, not a state dict"));
}

#[test]
fn a_dict_of_several_state_dicts_prefers_the_usual_key() {
    let sd = |p: Pickle, key: &str| {
        p.str("w")
            .tensor("FloatStorage", key, 0, &[1], &[1])
            .op(b"u")
    };
    let main = sd(
        sd(Pickle::new().op(b"}(").str("ema").ordered_dict(), "0")
            .str("state_dict")
            .ordered_dict(),
        "1",
    )
    .op(b"u.")
    .0;
    let bytes = archive(
        &main,
        None,
        &[("0", &f32_bytes(&[1.0])), ("1", &f32_bytes(&[2.0]))],
    );
    assert_eq!(read(&bytes).unwrap()[0].values, [2.0]);
}

/// A pickle that reuses one memoized object many times must cost what its bytes do:
/// each of these would copy or re-examine the object on every use (billions of steps)
/// if the reader did.
#[test]
fn memoized_objects_reused_many_times_are_refused_or_cheap() {
    let repeat = |p: Pickle, op: &[u8], n: usize| p.op(&op.repeat(n));
    // OrderedDict(pairs) called again and again on one list of 100,000 pairs.
    let pairs = repeat(
        Pickle::new().op(b"](](").str("k").op(b"Neq\x01"), // the list, its MARK, one pair
        b"h\x01",
        99_999,
    )
    .op(b"eq\x02");
    let calls = repeat(
        pairs
            .global("collections", "OrderedDict")
            .op(b"q\x03(h\x02tq\x04"),
        b"h\x03h\x04R",
        100_000,
    )
    .stop();
    let e = error(&calls);
    assert!(e.contains("more than 8388608 objects and items"), "{e}");
    // A call with 100,000 arguments.
    let args = repeat(
        Pickle::new().global("collections", "OrderedDict").op(b"(N"),
        b"N",
        99_999,
    )
    .op(b"tR.");
    let e = error(&args.0);
    assert_mentions(
        &e,
        &["a call of a reference to `collections.OrderedDict` with a tuple of 100000 items"],
    );
    // A 100,000-dimension shape.
    let p = Pickle::new()
        .ordered_dict()
        .str("w")
        .tensor("FloatStorage", "0", 0, &vec![1; 100_000], &[1])
        .end_dict();
    let e = error(&archive(&p, None, &[("0", &f32_bytes(&[1.0]))]));
    assert!(e.contains("a tensor's size has 100000 dimensions"), "{e}");
    // 50,000 keys all naming one dict of 50,000 entries.
    let mut p = Pickle::new().ordered_dict().str("w").op(b"q\x01");
    p = p.tensor("FloatStorage", "0", 0, &[1], &[1]).op(b"q\x02");
    p = repeat(p, b"h\x01h\x02", 49_999).op(b"uq\x03"); // memoized as entry 3
    p = p.op(b"}(");
    for i in 0..50_000 {
        p = p.str(&format!("k{i}")).op(b"h\x03");
    }
    let top = p.op(b"u.").0;
    let e = error(&archive(&top, None, &[("0", &f32_bytes(&[1.0]))]));
    assert!(e.contains("several state dicts (`k0`, `k1`"), "{e}");
    assert!(e.contains("and 49992 more"), "{e}");
}
