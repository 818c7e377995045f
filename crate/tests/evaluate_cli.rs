//! `convscope evaluate` and `convscope compare` end to end on the embedded Fashion-MNIST
//! model: the rows' areas are the library's curves of each method's map, the pictures are
//! written, and bad requests are refused before any work with one line naming them.

mod common;
use common::{arg, convscope_run as run, scratch};
use convscope::faithfulness::{self, Metric};
use convscope::image;
use convscope::methods::{self, Forward, Options, Target};
use convscope::model::{Graph, ModelCard};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../www/models")
}

fn sample(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../www/samples")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// `command` on every picture in the folder `images` with the model `card`, its files
/// written into `out`.
fn over_images<'a>(
    command: &[&'a str],
    card: &'a str,
    images: &'a Path,
    out: &'a Path,
) -> Vec<&'a str> {
    let mut words = command.to_vec();
    words.extend([
        "--model",
        card,
        "--images",
        arg(images),
        "--out-dir",
        arg(out),
    ]);
    words
}

fn card() -> String {
    models()
        .join("fashion-vgg.json")
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn evaluate_json_rows_are_the_librarys_curves_of_each_methods_map() {
    let image_path = sample("fashion-00000.png");
    let (ok, out, err) = run(&[
        "evaluate",
        "saliency",
        "occlusion",
        "--model",
        &card(),
        "--image",
        &image_path,
        "--step",
        "56",
        "--json",
    ]);
    assert!(ok, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.len(), 2);

    let (card, weights) = ModelCard::load(&models().join("fashion-vgg.json")).unwrap();
    let model = Graph::from_file(&card.arch, &weights).unwrap();
    let x = image::preprocess(
        &image::decode_file(image_path.as_ref()).unwrap(),
        &card.preprocessing(),
        card.arch.in_channels,
    )
    .unwrap();
    let fwd = Forward::new(&model, &x).unwrap();
    let class = fwd.class(Target::Top).unwrap();
    for (row, name) in rows.iter().zip(["saliency", "occlusion"]) {
        assert_eq!(row["method"], name);
        assert_eq!(row["class"], class);
        assert!(row["ms"].as_f64().unwrap() >= 0.0);
        let method = methods::build(name, &model, &Options::default()).unwrap();
        let map =
            faithfulness::metric_map(&method.attribute(&fwd, class).unwrap(), (28, 28)).unwrap();
        let curves = faithfulness::curves(&fwd, &map, class, &Metric::ALL, 56).unwrap();
        // 784 pixels, 56 a step: 14 steps, 15 scores.
        assert_eq!(row["deletion"].as_array().unwrap().len(), 15);
        for (curve, key) in curves.iter().zip(["deletion_auc", "insertion_auc"]) {
            let got = row[key].as_f64().unwrap();
            assert!(
                (got - curve.auc()).abs() < 1e-9,
                "{name} {key}: {got} vs {}",
                curve.auc()
            );
        }
    }
}

#[test]
fn compare_writes_the_grid_sorted_by_a_score_and_evaluate_the_curves() {
    let grid = scratch("evaluate", "grid.png");
    let curves = scratch("evaluate", "curves.png");
    let image_path = sample("fashion-00001-marker.png");
    let twin = models().join("fashion-vgg-shortcut.json");
    let (ok, out, err) = run(&[
        "compare",
        "saliency",
        "grad-cam",
        "occlusion",
        "--model",
        twin.to_str().unwrap(),
        "--image",
        &image_path,
        "--sanity",
        "--sort",
        "deletion",
        "--json",
        "--png",
        grid.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let deletion: Vec<f64> = rows
        .iter()
        .map(|r| r["deletion_auc"].as_f64().unwrap())
        .collect();
    assert!(deletion.windows(2).all(|w| w[0] <= w[1]), "{deletion:?}");
    for row in &rows {
        let s = row["sanity"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&s), "{row}");
    }
    // The sanity score is the sanity check's first step, from the map already made.
    let (ok, out, err) = run(&[
        "sanity",
        "grad-cam",
        "--model",
        twin.to_str().unwrap(),
        "--image",
        &image_path,
        "--json",
    ]);
    assert!(ok, "{err}");
    let check: Value = serde_json::from_str(&out).unwrap();
    let grad_cam = rows.iter().find(|r| r["method"] == "grad-cam").unwrap();
    assert_eq!(grad_cam["sanity"], check["steps"][0]["spearman"]);
    // Three 224-px tiles (the 28-px map zoomed 8x) with their colour bars, in one row.
    let png = ::image::open(&grid).unwrap();
    assert!(
        png.width() > 3 * 224 && png.height() > 224,
        "{}x{}",
        png.width(),
        png.height()
    );

    let (ok, _, err) = run(&[
        "evaluate",
        "grad-cam",
        "--model",
        &card(),
        "--image",
        &image_path,
        "--png",
        curves.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(::image::open(&curves).unwrap().width() >= 800);
}

#[test]
fn bad_requests_are_refused_before_any_work() {
    let image_path = sample("fashion-00000.png");
    let card = card();
    let missing_dir = scratch("evaluate", "no/such/folder/curves.png");
    let cases: [(&[&str], &str); 5] = [
        (&["--metric", "road"], "unknown metric `road`"),
        (&["saliency", "--window", "4"], "--window applies to none"),
        (&["--png", missing_dir.to_str().unwrap()], "does not exist"),
        (&["nosuch"], "nosuch"),
        (&["--sort", "sanity"], "--sanity"),
    ];
    for (extra, want) in cases {
        let mut args = vec!["evaluate", "--model", &card, "--image", &image_path];
        // The method names go first, as a person types them.
        let (methods, rest): (Vec<&str>, Vec<&str>) = (
            extra
                .iter()
                .take_while(|a| !a.starts_with("--"))
                .copied()
                .collect(),
            extra
                .iter()
                .skip_while(|a| !a.starts_with("--"))
                .copied()
                .collect(),
        );
        args.splice(1..1, methods);
        args.extend(rest);
        let (ok, _, err) = run(&args);
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err}");
    }
}

/// What a new user types wrong is refused before any work, each with its own words:
/// nothing is written when an output's folder is missing, a count of 0 and a negative
/// class are named as such.
#[test]
fn mistakes_are_refused_before_any_work_with_their_own_words() {
    let image_path = sample("fashion-00000.png");
    let card = card();
    let npy = scratch("evaluate", "written-anyway.npy");
    let _ = std::fs::remove_file(&npy);
    let missing = scratch("evaluate", "none/x.png");
    let m = ["--model", card.as_str(), "--image", image_path.as_str()];
    fn with<'a>(args: &[&'a str], m: &[&'a str]) -> Vec<&'a str> {
        [args, m].concat()
    }
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            with(&["predict", "--top", "0"], &m),
            "must be at least 1, got 0",
        ),
        (
            with(
                &[
                    "explain",
                    "saliency",
                    "--target",
                    "-1",
                    "--out",
                    npy.to_str().unwrap(),
                ],
                &m,
            ),
            "got -1",
        ),
        (
            with(
                &[
                    "explain",
                    "saliency",
                    "--out",
                    npy.to_str().unwrap(),
                    "--png",
                    missing.to_str().unwrap(),
                ],
                &m,
            ),
            "does not exist",
        ),
        (
            vec![
                "maximize", "--model", &card, "--class", "1", "--steps", "0", "--png", "m.png",
            ],
            "must be at least 1, got 0",
        ),
        (
            vec![
                "maximize",
                "--model",
                &card,
                "--class",
                "1",
                "--png",
                missing.to_str().unwrap(),
            ],
            "does not exist",
        ),
    ];
    for (args, want) in cases {
        let (ok, out, err) = run(&args);
        assert!(!ok, "{args:?} should fail");
        assert!(out.is_empty(), "{args:?} printed {out}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert!(
        !npy.exists(),
        "the .npy was written before the --png path was checked"
    );
}

/// A folder of pictures through `explain` and `compare`: each result written, the broken
/// picture reported and skipped, an index and an offline gallery, and nothing replaced
/// on a second run unless asked.
#[test]
fn a_folder_of_pictures_becomes_results_an_index_and_a_gallery() {
    let images = scratch("evaluate", "batch-in");
    let _ = std::fs::remove_dir_all(&images);
    std::fs::create_dir_all(&images).unwrap();
    for name in ["fashion-00000.png", "fashion-00001.png"] {
        std::fs::copy(sample(name), images.join(name)).unwrap();
    }
    std::fs::write(images.join("broken.png"), b"not a picture").unwrap();
    std::fs::write(images.join("notes.txt"), b"ignored").unwrap();
    let out = scratch("evaluate", "batch-out");
    let _ = std::fs::remove_dir_all(&out);
    let card = card();
    let args = over_images(&["explain", "grad-cam"], &card, &images, &out);
    let (ok, _, err) = run(&args);
    assert!(ok, "{err}");
    assert!(
        err.contains("broken.png") && err.contains("not a PNG, JPEG or WebP"),
        "{err}"
    );
    for name in ["fashion-00000", "fashion-00001"] {
        let map = convscope::npy::read(&out.join(format!("{name}.npy"))).unwrap();
        assert_eq!(
            map.dims(),
            [14, 14],
            "the raw Grad-CAM map at the default layer"
        );
        assert!(
            ::image::open(out.join(format!("{name}.png")))
                .unwrap()
                .width()
                >= 224
        );
    }
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        index["items"][0]["class"], 9,
        "fashion-00000 is an ankle boot"
    );
    assert!(index["skipped"][0]["image"]
        .as_str()
        .unwrap()
        .ends_with("broken.png"));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert_eq!(html.matches("<img src=\"fashion-0000").count(), 2);
    assert!(
        !html.contains("http"),
        "the gallery opens offline: no outside links"
    );

    // A second run keeps what is there, unless asked.
    let before = std::fs::metadata(out.join("fashion-00000.npy"))
        .unwrap()
        .modified()
        .unwrap();
    let (ok, _, err) = run(&args);
    assert!(!ok && err.contains("--overwrite"), "{err}");
    let after = std::fs::metadata(out.join("fashion-00000.npy"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
    let (ok, _, err) = run(&[&args[..], &["--overwrite"]].concat());
    assert!(ok, "{err}");

    let grids = scratch("evaluate", "batch-compare");
    let _ = std::fs::remove_dir_all(&grids);
    let (ok, _, err) = run(&over_images(
        &["compare", "saliency", "occlusion"],
        &card,
        &images,
        &grids,
    ));
    assert!(ok, "{err}");
    let maps = convscope::npy::read(&grids.join("fashion-00001.npy")).unwrap();
    assert_eq!(maps.dims(), [2, 28, 28], "one display map per method");
    let rows: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(grids.join("fashion-00001.json")).unwrap())
            .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(grids.join("fashion-00001.png").exists() && grids.join("index.html").exists());
}
