// SPDX-License-Identifier: GPL-2.0

//! The kfunc's signature as the checks see it (serde_derive's `internals/ast.rs`): each
//! parameter's name and C type, and the return type.
//!
//! Reading it reports what cannot be read (a `self`, a pattern instead of a name, a type with
//! no C equivalent) and runs the per-parameter checks of [`super::check`], parameter by
//! parameter, so the errors come in the order of the parameters.
//!
//! The parameters are those of the C ABI: a typed slice parameter (`buf: &[u8]`) is two,
//! the pointer `buf` and its length `buf_len` ([`Typed`]).

use super::check;
use super::ctxt::Ctxt;
use super::layout::MAX_ARGS;
use super::types::{self, CType, Typed};
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
    /// How it is written: as its C type, or as a Rust type the macro converts.
    pub typed: Typed,
    /// The type as written (for a slice's length: the slice's), for messages and the
    /// spans of the flags the type implies.
    pub written: Type,
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
    /// How the return type is written ([`Typed::Raw`] or [`Typed::ARef`]).
    pub ret_typed: Typed,
    /// Where an error about the return type points: the type, or the function's name when
    /// there is none.
    pub ret_span: Span,
}

impl<'a> Signature<'a> {
    /// Read the signature of `item`, reporting what cannot be read to `cx`.
    pub(crate) fn from_ast(cx: &Ctxt, item: &'a ItemFn) -> Self {
        let sig = &item.sig;
        let mut params: Vec<Param> = Vec::new();
        let c_count: usize = sig
            .inputs
            .iter()
            .map(|i| match i {
                FnArg::Typed(pt) => c_width(&pt.ty),
                FnArg::Receiver(_) => 0,
            })
            .sum();
        for (i, input) in sig.inputs.iter().enumerate() {
            match input {
                FnArg::Receiver(r) => check::check_no_receiver(cx, r),
                FnArg::Typed(pt) => {
                    let name = check::check_param_is_named(cx, &pt.pat);
                    check::check_arg_count(cx, sig, params.len(), c_width(&pt.ty), c_count, pt);
                    let (typed, c) = param_type(cx, &pt.ty);
                    if let Some(name) = &name {
                        check::check_param_suffix(cx, name);
                    }
                    let name = name.unwrap_or_else(|| Ident::new(&format!("arg{i}"), pt.span()));
                    let slice = matches!(typed, Typed::Slice { .. });
                    params.push(Param {
                        name: name.clone(),
                        c,
                        typed,
                        written: (*pt.ty).clone(),
                    });
                    if slice {
                        params.push(Param {
                            name: Ident::new(&format!("{name}_len"), name.span()),
                            c: Some(types::slice_len_ctype()),
                            typed: Typed::SliceLen,
                            written: (*pt.ty).clone(),
                        });
                    }
                }
            }
        }
        check::check_slice_len_names(cx, &params);
        check::check_exclusive_refs(cx, &params);
        let (ret, ret_typed, ret_span) = match &sig.output {
            ReturnType::Default => (Some(CType::Void), Typed::Raw, sig.ident.span()),
            ReturnType::Type(_, t) => match types::analyse_typed(t, true) {
                Some(Ok((typed, c))) => (Some(c), typed, t.span()),
                Some(Err(e)) => {
                    cx.syn_error(e);
                    (None, Typed::Raw, t.span())
                }
                None => (c_type(cx, t, true), Typed::Raw, t.span()),
            },
        };
        Signature {
            ident: &sig.ident,
            name: sig.ident.to_string(),
            params,
            ret,
            ret_typed,
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

    /// Parameter `a` for messages: its Rust type if it is typed (`the slice \`&[u8]\``),
    /// else its C type.
    pub(crate) fn describe(&self, a: usize) -> Option<String> {
        let p = &self.params[a];
        match &p.typed {
            Typed::Raw => p.c.as_ref().map(CType::describe),
            Typed::SliceLen => Some(format!(
                "the length of the slice `{}`",
                types::tokens(&p.written)
            )),
            _ => Some(format!("`{}`", types::tokens(&p.written))),
        }
    }

    /// The C type of parameter `a`, if it was read.
    pub(crate) fn c(&self, a: usize) -> Option<&CType> {
        self.params[a].c.as_ref()
    }
}

/// How many C parameters a parameter of type `ty` is: 2 for a slice, else 1.
fn c_width(ty: &Type) -> usize {
    match types::analyse_typed(ty, false) {
        Some(Ok((Typed::Slice { .. }, _))) => 2,
        _ => 1,
    }
}

/// A parameter's form and C type (`None` after reporting why it has none).
fn param_type(cx: &Ctxt, ty: &Type) -> (Typed, Option<CType>) {
    match types::analyse_typed(ty, false) {
        Some(Ok((typed, c))) => (typed, Some(c)),
        Some(Err(e)) => {
            cx.syn_error(e);
            (Typed::Raw, None)
        }
        None => (Typed::Raw, c_type(cx, ty, false)),
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
