//! Feature visualization: filter grids, feature maps and activation maximization, through
//! the library and through the `convscope` command line.

mod common;

use common::{arg, convscope_run as convscope, with_tiny};
use common::{fixture, input, layer_output, max_abs, tiny, vgg16};
use convscope::image::Preprocessing;
use convscope::model::ops::Op;
use convscope::model::Graph;
use convscope::probes::feature_maps::{activation, feature_maps, FeatureMapOptions, Order};
use convscope::probes::filters::{filters, FilterOptions};
use convscope::probes::maximize::{
    maximize, InputSpace, MaximizeOptions, Maximized, Objective, Step,
};
use convscope::probes::{Scaling, TileGrid};
use convscope::progress::Unwatched;
use convscope::render::grid::{grayscale, level, png};
use convscope::Error;
use std::path::PathBuf;

fn imagenet(model: &Graph) -> InputSpace {
    InputSpace::from_preprocessing(&Preprocessing::imagenet(), model.arch().in_channels).unwrap()
}

fn run(model: &Graph, objective: &Objective, opts: &MaximizeOptions) -> Maximized {
    maximize(model, objective, &imagenet(model), opts, &Unwatched, |_| {}).unwrap()
}

fn err(model: &Graph, objective: &Objective, opts: &MaximizeOptions) -> String {
    maximize(model, objective, &imagenet(model), opts, &Unwatched, |_| {})
        .unwrap_err()
        .to_string()
}

/// The bar: the objective at least doubles, or goes from <= 0 to > 0.
/// The weights of convolution `name`, `[out, in, kh, kw]` flattened.
fn conv_weight(model: &Graph, name: &str) -> Vec<f32> {
    match model.op(model.node(name).unwrap()) {
        Op::Conv(c) => c.weight.clone(),
        other => panic!("{name} is not a convolution: {other:?}"),
    }
}

fn assert_raised(what: &str, start: f32, end: f32) {
    let ok = if start > 0.0 {
        end >= 2.0 * start
    } else {
        end > 0.0
    };
    assert!(
        ok,
        "{what}: objective {start} -> {end} is not raised enough"
    );
}

/// Reads tile `t`, channel `c`, element `(y, x)` back from a rendered grid (the centre of
/// its zoomed block) and undoes the tile's stated scaling.
fn read_back(
    grid: &TileGrid,
    img: &image::RgbaImage,
    t: usize,
    c: usize,
    y: usize,
    x: usize,
) -> (u8, f32) {
    let layout = grid.layout();
    let (x0, y0) = layout.origin(t, grid.height, grid.width);
    let half = layout.zoom / 2;
    let px = img.get_pixel(
        (x0 + x * layout.zoom + half) as u32,
        (y0 + y * layout.zoom + half) as u32,
    );
    let level = px.0[if grid.channels == 3 { c } else { 0 }];
    let info = &grid.tiles[t];
    (level, info.lo + level as f32 / 255.0 * (info.hi - info.lo))
}

#[test]
fn maximization_raises_a_tiny_class_logit() {
    let model = tiny();
    let mut opts = MaximizeOptions::for_model(model);
    opts.steps = 40;
    let r = run(model, &Objective::classes(model, vec![3]), &opts);
    assert_eq!(
        (r.size, r.channels, r.steps, r.cancelled),
        (32, 3, 40, false)
    );
    eprintln!(
        "tiny class 3: {:?} -> {:?}",
        r.objective_start, r.objective_end
    );
    assert_raised("tiny class 3", r.objective_start[0], r.objective_end[0]);
    assert!(r.pictures.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn maximization_raises_a_vgg16_channel_at_128_px() {
    let model = vgg16();
    let mut opts = MaximizeOptions::for_model(model);
    assert_eq!(
        (opts.size, opts.jitter),
        (128, 8),
        "VGG16 defaults to 128 px"
    );
    opts.steps = 12;
    let r = run(model, &Objective::channels("features.15", vec![0]), &opts);
    eprintln!(
        "vgg16 features.15 channel 0: {:?} -> {:?}",
        r.objective_start, r.objective_end
    );
    assert_raised(
        "features.15 channel 0",
        r.objective_start[0],
        r.objective_end[0],
    );
}

#[test]
fn several_channels_go_in_one_batch_as_if_alone() {
    // Without jitter the random draws are the initial pictures only, taken in unit order,
    // so the first picture of a batch starts where a lone run starts; batch items never
    // interact, so both runs climb alike.
    let model = tiny();
    let mut opts = MaximizeOptions::for_model(model);
    (opts.steps, opts.jitter) = (10, 0);
    let both = run(model, &Objective::channels("features.4", vec![5, 2]), &opts);
    let alone = run(model, &Objective::channels("features.4", vec![5]), &opts);
    assert_eq!(both.units, [5, 2]);
    assert_eq!(both.objective_start[0], alone.objective_start[0]);
    let (a, b) = (both.objective_end[0], alone.objective_end[0]);
    assert!(
        (a - b).abs() <= 1e-4 * b.abs().max(1.0),
        "batched {a} vs alone {b}"
    );
    for i in 0..2 {
        assert_raised(
            "batched channel",
            both.objective_start[i],
            both.objective_end[i],
        );
    }
}

#[test]
fn the_same_seed_gives_byte_identical_pngs() {
    let model = tiny();
    let objective = Objective::classes(model, vec![1, 7]);
    let picture = |seed: u64, fourier: bool| {
        let mut opts = MaximizeOptions::for_model(model);
        (opts.steps, opts.seed, opts.fourier) = (8, seed, fourier);
        (opts.tv, opts.l2, opts.blur_every) = (0.1, 0.01, 3);
        png(&run(model, &objective, &opts)
            .grid()
            .unwrap()
            .render(grayscale)
            .unwrap())
        .unwrap()
    };
    for fourier in [false, true] {
        assert_eq!(
            picture(4, fourier),
            picture(4, fourier),
            "fourier {fourier}"
        );
        assert_ne!(
            picture(4, fourier),
            picture(5, fourier),
            "fourier {fourier}"
        );
    }
}

#[test]
fn fourier_parameterisation_raises_the_objective_too() {
    let model = tiny();
    let mut opts = MaximizeOptions::for_model(model);
    (opts.steps, opts.fourier, opts.blur_every) = (40, true, 10);
    let r = run(model, &Objective::classes(model, vec![3]), &opts);
    assert_raised("fourier class 3", r.objective_start[0], r.objective_end[0]);
}

#[test]
fn progress_comes_every_step_and_cancelling_stops_early() {
    let model = tiny();
    let mut opts = MaximizeOptions::for_model(model);
    opts.steps = 50;
    let mut seen = Vec::new();
    let r = maximize(
        model,
        &Objective::classes(model, vec![2]),
        &imagenet(model),
        &opts,
        &|done: usize, _| {
            if done == 3 {
                Err(Error::Cancelled)
            } else {
                Ok(())
            }
        },
        |p: &Step| {
            assert_eq!(
                (p.steps, p.objective.len(), p.pictures.len()),
                (50, 1, 3 * 32 * 32)
            );
            seen.push(p.step);
        },
    )
    .unwrap();
    assert_eq!(seen, [1, 2, 3]);
    assert_eq!((r.steps, r.cancelled), (3, true));
}

#[test]
fn bad_maximization_options_say_what_is_wrong() {
    let (t, v) = (tiny(), vgg16());
    let base = MaximizeOptions::for_model(t);
    let with = |f: &dyn Fn(&mut MaximizeOptions)| {
        let mut o = base.clone();
        f(&mut o);
        o
    };
    for (model, objective, opts, needle) in [
        (
            t,
            Objective::channels("features.99", vec![0]),
            base.clone(),
            "unknown layer `features.99`",
        ),
        (
            v,
            Objective::channels("features.15", vec![256]),
            MaximizeOptions::for_model(v),
            "channel 256 is out of range: `features.15` has 256 channels (0..255)",
        ),
        (
            t,
            Objective::classes(t, vec![10]),
            base.clone(),
            "class 10 is out of range: `classifier.6` has 10 classes (0..9)",
        ),
        (
            t,
            Objective::classes(t, vec![]),
            base.clone(),
            "at least one class or channel",
        ),
        (
            t,
            Objective::classes(t, vec![0]),
            with(&|o| o.size = 4),
            "image size 4 is too small: tiny needs at least 8 px",
        ),
        (
            t,
            Objective::classes(t, vec![0]),
            with(&|o| o.jitter = 32),
            "jitter 32 must be smaller than the image size 32",
        ),
        (
            t,
            Objective::classes(t, vec![0]),
            with(&|o| o.lr = -1.0),
            "learning rate must be a positive number",
        ),
        (
            t,
            Objective::classes(t, vec![0]),
            with(&|o| o.tv = f32::NAN),
            "tv weight must be zero or positive",
        ),
    ] {
        let e = err(model, &objective, &opts);
        assert!(e.contains(needle), "expected `{needle}` in `{e}`");
    }
}

#[test]
fn the_features_0_filter_grid_reproduces_the_weights() {
    let model = vgg16();
    let w = conv_weight(model, "features.0"); // [64, 3, 3, 3]
    for scaling in [Scaling::PerTile, Scaling::Shared] {
        let grid = filters(
            model,
            "features.0",
            &FilterOptions {
                scaling,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            (grid.tiles.len(), grid.channels, grid.height, grid.width),
            (64, 3, 3, 3)
        );
        assert!(
            grid.title.contains("RGB = input channels 0,1,2"),
            "{}",
            grid.title
        );
        let img = grid.render(grayscale).unwrap();
        let mut worst = 0f32;
        for o in 0..64 {
            let (lo, hi) = (grid.tiles[o].lo, grid.tiles[o].hi);
            let own = &w[o * 27..(o + 1) * 27];
            if scaling == Scaling::PerTile {
                // The stated range is the tile's own min..max, so both ends are drawn.
                assert_eq!(lo, own.iter().cloned().fold(f32::INFINITY, f32::min));
                assert_eq!(hi, own.iter().cloned().fold(f32::NEG_INFINITY, f32::max));
            } else {
                assert_eq!((lo, hi), (grid.tiles[0].lo, grid.tiles[0].hi));
            }
            for c in 0..3 {
                for y in 0..3 {
                    for x in 0..3 {
                        let weight = w[((o * 3 + c) * 3 + y) * 3 + x];
                        let (lvl, back) = read_back(&grid, &img, o, c, y, x);
                        // Exactly the 8-bit level of the stated scaling, and back within
                        // half a level of the weight.
                        assert_eq!(
                            lvl,
                            level((weight - lo) / (hi - lo)),
                            "tile {o} c{c} ({y},{x})"
                        );
                        let err = (back - weight).abs() / (hi - lo);
                        worst = worst.max(err);
                    }
                }
            }
        }
        assert!(
            worst <= 0.5 / 255.0 + 1e-6,
            "{scaling:?}: read-back error {worst} of the range"
        );
    }
}

#[test]
fn deeper_filters_show_one_input_channel() {
    let model = tiny();
    let grid = filters(
        model,
        "features.3",
        &FilterOptions {
            channel: Some(5),
            ..Default::default()
        },
    )
    .unwrap();
    let w = conv_weight(model, "features.3"); // [16, 8, 3, 3]
    assert_eq!((grid.tiles.len(), grid.channels), (16, 1));
    for o in 0..16 {
        let t = &grid.tiles[o];
        for k in 0..9 {
            let raw = t.lo + grid.values[o * 9 + k] * (t.hi - t.lo);
            assert!((raw - w[(o * 8 + 5) * 9 + k]).abs() < 1e-6);
        }
    }
    let bad = |layer: &str, channel| {
        filters(
            model,
            layer,
            &FilterOptions {
                channel,
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string()
    };
    assert!(bad("features.1", None).contains("`features.1` is a ReLU layer and has no kernels; the convolutions are features.0, features.3, features.6"));
    assert!(bad("features.3", Some(8))
        .contains("input channel 8 is out of range: `features.3` has 8 input channel(s) (0..7)"));
    assert!(bad("features.42", None).contains("unknown layer `features.42`"));
}

#[test]
fn feature_map_grids_match_forward_range() {
    let model = tiny();
    let x = input("astronaut32");
    for (layer, order, scaling) in [
        ("features.1", Order::Mean, Scaling::PerTile),
        ("features.4", Order::Index, Scaling::Shared),
        ("features.8", Order::Mean, Scaling::Shared),
    ] {
        let reference = layer_output(model, &x, layer).get(0).unwrap();
        let (c, h, w) = reference.dims3().unwrap();
        let r: Vec<f32> = reference.flatten_all().unwrap().to_vec1().unwrap();
        let a = activation(model, &x, layer).unwrap();
        let grid = feature_maps(
            &a,
            layer,
            &FeatureMapOptions {
                order,
                scaling,
                max: None,
            },
        )
        .unwrap();
        assert_eq!((grid.tiles.len(), grid.height, grid.width), (c, h, w));
        let img = grid.render(grayscale).unwrap();
        let means: Vec<f32> = grid.tiles.iter().map(|t| t.mean).collect();
        if order == Order::Mean {
            assert!(
                means.windows(2).all(|m| m[0] >= m[1]),
                "{layer}: not sorted by mean: {means:?}"
            );
        } else {
            assert!(grid.tiles.iter().enumerate().all(|(i, t)| t.index == i));
        }
        let plane = h * w;
        for (t, info) in grid.tiles.iter().enumerate() {
            let ch = &r[info.index * plane..(info.index + 1) * plane];
            for (i, want) in ch.iter().enumerate() {
                let got = info.lo + grid.values[t * plane + i] * (info.hi - info.lo);
                assert!(
                    (got - want).abs() <= 1e-5 * info.hi.abs().max(1.0),
                    "{layer} ch {} px {i}: {got} vs {want}",
                    info.index
                );
                let (lvl, _) = read_back(&grid, &img, t, 0, i / w, i % w);
                assert_eq!(lvl, level(grid.values[t * plane + i]));
            }
        }
    }
    let max3 = feature_maps(
        &activation(model, &x, "features.1").unwrap(),
        "features.1",
        &FeatureMapOptions {
            max: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(max3.tiles.len(), 3);
    let e = activation(model, &x, "classifier.0")
        .and_then(|a| feature_maps(&a, "classifier.0", &Default::default()));
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("`classifier.0` outputs 32 values, not feature maps"));
}

// ---- the command line ----

fn tmp(name: &str) -> PathBuf {
    common::scratch("probes", name)
}

#[test]
fn cli_filters_writes_the_grid_and_its_scaling() {
    let png_path = tmp("filters.png");
    let (ok, stdout, stderr) = convscope(&with_tiny(&[
        "filters",
        "--layer",
        "features.0",
        "--scale",
        "shared",
        "--png",
        arg(&png_path),
        "--json",
    ]));
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["grid"]["scaling"], "shared");
    assert_eq!(json["grid"]["tiles"].as_array().unwrap().len(), 8);
    assert!(json["caption"].as_str().unwrap().contains("shared scaling"));
    let img = image::open(&png_path).unwrap();
    // 8 tiles of 3x3 at zoom 21 in 3 columns, 3-pixel gaps: 3 + 3 * (63 + 3) = 201
    // wide, 3 rows.
    assert_eq!((img.width(), img.height()), (201, 201));
    assert_eq!(
        (
            json["layout"]["zoom"].as_u64(),
            json["layout"]["gap"].as_u64()
        ),
        (Some(21), Some(3))
    );
}

#[test]
fn cli_features_writes_the_grid_and_the_activation() {
    let (png_path, npy_path) = (tmp("features.png"), tmp("features.npy"));
    let image = fixture("astronaut32.png");
    let (ok, _, stderr) = convscope(&with_tiny(&[
        "features",
        "--image",
        arg(&image),
        "--layer",
        "features.4",
        "--max",
        "4",
        "--sort",
        "index",
        "--zoom",
        "2",
        "--png",
        arg(&png_path),
        "--out",
        arg(&npy_path),
    ]));
    assert!(ok, "{stderr}");
    assert!(stderr.contains("per-tile scaling"), "{stderr}");
    let a = convscope::npy::read(&npy_path).unwrap();
    let want = layer_output(tiny(), &input("astronaut32"), "features.4")
        .get(0)
        .unwrap();
    assert_eq!(a.dims(), [16, 16, 16]);
    let diff = max_abs(&(a - want).unwrap());
    assert!(diff < 1e-5, "{diff}");
    let img = image::open(&png_path).unwrap();
    // 4 tiles of 16x16 at zoom 2 in 2 columns: 1 + 2 * (32 + 1) = 67.
    assert_eq!((img.width(), img.height()), (67, 67));
}

#[test]
fn cli_maximize_reports_json_and_is_reproducible() {
    let (a, b) = (tmp("max_a.png"), tmp("max_b.png"));
    let args = |p: &PathBuf| -> Vec<String> {
        with_tiny(&[
            "maximize",
            "--class",
            "3",
            "--steps",
            "20",
            "--seed",
            "9",
            "--tv",
            "0.05",
            "--json",
            "--png",
            arg(p),
        ])
        .into_iter()
        .map(String::from)
        .collect()
    };
    let run = |p: &PathBuf| {
        let v = args(p);
        convscope(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (ok, stdout, stderr) = run(&a);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for key in ["objective_start", "objective_end", "steps", "ms"] {
        assert!(json[key].is_number(), "{key} missing in {json}");
    }
    assert_eq!(json["steps"], 20);
    assert_raised(
        "cli class 3",
        json["objective_start"].as_f64().unwrap() as f32,
        json["objective_end"].as_f64().unwrap() as f32,
    );
    assert!(run(&b).0);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn cli_errors_are_one_clear_line() {
    let out = tmp("never.png");
    let p = arg(&out);
    for (args, needle) in [
        (
            with_tiny(&[
                "maximize",
                "--layer",
                "features.4",
                "--channel",
                "99",
                "--png",
                p,
            ]),
            "channel 99 is out of range: `features.4` has 16 channels",
        ),
        (
            with_tiny(&["maximize", "--class", "12", "--png", p]),
            "class 12 is out of range",
        ),
        (
            with_tiny(&["maximize", "--class", "1", "--size", "4", "--png", p]),
            "image size 4 is too small",
        ),
        (
            with_tiny(&["filters", "--layer", "avgpool", "--png", p]),
            "has no kernels",
        ),
        (
            with_tiny(&[
                "features",
                "--input",
                "nope.npy",
                "--layer",
                "features.1",
                "--png",
                p,
            ]),
            "nope.npy",
        ),
        (
            with_tiny(&[
                "features",
                "--input",
                fixture("astronaut32.npy").to_str().unwrap(),
                "--layer",
                "features.77",
                "--png",
                p,
            ]),
            "unknown layer `features.77`",
        ),
    ] {
        let (ok, _, stderr) = convscope(&args);
        assert!(!ok, "{args:?} should fail");
        assert!(
            stderr.starts_with("convscope: error: ") && stderr.contains(needle),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    assert!(!out.exists());
}
