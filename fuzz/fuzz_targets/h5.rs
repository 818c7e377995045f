//! Any bytes as a Keras weights file (HDF5, or a `.keras` zip) for a small VGG: an error
//! or the model's tensors, never a panic, an abort or an allocation the file merely claims.
#![no_main]
use convscope::model::formats::keras;
use convscope::model::{families, ArchSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = ArchSpec::parse("cfg=4,4,M,8,M;in=3;pool=2;hidden=8;classes=5") else {
        return;
    };
    let Ok(graph) = families::graph(&spec) else {
        return;
    };
    // The reader itself, whatever the first bytes (Graph::from_bytes sends it only the
    // files that start as HDF5 or a .keras archive).
    if let Ok(file) = keras::read(data.to_vec()) {
        let _ = keras::vgg::state_dict(&spec.to_string(), &graph, &file);
    }
});
