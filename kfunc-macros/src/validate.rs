//! Meaning of `#[kfunc(...)]`: the signature is read ([`ast`](crate::ast)), the flags are
//! resolved against it ([`attr`](crate::attr)) and every rule is checked
//! ([`check`](crate::check)), all reporting to one [`Ctxt`] so that the user sees every
//! error at once; only a kfunc without errors reaches the expansion.

use crate::ast::{Param, Signature};
use crate::attr::Attrs;
use crate::check;
use crate::ctxt::Ctxt;
use crate::parse::FlagItem;
use crate::types::CType;
use kfunc_layout::MAX_ARGS;
use syn::{Ident, ItemFn};

/// A validated `#[kfunc]`.
#[derive(Debug, Clone)]
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
    })
}
