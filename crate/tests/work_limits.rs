//! Requests too big to run (issue 8): each is refused from its numbers with an error that
//! gives them, before the enormous allocation or the hours of work it would cause.

mod common;
use candle_core::{DType, Device, Tensor};
use common::*;
use convscope::limits::{MAX_PASSES, TRACE_BUDGET_BYTES};
use convscope::methods::{build, Forward, Options};
use convscope::model::{ArchSpec, Graph};
use convscope::probes::maximize::{maximize, InputSpace, MaximizeOptions, Objective, MAX_UNITS};
use convscope::progress::Unwatched;

/// The error of `method` with `options` on `model` for the input `x`.
fn error_of(model: &Graph, x: &Tensor, method: &str, options: Options) -> String {
    let fwd = Forward::new(model, x).unwrap();
    match build(method, model, &options).and_then(|m| m.attribute(&fwd, 0)) {
        Ok(_) => panic!("{method} with {options:?} should be refused"),
        Err(e) => e.to_string(),
    }
}

fn zeros(c: usize, h: usize, w: usize) -> Tensor {
    Tensor::zeros((1, c, h, w), DType::F32, &Device::Cpu).unwrap()
}

#[test]
fn occlusion_with_window_1_stride_1_on_a_big_input_is_refused() {
    // 256x256: 65,536 windows, four times the limit; a 1-pixel stride is the usual slip.
    let e = error_of(
        tiny(),
        &zeros(3, 256, 256),
        "occlusion",
        Options::default().with("window", 1).with("stride", 1),
    );
    assert_mentions(
        &e,
        &[
            "window 1 and stride 1",
            "256x256 windows",
            "65536 passes",
            &format!("limit of {MAX_PASSES}"),
            "larger stride",
        ],
    );
    // The same window on the 32x32 fixture is 1,024 windows: allowed.
    let fwd = Forward::new(tiny(), &input("astronaut32")).unwrap();
    let ok = Options::default().with("window", 1).with("stride", 1);
    assert!(build("occlusion", tiny(), &ok)
        .unwrap()
        .attribute(&fwd, 0)
        .is_ok());
}

#[test]
fn absurd_step_and_sample_counts_are_refused_before_allocating() {
    // Each would be a weights vector of terabytes before the first pass.
    let x = input("astronaut32");
    let e = error_of(
        tiny(),
        &x,
        "integrated-gradients",
        Options::default().with("steps", 1u64 << 40),
    );
    assert_mentions(
        &e,
        &[
            "integrated gradients with 1099511627776 steps",
            "fewer steps",
        ],
    );
    let e = error_of(
        tiny(),
        &x,
        "smoothgrad",
        Options::default().with("samples", usize::MAX),
    );
    assert_mentions(
        &e,
        &[
            &format!("SmoothGrad with {} samples", usize::MAX),
            "fewer samples",
        ],
    );
}

#[test]
fn score_cam_of_a_layer_wider_than_the_limit_is_refused() {
    // One forward pass per channel: 16,400 channels is over the limit.
    let spec = ArchSpec::parse("cfg=16400,M;pool=1;hidden=2;classes=2;size=8").unwrap();
    let model = Graph::synthetic(&spec, 1).unwrap();
    let e = error_of(
        &model,
        &zeros(3, 8, 8),
        "score-cam",
        Options::default().with("layer", "features.1"),
    );
    assert_mentions(
        &e,
        &["Score-CAM of a layer with 16400 channels", "fewer channels"],
    );
}

#[test]
fn an_input_whose_layer_outputs_do_not_fit_is_refused_before_the_forward_pass() {
    // 8192 channels at 512x512: the conv and ReLU outputs alone are 16 GiB; the input
    // itself is only 3 MiB.
    let spec = ArchSpec::parse("cfg=8192,M;pool=1;hidden=2;classes=2").unwrap();
    let model = Graph::synthetic(&spec, 1).unwrap();
    let e = model
        .forward(&val(&zeros(3, 512, 512)))
        .unwrap_err()
        .to_string();
    assert_mentions(
        &e,
        &[
            "a batch of 1 3x512x512 input(s)",
            &format!("{} MiB this platform allows", TRACE_BUDGET_BYTES >> 20),
        ],
    );
    assert!(Forward::new(&model, &zeros(3, 512, 512)).is_err());
}

#[test]
fn maximizing_many_units_of_a_large_picture_is_refused() {
    // 64 pictures of 512 px through a 512-channel layer keep 64 GiB of outputs.
    let spec = ArchSpec::parse("cfg=512,M;pool=1;hidden=2;classes=2").unwrap();
    let model = Graph::synthetic(&spec, 1).unwrap();
    let mut opts = MaximizeOptions::for_model(&model);
    (opts.size, opts.steps) = (512, 1);
    let objective = Objective::channels("features.1", (0..MAX_UNITS).collect());
    let space =
        InputSpace::from_preprocessing(&convscope::image::Preprocessing::imagenet(), 3).unwrap();
    let e = maximize(&model, &objective, &space, &opts, &Unwatched, |_| {})
        .unwrap_err()
        .to_string();
    assert_mentions(
        &e,
        &[&format!("a batch of {MAX_UNITS} 3x512x512 input(s)"), "MiB"],
    );
}
