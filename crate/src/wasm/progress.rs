//! The one adapter of a page's progress callback to the core's [`Progress`]: every
//! export with a long run (attribution methods, the sanity check, activation
//! maximization, traced layers) passes its JS function through [`JsProgress`].
//!
//! The callback is called as `progress(done, total, ...extra)`; answering `false` stops
//! the run (the core's cancelled error), and so does throwing, whose message the run's
//! answer then carries ("the progress callback threw: ...").

use std::cell::RefCell;

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;

use super::js_err;
use super::probes::message_of;
use crate::error::{Error, Result};
use crate::progress::Progress;

pub(super) struct JsProgress {
    callback: Option<Function>,
    /// Passed after `(done, total)` on the next report (maximization's live pictures).
    extra: RefCell<Vec<JsValue>>,
    /// What the callback threw, if it did.
    thrown: RefCell<Option<String>>,
}

impl JsProgress {
    pub(super) fn new(callback: Option<Function>) -> JsProgress {
        JsProgress {
            callback,
            extra: RefCell::new(Vec::new()),
            thrown: RefCell::new(None),
        }
    }

    /// Values the next report passes after `(done, total)`.
    pub(super) fn attach(&self, extra: Vec<JsValue>) {
        *self.extra.borrow_mut() = extra;
    }

    /// Calls `progress(done, total, ...extra)`; `Err(Cancelled)` if it answered `false`
    /// or threw.
    pub(super) fn call(&self, done: f64, total: f64) -> Result<()> {
        let extra = self.extra.take();
        let Some(f) = &self.callback else {
            return Ok(());
        };
        let args = Array::of2(&done.into(), &total.into());
        for value in extra {
            args.push(&value);
        }
        match f.apply(&JsValue::NULL, &args) {
            Ok(answer) if answer.as_bool() == Some(false) => Err(Error::Cancelled),
            Ok(_) => Ok(()),
            Err(e) => {
                *self.thrown.borrow_mut() = Some(message_of(&e));
                Err(Error::Cancelled)
            }
        }
    }

    /// The report at the end of a run, `progress(1, 1)`: nothing is left to stop, but
    /// an exception of the callback is still the answer.
    pub(super) fn end(&self) -> Result<(), JsError> {
        let _ = self.call(1.0, 1.0);
        self.finish(Ok(()))
    }

    /// A run's answer as the export returns it: an exception of the callback replaces
    /// whatever the run made of the stop it caused.
    pub(super) fn finish<T>(&self, result: Result<T>) -> Result<T, JsError> {
        if let Some(message) = self.thrown.borrow_mut().take() {
            return Err(js_err(format!("the progress callback threw: {message}")));
        }
        result.map_err(js_err)
    }
}

impl Progress for JsProgress {
    fn report(&self, done: usize, total: usize) -> Result<()> {
        self.call(done as f64, total as f64)
    }
}
