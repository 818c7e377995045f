//! Any bytes as a picture: decoded within the limits and preprocessed, or an error.
#![no_main]
use convscope::image::{decode, preprocess, Preprocessing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = decode(data) {
        let _ = preprocess(&img, &Preprocessing::imagenet(), 3);
    }
});
