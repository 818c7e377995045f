//! Out-of-memory reporting. A failed allocation in wasm32 aborts with an `unreachable`
//! trap that says nothing about memory; this allocator (the system one, watched)
//! remembers the size of the request that failed, so the worker can tell the user
//! "out of memory" with the numbers and restart itself with the last good model.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use wasm_bindgen::prelude::*;

/// Bytes of the last allocation that failed (0: none yet).
static FAILED: AtomicUsize = AtomicUsize::new(0);

struct Watched;

fn watch(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        FAILED.store(size, Ordering::Relaxed);
    }
    ptr
}

// SAFETY: every call is forwarded unchanged to `System`; only null results are noted.
unsafe impl GlobalAlloc for Watched {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        watch(System.alloc(layout), layout.size())
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        watch(System.alloc_zeroed(layout), layout.size())
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        watch(System.realloc(ptr, layout, new_size), new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Watched = Watched;

/// Bytes of the last allocation that failed, 0 if none has. Reads one number and
/// allocates nothing, so it can be called after the trap.
#[wasm_bindgen(js_name = failedAllocation)]
pub fn failed_allocation() -> f64 {
    FAILED.load(Ordering::Relaxed) as f64
}

/// For tests of the crash path: reserves memory (without touching it, so the machine
/// does not page) until an allocation fails, which traps. The worker only offers it on a
/// page opened with `?debug`.
#[wasm_bindgen(js_name = debugExhaustMemory)]
pub fn debug_exhaust_memory() {
    let mut held: Vec<Vec<u8>> = Vec::new();
    loop {
        held.push(Vec::with_capacity(256 << 20));
        std::hint::black_box(&held);
    }
}
