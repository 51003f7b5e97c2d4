// SPDX-License-Identifier: GPL-2.0

//! The flags as written, resolved against the signature (serde_derive's `internals/attr.rs`):
//! each keyword to its [`FuncFlag`] or [`ArgFlag`], each argument reference to a parameter,
//! and where every flag was written.
//!
//! The flags a typed parameter or return value implies ([`Typed`]: `Option<&T>` is
//! `nullable`, `ARef<T>` `release`, a slice's length `size`, ...) are recorded first, spanned
//! on the type; a written flag that repeats or contradicts one is refused
//! ([`check::check_typed_flag`], [`check::check_typed_func_flag`]).
//!
//! Resolving reports what names nothing (an unknown or retired keyword, an argument that is
//! not a parameter, a malformed list) and a flag written twice. Every use of a per-argument
//! flag on an argument goes through [`check::check_flag_use`] before it is recorded: a
//! refused use is not recorded, so the cross-flag checks of [`check::check`] never see it.

use super::ast::Signature;
use super::check;
use super::ctxt::Ctxt;
use super::grammar;
use super::layout::{kf_arg_mem, ArgFlag, FuncFlag};
use super::parse::{ArgItem, FlagItem};
use super::symbol::{self, Keyword, OF};
use super::types::Typed;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::token::Paren;
use syn::Ident;

/// Where a per-argument flag was written.
#[derive(Debug, Clone, Copy)]
struct Written {
    /// The argument reference the flag was written with.
    span: Span,
    /// Its position among every per-argument flag of the attribute.
    order: usize,
}

/// The per-argument flags of one argument.
#[derive(Debug, Clone)]
pub(crate) struct ArgAttrs {
    flags: [Option<Written>; ArgFlag::ALL.len()],
    /// `size`/`const_size` on this argument: its memory argument, and the span of the name in
    /// `of = ...`.
    pub mem_of: Option<(usize, Span)>,
}

impl ArgAttrs {
    fn new() -> Self {
        ArgAttrs {
            flags: [None; ArgFlag::ALL.len()],
            mem_of: None,
        }
    }

    /// Where `flag` was written on this argument, if it was.
    pub(crate) fn get(&self, flag: ArgFlag) -> Option<Span> {
        self.flags[flag as usize].map(|w| w.span)
    }

    /// The position of `flag` among the per-argument flags of the attribute (meaningful only
    /// when `flag` was written): of two flags, the greater was written later.
    pub(crate) fn order(&self, flag: ArgFlag) -> usize {
        self.flags[flag as usize].map_or(0, |w| w.order)
    }

    /// Every flag written on this argument, in table order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (ArgFlag, Span)> + '_ {
        ArgFlag::ALL
            .iter()
            .filter_map(|&f| self.get(f).map(|s| (f, s)))
    }

    /// The argument's `KF_PARAM_*` word.
    pub(crate) fn bits(&self) -> u32 {
        self.iter().fold(0, |bits, (f, _)| bits | f.value())
            | self.mem_of.map_or(0, |(m, _)| kf_arg_mem(m as u32))
    }
}

/// The function flags, given bare or implied by a per-argument flag.
#[derive(Debug, Clone)]
pub(crate) struct FuncAttrs {
    flags: [Option<Span>; FuncFlag::ALL.len()],
}

impl FuncAttrs {
    /// Where `flag` was written (for an implied flag: the per-argument flag that implied it
    /// first), if it was.
    pub(crate) fn get(&self, flag: FuncFlag) -> Option<Span> {
        self.flags[flag as usize]
    }

    /// The `KF_*` word.
    pub(crate) fn bits(&self) -> u32 {
        FuncFlag::ALL
            .iter()
            .filter(|&&f| self.get(f).is_some())
            .fold(0, |bits, f| bits | f.value())
    }
}

/// Every flag of one `#[kfunc(...)]`, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Attrs {
    /// The function flags.
    pub func: FuncAttrs,
    /// The per-argument flags of each parameter that can have some
    /// ([`Signature::nparams`]).
    pub args: Vec<ArgAttrs>,
    /// A bare `acquire`.
    pub bare_acquire: Option<Span>,
    /// `acquire(a)`: the argument and where it was named.
    pub acquire_arg: Option<(usize, Span)>,
    /// `release(a)`: the argument and where it was named.
    pub release_arg: Option<(usize, Span)>,
    /// The order the next recorded per-argument flag gets.
    next: usize,
}

impl Attrs {
    /// Resolve the flag list `items` against `sig`, reporting to `cx`.
    pub(crate) fn from_ast(cx: &Ctxt, sig: &Signature<'_>, items: &[FlagItem]) -> Self {
        let mut attrs = Attrs {
            func: FuncAttrs {
                flags: [None; FuncFlag::ALL.len()],
            },
            args: vec![ArgAttrs::new(); sig.nparams()],
            bare_acquire: None,
            acquire_arg: None,
            release_arg: None,
            next: 0,
        };
        attrs.implied(cx, sig);
        for item in items {
            match (Keyword::of(&item.name), &item.args) {
                (Keyword::Retired(r), args) => {
                    let (written, args_text) = written(&item.name, args.as_ref());
                    cx.error_spanned(item.name.span(), r.error(&written, args_text.as_deref()));
                }
                (kw, None) => attrs.bare(cx, sig, &item.name, kw),
                (kw, Some((paren, list))) => attrs.with_args(cx, sig, &item.name, kw, paren, list),
            }
        }
        attrs
    }

    /// The flags the typed parameters and return value imply, spanned on their types.
    fn implied(&mut self, cx: &Ctxt, sig: &Signature<'_>) {
        for a in 0..sig.nparams() {
            let p = &sig.params[a];
            let span = p.written.span();
            match &p.typed {
                Typed::Raw => {}
                Typed::Ref { nullable, .. } | Typed::Slice { nullable, .. } => {
                    if *nullable {
                        self.record(ArgFlag::Nullable, a, span, None);
                    }
                    if check::is_iter_state(p) {
                        self.record(ArgFlag::Iter, a, span, None);
                    }
                }
                Typed::ARef { .. } => {
                    if check::check_one_release(cx, sig, self, span) {
                        self.record(ArgFlag::Release, a, span, None);
                    }
                }
                Typed::SliceLen => self.record(ArgFlag::Size, a, span, Some((a - 1, span))),
            }
        }
        if let Typed::ARef { nullable, .. } = &sig.ret_typed {
            self.func.flags[FuncFlag::Acquire as usize] = Some(sig.ret_span);
            if *nullable {
                self.func.flags[FuncFlag::RetNull as usize] = Some(sig.ret_span);
            }
        }
    }

    /// A flag written without a list: a function flag.
    fn bare(&mut self, cx: &Ctxt, sig: &Signature<'_>, name: &Ident, kw: Keyword) {
        let span = name.span();
        match kw {
            Keyword::Flag { func: Some(f), .. } if !grammar::needs_arg(f) => {
                if !check::check_typed_func_flag(cx, sig, f, span) {
                    return;
                }
                // An implied flag counts too: `acquire(a), acquire` is a duplicate.
                if self.func.get(f).is_some() {
                    cx.error_spanned(
                        span,
                        format!("duplicate flag `{}`: remove this one", f.keyword()),
                    );
                    return;
                }
                if f == FuncFlag::Acquire {
                    self.bare_acquire = Some(span);
                }
                self.func.flags[f as usize] = Some(span);
            }
            Keyword::Flag { func: Some(f), .. } => {
                let kw = f.keyword();
                cx.error_spanned(
                    span,
                    format!(
                        "`{kw}` names the argument it applies to: write `{kw}(<parameter>)`, \
                         e.g. `{kw}(arg0)`"
                    ),
                );
            }
            Keyword::Flag { arg: Some(f), .. } => {
                let kw = f.keyword();
                cx.error_spanned(
                    span,
                    format!(
                        "`{kw}` is a per-argument flag: write `{kw}(<parameter>)`, e.g. \
                         `{kw}({})`",
                        sig.params
                            .first()
                            .map_or("arg0".into(), |p| p.name.to_string())
                    ),
                );
            }
            _ => unknown_flag(cx, name),
        }
    }

    /// A flag written with a list: a per-argument flag on each argument it names.
    fn with_args(
        &mut self,
        cx: &Ctxt,
        sig: &Signature<'_>,
        name: &Ident,
        kw: Keyword,
        paren: &Paren,
        list: &[ArgItem],
    ) {
        let flag = match kw {
            Keyword::Flag { arg: Some(f), .. } => f,
            Keyword::Flag { func: Some(f), .. } if !grammar::needs_arg(f) => {
                let kw = f.keyword();
                cx.error_spanned(
                    paren.span.join(),
                    format!("`{kw}` is a function flag and takes no arguments: write `{kw}`"),
                );
                return;
            }
            _ => return unknown_flag(cx, name),
        };
        let kw = flag.keyword();
        let is_size = grammar::is_size(flag);
        if list.is_empty() {
            cx.error_spanned(
                paren.span.join(),
                if is_size {
                    format!("`{kw}()` names no argument: write `{kw}(<size>, of = <memory>)`")
                } else {
                    format!("`{kw}()` names no argument: write `{kw}(<parameter>)`")
                },
            );
            return;
        }
        let (refs, of) = split_list(cx, flag, list);
        if is_size {
            if refs.len() > 1 {
                cx.error_spanned(
                    refs[1].span(),
                    format!(
                        "`{kw}` describes one size argument: write one `{kw}(<size>, of = \
                         <memory>)` per (memory, size) pair"
                    ),
                );
            }
            if refs.is_empty() {
                cx.error_spanned(
                    paren.span.join(),
                    format!("`{kw}` needs the size argument: write `{kw}(<size>, of = <memory>)`"),
                );
                return;
            }
            if of.is_none() {
                cx.error_spanned(
                    refs[0].span(),
                    format!(
                        "`{kw}` needs its memory argument: write `{kw}({}, of = <pointer \
                         argument>)`",
                        refs[0]
                    ),
                );
            }
        }
        let mut done_here: Vec<usize> = Vec::new();
        for id in refs.iter().take(if is_size { 1 } else { usize::MAX }) {
            let Some(a) = resolve_arg(cx, sig, id) else {
                continue;
            };
            if !done_here.contains(&a) && !check::check_typed_flag(cx, sig, flag, a, id) {
                done_here.push(a);
                continue;
            }
            if done_here.contains(&a) || self.args[a].get(flag).is_some() {
                cx.error_spanned(
                    id.span(),
                    format!(
                        "`{kw}` is already set on `{}`: remove this one",
                        sig.pname(a)
                    ),
                );
                continue;
            }
            done_here.push(a);
            if !check::check_flag_use(cx, sig, self, flag, a, id) {
                continue;
            }
            let mut mem_of = None;
            if let Some(target) = of.filter(|_| is_size) {
                match resolve_arg(cx, sig, target) {
                    Some(m) => mem_of = Some((m, target.span())),
                    None => continue,
                }
            }
            self.record(flag, a, id.span(), mem_of);
        }
    }

    /// Record `flag` on argument `a`, written at `span`, with the function flag it implies.
    fn record(&mut self, flag: ArgFlag, a: usize, span: Span, mem_of: Option<(usize, Span)>) {
        let arg = &mut self.args[a];
        if mem_of.is_some() {
            arg.mem_of = mem_of;
        }
        arg.flags[flag as usize] = Some(Written {
            span,
            order: self.next,
        });
        self.next += 1;
        match flag {
            ArgFlag::Release => self.release_arg = Some((a, span)),
            ArgFlag::Acquire => self.acquire_arg = Some((a, span)),
            _ => {}
        }
        if let Some(f) = grammar::implied_func_flag(flag) {
            self.func.flags[f as usize].get_or_insert(span);
        }
    }
}

/// The flag as written (`trusted(a, b)`) and its argument list (`a, b`; `None` if empty or
/// absent), for the retired-keyword messages.
fn written(name: &Ident, args: Option<&(Paren, Vec<ArgItem>)>) -> (String, Option<String>) {
    let args_text = args.map(|(_, list)| {
        list.iter()
            .map(|a| match a {
                ArgItem::Ref(id) => id.to_string(),
                ArgItem::Of { of, target } => format!("{of} = {target}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    let written = match &args_text {
        Some(t) => format!("{name}({t})"),
        None => name.to_string(),
    };
    (written, args_text.filter(|t| !t.is_empty()))
}

/// The argument references of a list and its `of = m` (reporting a misplaced, unknown or
/// repeated key).
fn split_list<'l>(
    cx: &Ctxt,
    flag: ArgFlag,
    list: &'l [ArgItem],
) -> (Vec<&'l Ident>, Option<&'l Ident>) {
    let kw = flag.keyword();
    let mut refs = Vec::new();
    let mut of: Option<&Ident> = None;
    for a in list {
        match a {
            ArgItem::Ref(id) => refs.push(id),
            ArgItem::Of { of: key, target } => {
                if !grammar::is_size(flag) {
                    cx.error_spanned(
                        key.span(),
                        format!(
                            "`{key} = ...` only belongs to `size(..)` and `const_size(..)`; \
                             write `{kw}(<parameter>, ...)`"
                        ),
                    );
                } else if *key != OF {
                    cx.error_spanned(
                        key.span(),
                        format!("unknown key `{key}`: write `{kw}(<size>, of = <memory>)`"),
                    );
                } else if of.is_some() {
                    cx.error_spanned(key.span(), "duplicate `of = ...`: remove this one");
                } else {
                    of = Some(target);
                }
            }
        }
    }
    (refs, of)
}

/// The parameter `id` names (by name, else as `argN`), or `None` after reporting why none.
fn resolve_arg(cx: &Ctxt, sig: &Signature<'_>, id: &Ident) -> Option<usize> {
    let s = id.to_string();
    let fname = &sig.name;
    let nparams = sig.nparams();
    if let Some(i) = sig.params.iter().take(nparams).position(|p| p.name == s) {
        return Some(i);
    }
    if let Some(n) = symbol::arg_index(&s) {
        if n < nparams {
            return Some(n);
        }
        cx.error_spanned(
            id.span(),
            if nparams == 0 {
                format!("`{s}` is out of range: `{fname}` has no parameters")
            } else {
                format!(
                    "`{s}` is out of range: `{fname}` has {nparams} parameter{} \
                     (`arg0`..=`arg{}`)",
                    if nparams == 1 { "" } else { "s" },
                    nparams - 1
                )
            },
        );
        return None;
    }
    let names: Vec<String> = sig.params.iter().map(|p| p.name.to_string()).collect();
    let hint = match grammar::closest(&s, names.iter().map(String::as_str)) {
        Some(c) => format!("did you mean `{c}`? "),
        None => String::new(),
    };
    let list = if names.is_empty() {
        format!("`{fname}` has no parameters")
    } else {
        format!(
            "write a parameter name ({}) or `argN`",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    cx.error_spanned(
        id.span(),
        format!("`{s}` is not a parameter of `{fname}`; {hint}{list}"),
    );
    None
}

/// Report an unknown keyword, with the closest one or the list of all.
fn unknown_flag(cx: &Ctxt, id: &Ident) {
    let s = id.to_string();
    let all = grammar::all_keywords();
    let msg = match grammar::closest(&s, all.iter().copied()) {
        Some(c) => format!("unknown kfunc flag `{s}`: did you mean `{c}`?"),
        None => format!(
            "unknown kfunc flag `{s}`; the flags are: {}",
            all.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    cx.error_spanned(id.span(), msg);
}
