// SPDX-License-Identifier: GPL-2.0

//! The error context of one macro invocation (serde_derive's `internals::ctxt::Ctxt`).
//!
//! Every check reports to a [`Ctxt`] instead of returning at the first problem, so the user
//! sees every error of an attribute at once, each spanned on the offending token, in the
//! order the checks ran. [`Ctxt::check`] turns them into one `syn::Error`.

use proc_macro2::Span;
use std::cell::RefCell;
use std::fmt::Display;

/// Collects the errors of one `#[kfunc]` or `kfunc_set!` invocation.
///
/// Must be consumed by [`Ctxt::check`]: dropping a context that still holds errors is a bug
/// (they would be lost) and panics, as serde_derive's does.
pub(crate) struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    /// A context with no errors.
    pub(crate) fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Report `msg` at `span`.
    pub(crate) fn error_spanned(&self, span: Span, msg: impl Display) {
        self.syn_error(syn::Error::new(span, msg));
    }

    /// Report an error built elsewhere (the type analysis of `types`).
    pub(crate) fn syn_error(&self, err: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Ctxt used after check")
            .push(err);
    }

    /// Every reported error as one `syn::Error` (in the order reported), or `Ok`.
    pub(crate) fn check(self) -> Result<(), syn::Error> {
        let mut errors = self
            .errors
            .borrow_mut()
            .take()
            .expect("Ctxt checked twice")
            .into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for rest in errors {
            combined.combine(rest);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("forgot to check for errors");
        }
    }
}
