//! How a long run (an attribution method, the sanity check, activation maximization,
//! training) tells how far it got, and hears that it should stop: one trait for all of
//! them, so the CLI, the page (through one adapter of a JS callback, in the wasm
//! bindings) and tests watch and cancel every run the same way.

use crate::error::Result;

/// Told `done` of `total` units of work as a run goes (batches, steps, layers, epochs).
/// Answering `Err` stops the run, which returns that error (use
/// [`Error::Cancelled`](crate::Error::Cancelled)); a run whose partial result is worth
/// keeping says so in its documentation.
pub trait Progress {
    fn report(&self, done: usize, total: usize) -> Result<()>;
}

/// A closure `(done, total) -> Result<()>` is a [`Progress`].
impl<F: Fn(usize, usize) -> Result<()>> Progress for F {
    fn report(&self, done: usize, total: usize) -> Result<()> {
        self(done, total)
    }
}

/// Nobody watches: never stops the run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unwatched;

impl Progress for Unwatched {
    fn report(&self, _: usize, _: usize) -> Result<()> {
        Ok(())
    }
}
