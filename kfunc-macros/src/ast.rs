// SPDX-License-Identifier: GPL-2.0

//! The kfunc's signature as the checks see it (serde_derive's `internals/ast.rs`): each
//! parameter's name and C type, and the return type.
//!
//! Reading it reports what cannot be read (a `self`, a pattern instead of a name, a type with
//! no C equivalent) and runs the per-parameter checks of [`super::check`], parameter by
//! parameter, so the errors come in the order of the parameters.

use super::check;
use super::ctxt::Ctxt;
use super::layout::MAX_ARGS;
use super::types::{self, CType};
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, ReturnType, Type};

/// One kfunc parameter.
#[derive(Clone)]
pub(crate) struct Param {
    /// Its name (written into the record); `argN` for a pattern, which was refused.
    pub name: Ident,
    /// Its C type, `None` if the type was refused (an error was reported).
    pub c: Option<CType>,
}

/// A kfunc's signature.
pub(crate) struct Signature<'a> {
    /// The function's name (= its symbol).
    pub ident: &'a Ident,
    /// The same, as a string for messages.
    pub name: String,
    /// The parameters (not `self`, which was refused).
    pub params: Vec<Param>,
    /// The return type, `None` if it was refused (an error was reported).
    pub ret: Option<CType>,
    /// Where an error about the return type points: the type, or the function's name when
    /// there is none.
    pub ret_span: Span,
}

impl<'a> Signature<'a> {
    /// Read the signature of `item`, reporting what cannot be read to `cx`.
    pub(crate) fn from_ast(cx: &Ctxt, item: &'a ItemFn) -> Self {
        let sig = &item.sig;
        let mut params = Vec::new();
        for (i, input) in sig.inputs.iter().enumerate() {
            match input {
                FnArg::Receiver(r) => check::check_no_receiver(cx, r),
                FnArg::Typed(pt) => {
                    let name = check::check_param_is_named(cx, &pt.pat);
                    check::check_arg_count(cx, sig, i, pt);
                    let c = c_type(cx, &pt.ty, false);
                    if let Some(name) = &name {
                        check::check_param_suffix(cx, name);
                    }
                    params.push(Param {
                        name: name.unwrap_or_else(|| Ident::new(&format!("arg{i}"), pt.span())),
                        c,
                    });
                }
            }
        }
        let (ret, ret_span) = match &sig.output {
            ReturnType::Default => (Some(CType::Void), sig.ident.span()),
            ReturnType::Type(_, t) => (c_type(cx, t, true), t.span()),
        };
        Signature {
            ident: &sig.ident,
            name: sig.ident.to_string(),
            params,
            ret,
            ret_span,
        }
    }

    /// How many parameters can carry flags (the others were refused).
    pub(crate) fn nparams(&self) -> usize {
        self.params.len().min(MAX_ARGS)
    }

    /// The name of parameter `a`, for messages.
    pub(crate) fn pname(&self, a: usize) -> String {
        self.params[a].name.to_string()
    }

    /// The C type of parameter `a`, if it was read.
    pub(crate) fn c(&self, a: usize) -> Option<&CType> {
        self.params[a].c.as_ref()
    }
}

/// The C view of a parameter or return type, or `None` after reporting why it has none.
fn c_type(cx: &Ctxt, ty: &Type, is_return: bool) -> Option<CType> {
    match types::analyse(ty, is_return) {
        Ok(c) => Some(c),
        Err(e) => {
            cx.syn_error(e);
            None
        }
    }
}
