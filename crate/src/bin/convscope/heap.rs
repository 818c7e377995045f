//! glibc's malloc tuning for this process's allocation pattern.
//!
//! Every layer allocates a fresh output map (a 224-px VGG16 map is 12.8 MB per image),
//! which glibc serves with mmap and unmaps again on free, so the next layer's map
//! page-faults all over again: 15 s of system time in a 60 s `bench` run. Keeping freed
//! memory in the heap for reuse brought that to 1 s and made batched passes (Score-CAM,
//! occlusion) about 15% faster, at the same peak memory (README, "Performance").
//!
//! One arena for every thread: the work runs on rayon's workers, whose own arenas are
//! 64 MB mmapped heaps that glibc unmaps whenever one empties, whatever the trim
//! threshold. A pass that keeps every output (DenseNet-121's Grad-CAM trace, 100+ MB)
//! emptied some in some processes and faulted their pages in again on every pass: its
//! Grad-CAM took 1.8-2.0x a forward pass in those processes, 1.2-1.3x with one arena.

/// Serve large blocks from the one heap and never trim it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn keep_freed_memory() {
    // SAFETY: mallopt only changes two allocator thresholds; it is called before any
    // other thread exists, and a refused value (return 0) leaves glibc's defaults.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_freed_memory() {}
