// SPDX-License-Identifier: GPL-2.0

//! The two macros, from tokens to tokens: `#[kfunc(...)]` is parsed ([`parse`]), validated
//! ([`validate`]) and expanded ([`expand`]); `kfunc_set!` is parsed and expanded.

use super::expand::{self, Extra};
use super::parse;
use super::validate;
use proc_macro2::TokenStream;

/// `#[kfunc(attr)] item`, with `extra` added to the expansion (see [`expand::kfunc`]).
pub(crate) fn kfunc(attr: TokenStream, item: TokenStream, extra: Extra) -> TokenStream {
    let item: syn::ItemFn = match syn::parse2(item) {
        Ok(i) => i,
        Err(e) => {
            return syn::Error::new(e.span(), format!("#[kfunc] applies to a function: {e}"))
                .to_compile_error()
        }
    };
    let flags =
        match syn::parse::Parser::parse2(<parse::FlagList as syn::parse::Parse>::parse, attr) {
            Ok(f) => f,
            Err(e) => return expand::on_error(e, &item),
        };
    match validate::validate(&flags.0, &item) {
        Ok(k) => expand::kfunc(&k, &item, extra),
        Err(e) => expand::on_error(e, &item),
    }
}

/// `kfunc_set!(input)`.
pub(crate) fn kfunc_set(input: TokenStream) -> TokenStream {
    match syn::parse2::<parse::SetInput>(input).and_then(|s| expand::kfunc_set(&s)) {
        Ok(t) => t,
        Err(e) => e.to_compile_error(),
    }
}
