//! Any text as a model card (and so as an architecture spec): parsed and validated, or
//! refused with an error.
#![no_main]
use convscope::model::ModelCard;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(card) = ModelCard::from_json(text) {
            let _ = convscope::model::summary::summarize(&card.arch, None);
        }
        let _ = convscope::model::ArchSpec::parse(text);
    }
});
