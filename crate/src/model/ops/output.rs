//! Buffers of the kernels. Output maps allocated without zeroing, for kernels that write
//! every value: the memory-bound layers (a 1x1 expansion or a depthwise convolution at
//! 112 px writes several MB) otherwise write their output twice, once as zeros, once as
//! results (10% of MobileNetV2's forward pass natively, 8.0 -> 7.2 ms, one thread). And
//! each thread's scratch, kept from call to call (packed pixels, padded planes,
//! Winograd's transformed tiles), never allocated and zeroed per block.

use std::cell::RefCell;
use std::thread::LocalKey;

/// A thread's scratch buffer: `thread_local!` one per use, then [`with_scratch`].
pub type Scratch = RefCell<Vec<f32>>;

/// `f` with at least `len` values of this thread's `buffer` (grown if needed; what it
/// holds is whatever the last user left, so `f` reads only what it writes).
pub fn with_scratch<R>(
    buffer: &'static LocalKey<Scratch>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    buffer.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() < len {
            b.resize(len, 0.0);
        }
        f(&mut b[..len])
    })
}

/// `len` values that `fill` writes every one of, each before anything reads it.
///
/// # Safety
/// `fill` must write all `len` values and read none it has not written: the slice it
/// gets starts uninitialised (references to it are only ever written through).
pub unsafe fn overwritten(len: usize, fill: impl FnOnce(&mut [f32])) -> Vec<f32> {
    let mut v: Vec<f32> = Vec::with_capacity(len);
    // SAFETY: the capacity holds `len` values; `fill` initialises every one (the
    // caller's promise) before `set_len` makes them readable. If `fill` panics, the
    // vector still has length 0 and frees its memory without reading it.
    unsafe {
        fill(std::slice::from_raw_parts_mut(v.as_mut_ptr(), len));
        v.set_len(len);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_the_one_written() {
        // SAFETY: the closure writes all 1000 values.
        let v = unsafe {
            overwritten(1000, |s| {
                for (i, x) in s.iter_mut().enumerate() {
                    *x = i as f32 * 0.5;
                }
            })
        };
        assert_eq!(v.len(), 1000);
        assert!(v.iter().enumerate().all(|(i, x)| *x == i as f32 * 0.5));
        let empty = unsafe { overwritten(0, |s| assert!(s.is_empty())) };
        assert!(empty.is_empty());
    }
}
