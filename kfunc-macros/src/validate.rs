// SPDX-License-Identifier: GPL-2.0

//! Meaning of `#[kfunc(...)]`: the signature is read ([`ast`](super::ast)), the flags are
//! resolved against it ([`attr`](super::attr)) and every rule is checked
//! ([`check`](super::check)), all reporting to one [`Ctxt`] so that the user sees every
//! error at once; only a kfunc without errors reaches the expansion.

use super::ast::{Param, Signature};
use super::attr::Attrs;
use super::check;
use super::ctxt::Ctxt;
use super::layout::MAX_ARGS;
use super::parse::FlagItem;
use super::types::{CType, Typed};
use syn::{Ident, ItemFn};

/// A validated `#[kfunc]`.
#[derive(Clone)]
pub(crate) struct Kfunc {
    /// The function's name (= its symbol).
    pub name: Ident,
    /// `KF_*` function flags.
    pub func_flags: u32,
    /// `KF_PARAM_*` per argument.
    pub arg_flags: [u32; MAX_ARGS],
    /// Parameters.
    pub params: Vec<Param>,
    /// Return type.
    pub ret: CType,
    /// How the return type is written ([`Typed::Raw`] or [`Typed::ARef`]).
    pub ret_typed: Typed,
}

impl Kfunc {
    /// Is any parameter or the return value typed: does the kfunc need a C-ABI shim?
    pub(crate) fn is_typed(&self) -> bool {
        self.ret_typed.is_typed() || self.params.iter().any(|p| p.typed.is_typed())
    }
}

/// Check the signature and the flags; every error is reported.
pub(crate) fn validate(flags: &[FlagItem], item: &ItemFn) -> Result<Kfunc, syn::Error> {
    let cx = Ctxt::new();
    check::check_signature(&cx, item);
    let sig = Signature::from_ast(&cx, item);
    let attrs = Attrs::from_ast(&cx, &sig, flags);
    check::check(&cx, &sig, &attrs);
    cx.check()?;
    let mut arg_flags = [0u32; MAX_ARGS];
    for (word, arg) in arg_flags.iter_mut().zip(&attrs.args) {
        *word = arg.bits();
    }
    Ok(Kfunc {
        name: sig.ident.clone(),
        func_flags: attrs.func.bits(),
        arg_flags,
        params: sig.params,
        ret: sig.ret.expect("no error means the return type was read"),
        ret_typed: sig.ret_typed,
    })
}
