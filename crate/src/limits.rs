//! Work-size limits: how much one request may ask of the machine, checked from the
//! request's numbers before anything is allocated or computed, so that a window of 1
//! pixel, a million integration steps or a 64-unit maximization of a large picture is
//! refused with the numbers instead of an out-of-memory abort (which in the browser
//! kills the worker) or an hours-long run.

use crate::error::{Error, Result};

/// Bytes the kept outputs of one forward pass may take (every layer's output for every
/// image of the batch, as the reverse pass keeps them). A wasm32 instance addresses
/// 4 GiB in all, which also holds the model (VGG16: 528 MiB), the gradients and the
/// page's buffers.
pub const TRACE_BUDGET_BYTES: u64 = if cfg!(target_arch = "wasm32") {
    1536 << 20
} else {
    16 << 30
};

/// Most passes of the network one request may ask for: occlusion windows, integration
/// steps, SmoothGrad samples, Score-CAM channels. On VGG16 at 224 px, occlusion with
/// stride 2 is at most 12,544 windows; stride 1 would be 50,176, hours in a browser tab.
pub const MAX_PASSES: usize = 16_384;

/// Refuses `count` passes of the network over [`MAX_PASSES`]; `what` names them (with
/// the options that made them) and `hint` says how to ask for fewer.
pub fn check_passes(count: usize, what: &str, hint: &str) -> Result<()> {
    if count > MAX_PASSES {
        return Err(Error::Input(format!(
            "{what} is {count} passes of the network, over the limit of {MAX_PASSES}; {hint}"
        )));
    }
    Ok(())
}

/// Refuses a forward pass whose kept outputs would exceed [`TRACE_BUDGET_BYTES`].
pub fn check_trace(bytes: u64, what: impl FnOnce() -> String) -> Result<()> {
    if bytes > TRACE_BUDGET_BYTES {
        return Err(Error::Input(format!(
            "{} needs {} MiB for its layer outputs, over the {} MiB this platform allows; use a smaller input or fewer images at once",
            what(),
            bytes >> 20,
            TRACE_BUDGET_BYTES >> 20
        )));
    }
    Ok(())
}
