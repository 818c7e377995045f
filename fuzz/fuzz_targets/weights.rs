//! Any bytes as a weights file for the tiny architecture: an error or a model, never a
//! panic, an abort or an allocation the header merely claims.
#![no_main]
use convscope::model::{ArchSpec, Vgg};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(spec) = ArchSpec::parse("tiny") {
        let _ = Vgg::from_safetensors_bytes(&spec, data.to_vec());
    }
});
