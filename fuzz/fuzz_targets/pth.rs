//! Any bytes as a `.pth` checkpoint: tensors or an error, never a panic, an abort, an
//! allocation a size field merely claims, or a call of anything the pickle names.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convscope::model::formats::pth::read(data);
});
