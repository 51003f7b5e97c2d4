// SPDX-License-Identifier: GPL-2.0

//! Syntax of `#[kfunc(...)]` and `kfunc_set!(...)`: parsing only, no meaning.

use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{bracketed, parenthesized, Ident, Path, Token};

/// One item of a flag's parenthesised list.
#[derive(Debug, Clone)]
pub(crate) enum ArgItem {
    /// `argN` or a parameter name.
    Ref(Ident),
    /// `of = m`.
    Of {
        /// The `of` keyword.
        of: Ident,
        /// The memory argument.
        target: Ident,
    },
}

/// One flag: `sleepable`, `nullable(a, b)`, `size(len, of = buf)`.
#[derive(Clone)]
pub(crate) struct FlagItem {
    /// The keyword.
    pub name: Ident,
    /// The parenthesised list, if any (`Some(empty)` for `flag()`).
    pub args: Option<(syn::token::Paren, Vec<ArgItem>)>,
}

impl Parse for ArgItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let id = Ident::parse_any(input)?;
        if input.peek(Token![=]) {
            let _: Token![=] = input.parse()?;
            let target = Ident::parse_any(input)?;
            return Ok(ArgItem::Of { of: id, target });
        }
        Ok(ArgItem::Ref(id))
    }
}

impl Parse for FlagItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = Ident::parse_any(input)?;
        let args = if input.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let list = Punctuated::<ArgItem, Token![,]>::parse_terminated(&content)?;
            Some((paren, list.into_iter().collect()))
        } else {
            None
        };
        Ok(FlagItem { name, args })
    }
}

/// The whole attribute argument list.
pub(crate) struct FlagList(pub Vec<FlagItem>);

impl Parse for FlagList {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let list = Punctuated::<FlagItem, Token![,]>::parse_terminated(input)?;
        Ok(FlagList(list.into_iter().collect()))
    }
}

/// `NAME = [f1, path::f2, ...]`.
pub(crate) struct SetInput {
    /// Visibility of the generated set type (`pub`, or private by default).
    pub vis: syn::Visibility,
    /// The set's name.
    pub name: Ident,
    /// The bracket (for spans).
    pub bracket: syn::token::Bracket,
    /// The kfuncs, as paths to `#[kfunc]` functions.
    pub funcs: Vec<Path>,
}

impl Parse for SetInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let vis: syn::Visibility = input.parse()?;
        let name: Ident = input.parse()?;
        let _: Token![=] = input.parse()?;
        let content;
        let bracket = bracketed!(content in input);
        let funcs = Punctuated::<Path, Token![,]>::parse_terminated(&content)?
            .into_iter()
            .collect();
        if input.peek(Token![;]) {
            let _: Token![;] = input.parse()?;
        }
        Ok(SetInput {
            vis,
            name,
            bracket,
            funcs,
        })
    }
}
