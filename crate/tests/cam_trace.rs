//! Grad-CAM and Grad-CAM++ read the traced pass only from their layer on, so their pass
//! is a plain one to the layer and a trace after it (`Forward::for_method`): the maps
//! must be those of a full trace, for layers that cut the graph and, through a full
//! trace, for those that do not (inside a residual block).

use candle_core::{Device, Tensor};
use convscope::methods::{build, Attribution, Forward, Options, Target};
use convscope::model::{ArchSpec, Graph};

fn image(size: usize) -> Tensor {
    let v: Vec<f32> = (0..3 * size * size)
        .map(|i| ((i * 7919 % 1009) as f32 / 1009.0 - 0.5) * 2.0)
        .collect();
    Tensor::from_vec(v, (1, 3, size, size), &Device::Cpu).unwrap()
}

fn layer_map(a: &Attribution) -> Vec<f32> {
    let Attribution::Layer(t) = a else {
        panic!("a class-activation map is a layer's map");
    };
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn maps_traced_from_their_layer_are_a_full_traces() {
    let cases = [
        ("mobilenet_v2", "features.18", true),
        ("mobilenet_v2", "features.13", true),
        ("resnet18", "layer4", true),
        ("resnet18", "layer3.1.relu", false),
        // A batch norm whose ReLU a trace computes with it.
        ("densenet121", "features.norm5", true),
    ];
    for (arch, layer, cuts) in cases {
        let model = Graph::synthetic(&ArchSpec::parse(arch).unwrap(), 3).unwrap();
        assert_eq!(
            model.cuts(model.node(layer).unwrap()),
            cuts,
            "{arch} {layer}"
        );
        let x = image(96);
        for method in ["grad-cam", "grad-cam++"] {
            let m = build(method, &model, &Options::default().with("layer", layer)).unwrap();
            let full = Forward::new(&model, &x).unwrap();
            let class = full.class(Target::Top).unwrap();
            let want = layer_map(&m.attribute(&full, class).unwrap());
            let after = Forward::for_method(&model, &x, m.as_ref()).unwrap();
            // Batches are sized by the pass's largest map, kept or not.
            assert_eq!(
                after.largest_activation_bytes(),
                full.largest_activation_bytes(),
                "{arch} {layer}"
            );
            let got = layer_map(&m.attribute(&after, class).unwrap());
            let scale = want.iter().fold(0f32, |a, v| a.max(v.abs()));
            assert!(
                scale > 0.0,
                "{arch} {layer} {method}: an empty map checks nothing"
            );
            let err = got
                .iter()
                .zip(&want)
                .fold(0f32, |a, (g, w)| a.max((g - w).abs()));
            assert!(
                err <= 1e-4 * scale,
                "{arch} {layer} {method}: error {err} of {scale}"
            );
        }
    }
}

#[test]
fn a_trace_from_a_layer_on_knows_the_largest_map_before_it() {
    // ResNet-18 at 96 px: the stem's 64 maps of 48 x 48 are the largest, 4 bytes each.
    let model = Graph::synthetic(&ArchSpec::parse("resnet18").unwrap(), 3).unwrap();
    let m = build("grad-cam", &model, &Options::default()).unwrap();
    let after = Forward::for_method(&model, &image(96), m.as_ref()).unwrap();
    assert_eq!(after.largest_activation_bytes(), 4 * 64 * 48 * 48);
}
