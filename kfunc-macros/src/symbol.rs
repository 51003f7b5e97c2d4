// SPDX-License-Identifier: GPL-2.0

//! The keywords of `#[kfunc(...)]` as typed symbols (serde_derive's `internals/symbol.rs`).
//!
//! A flag keyword is read once, by [`Keyword::of`], into the [`FuncFlag`] and [`ArgFlag`] of
//! `layout` it names (or the retired keyword it was); from there on the checks match
//! on those types, never on strings. The few words that are not flags are [`Symbol`]s.

use super::grammar::{Retired, RETIRED};
use super::layout::{ArgFlag, FuncFlag};
use std::fmt;
use syn::Ident;

/// A word of the attribute's grammar that is not a flag of `layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Symbol(pub(crate) &'static str);

/// `of`, the key of `size(len, of = buf)`.
pub(crate) const OF: Symbol = Symbol("of");
/// `argN`: the prefix of an argument named by position.
pub(crate) const ARG: Symbol = Symbol("arg");
/// `trusted(a)`: a flag of 6.12, retired (pointer arguments are trusted since 7.0).
pub(crate) const TRUSTED: Symbol = Symbol("trusted");
/// `trusted_args` (`KF_TRUSTED_ARGS`): a flag of 6.12, removed in 7.0.
pub(crate) const TRUSTED_ARGS: Symbol = Symbol("trusted_args");
/// `optional(a)`: a flag of 6.12, replaced by `nullable` in 7.3.
pub(crate) const OPTIONAL: Symbol = Symbol("optional");

impl PartialEq<Symbol> for Ident {
    fn eq(&self, word: &Symbol) -> bool {
        self == word.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// What the keyword of one flag item is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Keyword {
    /// A keyword of 6.12 that Linux 7.x removed.
    Retired(&'static Retired),
    /// A flag of `layout`: a function flag, a per-argument flag, or both (`acquire`,
    /// `release`).
    Flag {
        /// The function flag of that keyword.
        func: Option<FuncFlag>,
        /// The per-argument flag of that keyword.
        arg: Option<ArgFlag>,
    },
    /// Nothing `#[kfunc]` knows.
    Unknown,
}

impl Keyword {
    /// Classify the keyword `id`.
    pub(crate) fn of(id: &Ident) -> Self {
        if let Some(r) = RETIRED.iter().find(|r| *id == r.keyword) {
            return Keyword::Retired(r);
        }
        let kw = id.to_string();
        match (FuncFlag::from_keyword(&kw), ArgFlag::from_keyword(&kw)) {
            (None, None) => Keyword::Unknown,
            (func, arg) => Keyword::Flag { func, arg },
        }
    }
}

/// `N` of an argument written `argN` (`arg0`..), or `None`.
pub(crate) fn arg_index(word: &str) -> Option<usize> {
    let digits = word.strip_prefix(ARG.0)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::Span;

    fn id(s: &str) -> Ident {
        Ident::new(s, Span::call_site())
    }

    #[test]
    fn keywords_are_classified_once() {
        assert!(matches!(
            Keyword::of(&id("acquire")),
            Keyword::Flag {
                func: Some(FuncFlag::Acquire),
                arg: Some(ArgFlag::Acquire)
            }
        ));
        assert!(matches!(
            Keyword::of(&id("rcu_args")),
            Keyword::Flag {
                func: Some(FuncFlag::RcuArgs),
                arg: None
            }
        ));
        assert!(matches!(
            Keyword::of(&id("const_size")),
            Keyword::Flag {
                func: None,
                arg: Some(ArgFlag::ConstSize)
            }
        ));
        assert!(matches!(Keyword::of(&id("trusted")), Keyword::Retired(r) if r.keyword == TRUSTED));
        assert!(matches!(Keyword::of(&id("frobnicate")), Keyword::Unknown));
        assert!(id("of") == OF && id("off") != OF);
    }

    #[test]
    fn positional_arguments() {
        assert_eq!(arg_index("arg0"), Some(0));
        assert_eq!(arg_index("arg12"), Some(12));
        assert_eq!(arg_index("arg"), None);
        assert_eq!(arg_index("argx"), None);
        assert_eq!(arg_index("len"), None);
    }
}
