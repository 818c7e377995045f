//! Any bytes as a `.npy` input tensor.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convscope::npy::from_bytes(data);
});
