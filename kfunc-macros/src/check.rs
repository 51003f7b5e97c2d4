// SPDX-License-Identifier: GPL-2.0

//! Every rule of `#[kfunc]`, one `check_*` function each (serde_derive's
//! `internals/check.rs`), reporting to one [`Ctxt`] so that the user sees every error at
//! once.
//!
//! The checks run in three places, always in the same order (the order of the errors):
//!
//! 1. on the signature: [`check_signature`] before the parameters are read, then, as
//!    [`Signature::from_ast`] reads each parameter, [`check_no_receiver`],
//!    [`check_param_is_named`], [`check_arg_count`] and [`check_param_suffix`], and on
//!    the parameters read, [`check_slice_len_names`] and [`check_exclusive_refs`];
//! 2. on each use of a per-argument flag, as [`Attrs::from_ast`] resolves it:
//!    [`check_flag_use`] (a refused use is not recorded);
//! 3. on the resolved flags: [`check`], argument by argument, then the rules about the
//!    whole kfunc.

use super::ast::{Param, Signature};
use super::attr::Attrs;
use super::ctxt::Ctxt;
use super::grammar::{self, ArgKind};
use super::layout::{ArgFlag, FuncFlag, MAX_ARGS};
use super::types::{self, CType, Pointee, Typed};
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, Pat, PatType, Receiver};

// ---- 1. the signature ----

/// The signature checks that come before the parameters: `async`, generics, `where`, ABI,
/// variadics, and attributes `#[kfunc]` writes itself.
pub(crate) fn check_signature(cx: &Ctxt, item: &ItemFn) {
    check_not_async(cx, &item.sig);
    check_not_generic(cx, &item.sig);
    check_no_where_clause(cx, &item.sig);
    check_c_abi(cx, &item.sig);
    check_not_variadic(cx, &item.sig);
    check_no_own_attrs(cx, item);
}

/// A kfunc is called synchronously: no `async`.
fn check_not_async(cx: &Ctxt, sig: &syn::Signature) {
    if let Some(a) = &sig.asyncness {
        cx.error_spanned(
            a.span(),
            "a kfunc is called synchronously by BPF programs: remove `async`",
        );
    }
}

/// A kfunc is one C symbol: no lifetime, type or const parameters.
fn check_not_generic(cx: &Ctxt, sig: &syn::Signature) {
    for gp in &sig.generics.params {
        match gp {
            syn::GenericParam::Lifetime(l) => cx.error_spanned(
                l.span(),
                "lifetime parameters have no meaning across the C ABI of a kfunc: remove them \
                 and use raw pointers",
            ),
            syn::GenericParam::Type(_) | syn::GenericParam::Const(_) => cx.error_spanned(
                gp.span(),
                "a kfunc is one C symbol with one BTF prototype, it cannot be generic: write \
                 one kfunc per concrete type",
            ),
        }
    }
}

/// No `where` clause (a kfunc is not generic).
fn check_no_where_clause(cx: &Ctxt, sig: &syn::Signature) {
    if let Some(w) = &sig.generics.where_clause {
        cx.error_spanned(
            w.span(),
            "a kfunc cannot have a `where` clause: it is not generic",
        );
    }
}

/// The ABI, if written, is `"C"`.
fn check_c_abi(cx: &Ctxt, sig: &syn::Signature) {
    if let Some(name) = sig.abi.as_ref().and_then(|abi| abi.name.as_ref()) {
        if name.value() != "C" {
            cx.error_spanned(
                name.span(),
                format!(
                    "kfuncs use the C ABI: write `extern \"C\"` (or leave the ABI out), not \
                     `extern \"{}\"`",
                    name.value()
                ),
            );
        }
    }
}

/// No C variadics.
fn check_not_variadic(cx: &Ctxt, sig: &syn::Signature) {
    if let Some(v) = &sig.variadic {
        cx.error_spanned(
            v.span(),
            "C-variadic kfuncs cannot be called from BPF: take fixed parameters",
        );
    }
}

/// None of the attributes the expansion writes itself (`#[no_mangle]`, `#[inline]`, ...).
fn check_no_own_attrs(cx: &Ctxt, item: &ItemFn) {
    const OWN: &[&str] = &[
        "no_mangle",
        "export_name",
        "inline",
        "link_section",
        "unsafe",
    ];
    for a in &item.attrs {
        let p = a.path();
        if let Some(n) = OWN.iter().find(|n| p.is_ident(n)) {
            cx.error_spanned(
                p.span(),
                format!(
                    "remove `#[{n}]`: #[kfunc] exports the function as `#[no_mangle] \
                     #[inline(never)] extern \"C\"` itself"
                ),
            );
        }
    }
}

/// A kfunc is a free function: `self` is refused.
pub(crate) fn check_no_receiver(cx: &Ctxt, r: &Receiver) {
    cx.error_spanned(
        r.span(),
        "a kfunc is a free function called from BPF: remove `self` (take a raw pointer to the \
         object instead)",
    );
}

/// A parameter is a plain name (it becomes the name in BTF): the name, or `None` after an
/// error.
pub(crate) fn check_param_is_named(cx: &Ctxt, pat: &Pat) -> Option<Ident> {
    match pat {
        Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => Some(pi.ident.clone()),
        other => {
            cx.error_spanned(
                other.span(),
                "a kfunc parameter needs a plain name (it becomes the parameter name in BTF): \
                 write `name: Type` and destructure in the body",
            );
            None
        }
    }
}

/// At most [`MAX_ARGS`] C parameters: reported once, on the parameter that goes past the
/// limit (`pt`, the C parameters `c_index..c_index + width` of `c_count`; a slice is two).
pub(crate) fn check_arg_count(
    cx: &Ctxt,
    sig: &syn::Signature,
    c_index: usize,
    width: usize,
    c_count: usize,
    pt: &PatType,
) {
    if c_index <= MAX_ARGS && c_index + width > MAX_ARGS {
        let has = if c_count == sig.inputs.len() {
            c_count.to_string()
        } else {
            format!("{c_count} at the C ABI (a slice is a pointer and a length)")
        };
        cx.error_spanned(
            pt.span(),
            format!(
                "a kfunc with per-argument flags takes at most {MAX_ARGS} arguments (the \
                 extended set8 entry has one flag word for each of R1-R{MAX_ARGS}; the \
                 arguments 7.3 passes on the stack have none); `{}` has {has}: pass a pointer \
                 to a struct instead",
                sig.ident,
            ),
        );
    }
}

/// The length parameter a slice adds (`buf_len`) is not also the name of another parameter.
pub(crate) fn check_slice_len_names(cx: &Ctxt, params: &[Param]) {
    for (i, len) in params.iter().enumerate() {
        if !matches!(len.typed, Typed::SliceLen) {
            continue;
        }
        if let Some(other) = params
            .iter()
            .enumerate()
            .find(|&(j, p)| j != i && p.name == len.name)
            .map(|(_, p)| p)
        {
            cx.error_spanned(
                other.name.span(),
                format!(
                    "`{0}` is also the name of the length #[kfunc] gives the slice `{1}` at the \
                     C ABI (`{1}`, `{0}`): rename this parameter",
                    len.name,
                    params[i - 1].name
                ),
            );
        }
    }
}

/// No typed parameter promises exclusive access the verifier does not give (the host
/// crate's docs, "Exclusive references", have the verifier's functions). The program
/// chooses the arguments: it may pass one object or map value twice, and the objects and
/// map values it passes are shared with other CPUs (map values also with userspace), so
/// `&mut T` is refused but for an iterator state, which is the program's own stack slot
/// that no memory argument can read, and `&mut [u8]` is refused. The verifier does not
/// check that two iterator arguments differ: a second reference to an iterator state of a
/// `&mut` one's type is refused too.
pub(crate) fn check_exclusive_refs(cx: &Ctxt, params: &[Param]) {
    let iter_type = |p: &Param| match (&p.typed, &p.c) {
        (Typed::Ref { is_mut, .. }, Some(CType::Pointer { pointee, .. }))
            if pointee.is_iter_state() =>
        {
            Some((pointee.c_name(), *is_mut, pointee.rust_name()))
        }
        _ => None,
    };
    for (j, p) in params.iter().enumerate() {
        let pname = &p.name;
        let w = types::tokens(&p.written);
        match &p.typed {
            Typed::Ref {
                is_mut: true,
                nullable,
                elem,
            } if iter_type(p).is_none() => {
                let e = types::tokens(elem);
                let shared = if *nullable {
                    format!("Option<&{e}>")
                } else {
                    format!("&{e}")
                };
                cx.error_spanned(
                    p.written.span(),
                    format!(
                        "`{pname}: {w}`: kfunc arguments may alias each other and other CPUs' \
                         references (the verifier lets the program pass one object or map value \
                         twice, and the objects and map values it passes are shared with other \
                         CPUs and userspace), so the kfunc has no exclusive access: take \
                         `{shared}` (with interior mutability, e.g. `Opaque`) or a raw pointer \
                         `*mut {e}`"
                    ),
                );
            }
            Typed::Slice {
                is_mut: true, elem, ..
            } => {
                let e = types::tokens(elem);
                cx.error_spanned(
                    p.written.span(),
                    format!(
                        "`{pname}: {w}`: the verifier passes the program's stack but also a map \
                         value (shared with other CPUs, and with userspace through mmap), and \
                         another argument may point to the same bytes, so the kfunc has no \
                         exclusive access to them: take a raw pointer `{pname}: *mut {e}` and a \
                         length `{pname}_len: usize` with `size({pname}_len, of = {pname})`"
                    ),
                );
            }
            _ => {}
        }
        let Some((ty, mutable, rust)) = iter_type(p) else {
            continue;
        };
        let first = params[..j]
            .iter()
            .find(|q| matches!(iter_type(q), Some((t, m, _)) if t == ty && (m || mutable)));
        if let Some(q) = first {
            cx.error_spanned(
                p.written.span(),
                format!(
                    "`{pname}: {w}` and `{}: {}` may be the same iterator: the verifier checks \
                     that each iterator argument is an initialised `{ty}` on the program's \
                     stack, not that they differ, and one of them is `&mut`: take this one as a \
                     raw pointer `*mut {rust}`, or both as `&`",
                    q.name,
                    types::tokens(&q.written)
                ),
            );
        }
    }
}

/// A parameter name does not end in argument-name suffixes (`len__sz`, `p__arena__nullable`,
/// the retired `buf__opt`): with `#[kfunc]` they are flags.
pub(crate) fn check_param_suffix(cx: &Ctxt, name: &Ident) {
    let name_s = name.to_string();
    let suffixes = grammar::name_suffixes();
    let mut base = name_s.as_str();
    let mut found: Vec<(&str, ArgFlag, bool)> = Vec::new();
    while let Some(&(sfx, flag, retired)) = suffixes
        .iter()
        .find(|(s, _, _)| base.len() > s.len() && base.ends_with(s))
    {
        found.push((sfx, flag, retired));
        base = &base[..base.len() - sfx.len()];
    }
    if found.is_empty() {
        return;
    }
    found.reverse();
    let sfxs: String = found.iter().map(|(s, _, _)| *s).collect();
    let flags: Vec<String> = found
        .iter()
        .map(|&(_, flag, _)| {
            let kw = flag.keyword();
            if grammar::is_size(flag) {
                format!("`{kw}({base}, of = <memory>)`")
            } else {
                format!("`{kw}({base})`")
            }
        })
        .collect();
    let notes: Vec<String> = found
        .iter()
        .filter(|(_, _, retired)| *retired)
        .map(|&(s, flag, _)| {
            let now = flag.def().suffix.unwrap_or(flag.keyword());
            format!(" (`{s}` was replaced by `{now}` in Linux 7.3)")
        })
        .collect();
    let many = found.len() > 1;
    cx.error_spanned(
        name.span(),
        format!(
            "parameter `{name_s}` ends in the argument-name suffix{} `{sfxs}`{}: with #[kfunc] \
             write the flag{} {} and drop the suffix{}",
            if many { "es" } else { "" },
            notes.concat(),
            if many { "s" } else { "" },
            flags.join(", "),
            if many { "es" } else { "" },
        ),
    );
}

// ---- 2. each use of a per-argument flag ----

/// May `flag` be recorded on argument `a` (named by `id`)? The kind of the argument, its
/// pointee, and one `release`/`acquire` per kfunc.
pub(crate) fn check_flag_use(
    cx: &Ctxt,
    sig: &Signature<'_>,
    attrs: &Attrs,
    flag: ArgFlag,
    a: usize,
    id: &Ident,
) -> bool {
    if let Some(c) = sig.c(a) {
        if !check_arg_kind(cx, sig, flag, a, c, id) || !check_pointee(cx, sig, flag, a, c, id) {
            return false;
        }
    }
    match flag {
        ArgFlag::Release => check_one_release(cx, sig, attrs, id.span()),
        ArgFlag::Acquire => check_one_acquire(cx, sig, attrs, a, id),
        _ => true,
    }
}

/// A pointer flag is on a pointer, a scalar flag on a scalar ([`grammar::arg_kind`]).
fn check_arg_kind(
    cx: &Ctxt,
    sig: &Signature<'_>,
    flag: ArgFlag,
    a: usize,
    c: &CType,
    id: &Ident,
) -> bool {
    let kw = flag.keyword();
    let pname = sig.pname(a);
    let what = sig.describe(a).unwrap_or_else(|| c.describe());
    match (grammar::arg_kind(flag), c.is_pointer()) {
        (ArgKind::Pointer, false) => {
            cx.error_spanned(
                id.span(),
                format!(
                    "`{kw}` applies to pointer arguments, but `{pname}` is {}: remove \
                     `{kw}({pname})`",
                    what
                ),
            );
            false
        }
        (ArgKind::Scalar, true) => {
            let hint = if grammar::is_size(flag) {
                format!(
                    "put it on the length that follows the memory: `{kw}(<length>, of = \
                     {pname})`"
                )
            } else {
                format!("remove `{kw}({pname})`")
            };
            cx.error_spanned(
                id.span(),
                format!(
                    "`{kw}` applies to scalar arguments, but `{pname}` is {}: {hint}",
                    what
                ),
            );
            false
        }
        _ => true,
    }
}

/// The flags that say what a pointer points to have the right pointee: `str`, `iter`,
/// `map`, `const_map`, `irq_flag`, `nonown_allowed`.
fn check_pointee(
    cx: &Ctxt,
    sig: &Signature<'_>,
    flag: ArgFlag,
    a: usize,
    c: &CType,
    id: &Ident,
) -> bool {
    let CType::Pointer { pointee, .. } = c else {
        return true;
    };
    let pname = sig.pname(a);
    let error = match flag {
        ArgFlag::Str => check_str_pointee(pointee, &pname),
        ArgFlag::Iter => check_iter_pointee(pointee, &pname),
        ArgFlag::Map | ArgFlag::ConstMap => check_map_pointee(flag, pointee, &pname),
        ArgFlag::IrqFlag => check_irq_flag_pointee(pointee, &pname),
        ArgFlag::NonownAllowed => check_nonown_pointee(pointee, &pname),
        _ => None,
    };
    match error {
        Some(msg) => {
            cx.error_spanned(id.span(), msg);
            false
        }
        None => true,
    }
}

/// `str` points to a C character ([`types::STR_POINTEES`]): the error, if not.
fn check_str_pointee(pointee: &Pointee, pname: &str) -> Option<String> {
    let ok = match pointee {
        Pointee::Scalar(s) => {
            let last = types::tokens(&s.ty);
            let last = last.rsplit("::").next().unwrap_or("");
            types::STR_POINTEES.contains(&last)
        }
        _ => false,
    };
    (!ok).then(|| {
        format!(
            "`str` needs a pointer to a C string (`*const c_char`, `*const u8` or `*const \
             i8`), but `{pname}` points to `{}`",
            pointee.rust_name()
        )
    })
}

/// `map` and `const_map` point to `bindings::bpf_map` or `c_void`, as patch 3's registration
/// requires (the verifier passes a `struct bpf_map`; 7.3's `__map` kfuncs take `void *`):
/// the error, if not.
fn check_map_pointee(flag: ArgFlag, pointee: &Pointee, pname: &str) -> Option<String> {
    let ok =
        matches!(pointee, Pointee::Void) || matches!(pointee, Pointee::Kernel(n) if n == "bpf_map");
    (!ok).then(|| {
        format!(
            "`{}` needs a pointer to `bindings::bpf_map` or `c_void` (the verifier passes the \
             map itself), but `{pname}` points to `{}`",
            flag.keyword(),
            pointee.rust_name()
        )
    })
}

/// `iter` points to a struct named `bpf_iter_<type>`: the error, if not.
fn check_iter_pointee(pointee: &Pointee, pname: &str) -> Option<String> {
    let ok = matches!(pointee, Pointee::Kernel(n) | Pointee::Module(n, _)
        if n.starts_with("bpf_iter_") && n.len() > "bpf_iter_".len());
    (!ok).then(|| {
        format!(
            "`iter` needs a pointer to an iterator state struct named `bpf_iter_<type>` (the \
             verifier checks the name), but `{pname}` points to `{}`",
            pointee.rust_name()
        )
    })
}

/// `irq_flag` points to an `unsigned long` ([`grammar::IRQ_FLAG_POINTEES`]): the error, if
/// not.
fn check_irq_flag_pointee(pointee: &Pointee, pname: &str) -> Option<String> {
    let ok = matches!(pointee, Pointee::Scalar(s)
        if grammar::IRQ_FLAG_POINTEES.contains(&s.c_name.as_str()));
    (!ok).then(|| {
        format!(
            "`irq_flag` needs a pointer to the `unsigned long` stack slot the IRQ flags are \
             saved in (`*mut c_ulong` or `*mut u64`), but `{pname}` points to `{}`",
            pointee.rust_name()
        )
    })
}

/// `nonown_allowed` points to `bindings::bpf_list_node`: the error, if not.
fn check_nonown_pointee(pointee: &Pointee, pname: &str) -> Option<String> {
    let ok = matches!(pointee, Pointee::Kernel(n) if n == grammar::NONOWN_POINTEE);
    (!ok).then(|| {
        format!(
            "`nonown_allowed` lets a list node argument be a non-owning reference, and the \
             verifier reads it for `struct {0}` only: `{pname}` must be `*mut bindings::{0}`, \
             not a pointer to `{1}`",
            grammar::NONOWN_POINTEE,
            pointee.rust_name()
        )
    })
}

/// One argument is released per call (`release(a)` or an `ARef<T>` taken by value), the
/// second is refused at `span`.
pub(crate) fn check_one_release(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs, span: Span) -> bool {
    let Some((r, _)) = attrs.release_arg else {
        return true;
    };
    let p = &sig.params[r];
    let given = match p.typed {
        Typed::ARef { .. } => format!(
            "`{}` is `{}` taken by value, which the kfunc releases",
            p.name,
            types::tokens(&p.written)
        ),
        _ => format!("`release({})` is already given", p.name),
    };
    cx.error_spanned(
        span,
        format!(
            "only one argument can be released: {given} (the verifier releases one reference \
             per call)"
        ),
    );
    false
}

/// Is `p` a reference to an iterator state (`&mut bpf_iter_<type>`, or `&`): then it has
/// `iter`.
pub(crate) fn is_iter_state(p: &Param) -> bool {
    matches!(
        (&p.typed, &p.c),
        (Typed::Ref { .. }, Some(CType::Pointer { pointee, .. })) if pointee.is_iter_state()
    )
}

/// A per-argument flag written on a typed parameter neither repeats what its type says nor
/// contradicts it (the C-ABI shim turns the pointer into that type, so the pointer must be
/// what the type promises). Whether it may be recorded.
pub(crate) fn check_typed_flag(
    cx: &Ctxt,
    sig: &Signature<'_>,
    flag: ArgFlag,
    a: usize,
    id: &Ident,
) -> bool {
    let p = &sig.params[a];
    let pname = &p.name;
    let kw = flag.keyword();
    let w = types::tokens(&p.written);
    let msg = match (&p.typed, flag) {
        (Typed::Raw, _) => return true,
        (Typed::SliceLen, _) => format!(
            "`{pname}` is the length #[kfunc] adds for the slice `{0}: {w}` at the C ABI; \
             its fact, `size({pname}, of = {0})`, comes from the type: remove \
             `{kw}({pname})`",
            sig.params[a - 1].name
        ),
        (
            Typed::Ref { nullable: true, .. } | Typed::Slice { nullable: true, .. },
            ArgFlag::Nullable,
        ) => {
            format!(
                "`{pname}` is `{w}`, which already lets the program pass NULL: remove \
                 `nullable({pname})`"
            )
        }
        (Typed::Ref { .. } | Typed::Slice { .. }, ArgFlag::Nullable) => format!(
            "`{pname}` is `{w}`, a reference, which is never NULL: write `Option<{w}>` to let \
             the program pass NULL, and remove `nullable({pname})`"
        ),
        (Typed::ARef { .. }, ArgFlag::Nullable) => format!(
            "`{pname}` is `{w}` taken by value, the reference the kfunc releases, which is \
             never NULL: remove `nullable({pname})`"
        ),
        (Typed::ARef { .. }, ArgFlag::Release) => format!(
            "`{pname}` is `{w}` taken by value, which already makes it the reference the kfunc \
             releases: remove `release({pname})`"
        ),
        (_, ArgFlag::Release) => format!(
            "`{pname}` is `{w}`, borrowed for the call: the kfunc cannot release it; take \
             `ARef<T>` by value to release the reference (or a raw pointer with \
             `release({pname})`)"
        ),
        (Typed::Ref { .. }, ArgFlag::Iter) if is_iter_state(p) => format!(
            "`{pname}` is `{w}`, a reference to an iterator state, which already makes it \
             `iter`: remove `iter({pname})`"
        ),
        (_, ArgFlag::Ignore) => format!(
            "`ignore({pname})` says the verifier does not check `{pname}`, but `{w}` needs \
             the valid pointer the verifier checks: take a raw pointer to use `ignore`"
        ),
        (_, ArgFlag::Uninit) => format!(
            "`uninit({pname})` passes uninitialised memory, but `{w}` must point to \
             initialised memory: take a raw pointer to use `uninit`"
        ),
        (_, ArgFlag::Arena) => format!(
            "`arena({pname})` passes an arena address (NULL allowed), not a kernel pointer \
             `{w}` can hold: take a raw pointer to use `arena`"
        ),
        (_, ArgFlag::Str) => format!(
            "`str({pname})` passes a NUL-terminated string of unknown length, which `{w}` \
             does not cover: take `*const c_char` to use `str`"
        ),
        _ => return true,
    };
    cx.error_spanned(id.span(), msg);
    false
}

/// A bare function flag neither repeats nor contradicts what the return type says:
/// `ARef<T>` is a new reference (`acquire`), never NULL; `Option<ARef<T>>` may be NULL
/// (`ret_null`). Whether it may be recorded.
pub(crate) fn check_typed_func_flag(
    cx: &Ctxt,
    sig: &Signature<'_>,
    f: FuncFlag,
    span: Span,
) -> bool {
    let Typed::ARef { ty, nullable, .. } = &sig.ret_typed else {
        return true;
    };
    let fname = &sig.name;
    let aref = types::tokens(ty);
    let w = if *nullable {
        format!("Option<{aref}>")
    } else {
        aref.clone()
    };
    let msg = match f {
        FuncFlag::Acquire => format!(
            "`{fname}` returns `{w}`, which already makes it an acquire kfunc (a new \
             reference): remove `acquire`"
        ),
        FuncFlag::RetNull if *nullable => format!(
            "`{fname}` returns `{w}`, which already says that it may return NULL: remove \
             `ret_null`"
        ),
        FuncFlag::RetNull => format!(
            "`{fname}` returns `{w}`, which is never NULL: return `Option<{aref}>` to return \
             NULL, and remove `ret_null`"
        ),
        _ => return true,
    };
    cx.error_spanned(span, msg);
    false
}

/// One `acquire`: not both bare and on an argument, not on two arguments.
fn check_one_acquire(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs, a: usize, id: &Ident) -> bool {
    if attrs.bare_acquire.is_some() {
        let pname = sig.pname(a);
        cx.error_spanned(
            id.span(),
            format!(
                "`acquire` is given twice: bare `acquire` already makes `{}` an acquire kfunc; \
                 keep only `acquire({pname})` if the reference is taken on `{pname}`",
                sig.name
            ),
        );
        return false;
    }
    if let Some((r, _)) = attrs.acquire_arg {
        cx.error_spanned(
            id.span(),
            format!(
                "a kfunc returns one reference: `acquire({})` is already given",
                sig.params[r].name
            ),
        );
        return false;
    }
    true
}

// ---- 3. the resolved flags ----

/// Every rule about the resolved flags: per argument first, then about the whole kfunc.
pub(crate) fn check(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs) {
    let conflicts = grammar::arg_conflicts();
    for a in 0..sig.nparams() {
        let conflicting = check_arg_conflicts(cx, sig, attrs, a, &conflicts);
        let ignored = check_ignore_alone(cx, sig, attrs, a);
        check_rcu_without_rcu_args(cx, sig, attrs, a);
        if !conflicting && !ignored {
            check_rcu_on_object(cx, sig, attrs, a);
        }
        if let Some(pair) = SizePair::of(sig, attrs, a) {
            check_size_memory_adjacent(cx, sig, &pair);
            check_one_size_per_memory(cx, sig, attrs, &pair);
            check_size_memory_stays_memory(cx, attrs, &pair);
        }
    }
    check_one_constant(cx, sig, attrs);
    check_func_conflicts(cx, attrs);
    check_arena_args(cx, sig, attrs);
    check_implicit_args(cx, sig, attrs);
    if let Some(ret) = &sig.ret {
        check_pointer_return(cx, sig, attrs, ret);
        check_acquire_return(cx, sig, attrs, ret);
    }
    check_iterator(cx, sig, attrs);
}

/// No two flags of [`grammar::arg_conflicts`] on argument `a`; the later written is blamed.
/// Whether one was found.
fn check_arg_conflicts(
    cx: &Ctxt,
    sig: &Signature<'_>,
    attrs: &Attrs,
    a: usize,
    conflicts: &[(ArgFlag, ArgFlag, String)],
) -> bool {
    let arg = &attrs.args[a];
    let mut found = false;
    for (x, y, why) in conflicts {
        if let (Some(sx), Some(sy)) = (arg.get(*x), arg.get(*y)) {
            let later = if arg.order(*x) > arg.order(*y) {
                sx
            } else {
                sy
            };
            cx.error_spanned(
                later,
                format!(
                    "`{}` and `{}` on `{}` conflict: {why}",
                    x.keyword(),
                    y.keyword(),
                    sig.pname(a)
                ),
            );
            found = true;
        }
    }
    found
}

/// `ignore` on argument `a` comes alone (no other flag would be checked). Whether it did
/// not.
fn check_ignore_alone(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs, a: usize) -> bool {
    let arg = &attrs.args[a];
    let Some(si) = arg.get(ArgFlag::Ignore) else {
        return false;
    };
    let others: Vec<&str> = arg
        .iter()
        .filter(|&(f, _)| f != ArgFlag::Ignore)
        .map(|(f, _)| f.keyword())
        .collect();
    if others.is_empty() {
        return false;
    }
    cx.error_spanned(
        si,
        format!(
            "`ignore` means the verifier does not check `{}` at all, so `{}` on it would never \
             be checked: remove one",
            sig.pname(a),
            others.join("`, `")
        ),
    );
    true
}

/// `rcu(a)` is not written next to `rcu_args`, which already says it for every argument.
fn check_rcu_without_rcu_args(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs, a: usize) {
    if let (Some(sr), Some(_)) = (
        attrs.args[a].get(ArgFlag::Rcu),
        attrs.func.get(FuncFlag::RcuArgs),
    ) {
        cx.error_spanned(
            sr,
            format!(
                "`rcu_args` already lets every pointer argument of `{}` be RCU-protected; \
                 remove `rcu({1})` (or `rcu_args`, to relax `{1}` only)",
                sig.name,
                sig.pname(a)
            ),
        );
    }
}

/// `rcu(a)` is on a pointer to a kernel object: memory (a scalar or `c_void` pointee) is not
/// checked for trust at all.
fn check_rcu_on_object(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs, a: usize) {
    if let (Some(sr), Some(CType::Pointer { pointee, .. })) =
        (attrs.args[a].get(ArgFlag::Rcu), sig.c(a))
    {
        if matches!(pointee, Pointee::Void | Pointee::Scalar(_)) {
            cx.error_spanned(
                sr,
                format!(
                    "`rcu` lets a pointer to a kernel object be RCU-protected instead of \
                     trusted, but `{0}` points to `{1}`, which the verifier checks as memory, \
                     not for trust: remove `rcu({0})`",
                    sig.pname(a),
                    pointee.rust_name()
                ),
            );
        }
    }
}

/// A `size(a, of = m)` or `const_size(a, of = m)` pair, for the checks of its memory.
struct SizePair {
    /// The flag as written (`size` or `const_size`).
    kw: &'static str,
    /// The size argument.
    a: usize,
    /// The memory argument.
    m: usize,
    /// Where `of = m` names the memory.
    mspan: Span,
    /// `a` and `m` by name.
    pa: String,
    pm: String,
}

impl SizePair {
    /// The pair whose size argument is `a`, if `a` has `size`/`const_size` with `of`.
    fn of(sig: &Signature<'_>, attrs: &Attrs, a: usize) -> Option<Self> {
        let (m, mspan) = attrs.args[a].mem_of?;
        let flag = if attrs.args[a].get(ArgFlag::Size).is_some() {
            ArgFlag::Size
        } else {
            ArgFlag::ConstSize
        };
        Some(SizePair {
            kw: flag.keyword(),
            a,
            m,
            mspan,
            pa: sig.pname(a),
            pm: sig.pname(m),
        })
    }
}

/// The memory of a size pair is a pointer and directly precedes the size (7.3 checks
/// adjacent pairs).
fn check_size_memory_adjacent(cx: &Ctxt, sig: &Signature<'_>, p: &SizePair) {
    let SizePair {
        kw,
        a,
        m,
        mspan,
        pa,
        pm,
    } = p;
    match sig.c(*m) {
        Some(c) if !c.is_pointer() => cx.error_spanned(
            *mspan,
            format!(
                "`{kw}({pa}, of = {pm})`: the memory argument must be a pointer, but `{pm}` is \
                 {}",
                c.describe()
            ),
        ),
        _ if m + 1 != *a => cx.error_spanned(
            *mspan,
            format!(
                "`{kw}({pa}, of = {pm})`: the 7.3 verifier checks (memory, size) as adjacent \
                 pairs, so the size argument must directly follow its memory argument: put \
                 `{pa}` right after `{pm}`"
            ),
        ),
        _ => {}
    }
}

/// A memory argument has one size: no earlier argument is the size of the same memory.
fn check_one_size_per_memory(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs, p: &SizePair) {
    let earlier = (0..p.a).find(|&b| matches!(attrs.args[b].mem_of, Some((m, _)) if m == p.m));
    if let Some(b) = earlier {
        cx.error_spanned(
            p.mspan,
            format!(
                "`{}` already gives the size of `{}`; a memory argument has one size",
                sig.pname(b),
                p.pm
            ),
        );
    }
}

/// The memory of a pair stays memory: a flag making it something else (a kind flag,
/// `rcu`/`acquire`) wins in the verifier, which classifies the pointer before it looks for
/// a size after it.
fn check_size_memory_stays_memory(cx: &Ctxt, attrs: &Attrs, p: &SizePair) {
    let other = grammar::POINTER_KIND
        .iter()
        .chain(grammar::OBJECT)
        .find(|&&k| attrs.args[p.m].get(k).is_some());
    if let Some(&k) = other {
        let SizePair { kw, pa, pm, .. } = p;
        cx.error_spanned(
            p.mspan,
            format!(
                "`{kw}({pa}, of = {pm})` makes `{pm}` memory the verifier checks against \
                 `{pa}`, but `{}({pm})` makes `{pm}` {}; keep one",
                k.keyword(),
                grammar::kind_noun(k)
            ),
        );
    }
}

/// One verifier-known constant per call ([`grammar::CONSTANT`]); the later written is
/// blamed.
fn check_one_constant(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs) {
    let mut constants: Vec<(usize, usize, ArgFlag, Span)> = Vec::new();
    for (a, arg) in attrs.args.iter().enumerate() {
        for &k in grammar::CONSTANT {
            if let Some(s) = arg.get(k) {
                constants.push((arg.order(k), a, k, s));
            }
        }
    }
    constants.sort_by_key(|c| c.0);
    let Some(&(_, a0, k0, _)) = constants.first() else {
        return;
    };
    if let Some(&(_, a1, k1, s1)) = constants.iter().find(|c| c.1 != a0) {
        cx.error_spanned(
            s1,
            format!(
                "`{}({})` and `{}({})` both need a verifier-known constant, but the 7.3 \
                 verifier records one constant argument per call (\"only one constant \
                 argument permitted\"): keep one",
                k0.keyword(),
                sig.pname(a0),
                k1.keyword(),
                sig.pname(a1)
            ),
        );
    }
}

/// No two function flags of [`grammar::FUNC_CONFLICTS`].
fn check_func_conflicts(cx: &Ctxt, attrs: &Attrs) {
    for &(x, y, why) in grammar::FUNC_CONFLICTS {
        if let (Some(_), Some(sy)) = (attrs.func.get(x), attrs.func.get(y)) {
            cx.error_spanned(
                sy,
                format!("`{}` and `{}` conflict: {why}", x.keyword(), y.keyword()),
            );
        }
    }
}

/// `arena_arg1`/`arena_arg2`: that argument exists and is a pointer.
fn check_arena_args(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs) {
    for &(f, i) in grammar::FUNC_POINTER_ARG {
        let Some(s) = attrs.func.get(f) else {
            continue;
        };
        let k = f.keyword();
        let fname = &sig.name;
        let nth = ["first", "second", "third", "fourth", "fifth"][i];
        let n = sig.params.len();
        match sig.params.get(i).and_then(|p| p.c.as_ref()) {
            None if n <= i => cx.error_spanned(
                s,
                format!(
                    "`{k}` says the {nth} argument of `{fname}` is an arena pointer, but \
                     `{fname}` has {n} parameter{}",
                    if n == 1 { "" } else { "s" }
                ),
            ),
            Some(c) if !c.is_pointer() => cx.error_spanned(
                s,
                format!(
                    "`{k}` says the {nth} argument of `{fname}` is an arena pointer, but `{}` \
                     is {}: make it a raw pointer or remove `{k}`",
                    sig.pname(i),
                    c.describe()
                ),
            ),
            _ => {}
        }
    }
}

/// `implicit_args`: there are implicit arguments ([`grammar::IMPLICIT_ARGS`]), they come
/// last, and they have no flag.
fn check_implicit_args(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs) {
    let (flag, implicit_types) = grammar::IMPLICIT_ARGS;
    let Some(s) = attrs.func.get(flag) else {
        return;
    };
    let implicit_kw = flag.keyword();
    let fname = &sig.name;
    let is_implicit = |c: &Option<CType>| {
        matches!(c, Some(CType::Pointer { pointee: Pointee::Kernel(n), .. })
            if implicit_types.contains(&n.as_str()))
    };
    let Some(first) = sig.params.iter().position(|p| is_implicit(&p.c)) else {
        let names = implicit_types
            .iter()
            .map(|t| format!("`*mut bindings::{t}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        cx.error_spanned(
            s,
            format!(
                "`{implicit_kw}` says the verifier supplies the last arguments of `{fname}`, \
                 but none is an implicit argument: they are {names}, after the arguments BPF \
                 programs pass"
            ),
        );
        return;
    };
    for p in sig.params.iter().skip(first + 1) {
        if !is_implicit(&p.c) {
            cx.error_spanned(
                p.name.span(),
                format!(
                    "implicit arguments come last (BPF programs see `{fname}` without them): \
                     move `{}` before `{}`",
                    p.name, sig.params[first].name
                ),
            );
        }
    }
    for (p, arg) in sig.params.iter().zip(&attrs.args).skip(first) {
        if !is_implicit(&p.c) {
            continue;
        }
        for (f, sp) in arg.iter() {
            cx.error_spanned(
                sp,
                format!(
                    "`{0}` is an implicit argument the verifier supplies, it checks no flag on \
                     it: remove `{1}({0})`",
                    p.name,
                    f.keyword()
                ),
            );
        }
    }
}

/// `ret_null`/`arena_ret` ([`grammar::FUNC_POINTER_RET`]): the kfunc returns a pointer.
fn check_pointer_return(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs, ret: &CType) {
    if ret.is_pointer() {
        return;
    }
    let fname = &sig.name;
    for &f in grammar::FUNC_POINTER_RET {
        let Some(s) = attrs.func.get(f) else {
            continue;
        };
        let k = f.keyword();
        let says = match f {
            FuncFlag::RetNull => "the returned pointer may be NULL".to_string(),
            _ => format!("`{fname}` returns an arena pointer"),
        };
        cx.error_spanned(
            s,
            format!(
                "`{k}` says {says}, but `{fname}` returns {}: return a raw pointer or remove \
                 `{k}`",
                ret.describe()
            ),
        );
    }
}

/// `acquire`: the kfunc returns a pointer, and with `acquire(a)` the type `a` points to.
fn check_acquire_return(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs, ret: &CType) {
    let fname = &sig.name;
    if let Some(s) = attrs.bare_acquire.or(attrs.acquire_arg.map(|x| x.1)) {
        if !ret.is_pointer() {
            cx.error_spanned(
                s,
                format!(
                    "`acquire` says `{fname}` returns a new reference, but it returns {}: \
                     return a raw pointer to the referenced object or remove `acquire`",
                    ret.describe()
                ),
            );
        }
    }
    if let (Some((a, s)), CType::Pointer { pointee: rp, .. }) = (attrs.acquire_arg, ret) {
        if let Some(CType::Pointer { pointee: ap, .. }) = sig.c(a) {
            if ap.key() != rp.key() {
                cx.error_spanned(
                    s,
                    format!(
                        "`acquire({0})`: the returned reference is taken on the object `{0}` \
                         points to, so `{0}` must point to the returned type `{1}`, not `{2}`",
                        sig.pname(a),
                        rp.rust_name(),
                        ap.rust_name()
                    ),
                );
            }
        }
    }
}

/// `iter_new`/`iter_next`/`iter_destroy`: one of them, then the shape of an iterator kfunc
/// of that kind.
fn check_iterator(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs) {
    let iters: Vec<(FuncFlag, Span)> = grammar::ITER_FUNC
        .iter()
        .filter_map(|&f| attrs.func.get(f).map(|s| (f, s)))
        .collect();
    match iters[..] {
        [] => {}
        [(first, _), (second, s), ..] => cx.error_spanned(
            s,
            format!(
                "`{}` and `{}` cannot be combined: an iterator kfunc is exactly one of \
                 constructor (`iter_new`), `iter_next` or destructor (`iter_destroy`)",
                first.keyword(),
                second.keyword()
            ),
        ),
        [(f, span)] => {
            check_iter_state(cx, sig, attrs, f, span);
            check_iter_params(cx, sig, f, span);
            check_iter_return(cx, sig, f);
        }
    }
}

/// An iterator kfunc takes its state as `iter(arg0)`, and is named
/// `bpf_iter_<type>_{new,next,destroy}` after the state's type.
fn check_iter_state(cx: &Ctxt, sig: &Signature<'_>, attrs: &Attrs, f: FuncFlag, span: Span) {
    let ik = f.keyword();
    if f == FuncFlag::IterNew
        && matches!(
            sig.params.first().map(|p| &p.typed),
            Some(Typed::Ref { .. })
        )
    {
        let p = &sig.params[0];
        cx.error_spanned(
            p.written.span(),
            format!(
                "the state of an `iter_new` kfunc is uninitialised memory the constructor \
                 initialises, which a reference cannot point to: take `*mut {}` instead of \
                 `{}`",
                sig.c(0)
                    .and_then(|c| match c {
                        CType::Pointer { pointee, .. } => Some(pointee.rust_name()),
                        _ => None,
                    })
                    .unwrap_or_default(),
                types::tokens(&p.written)
            ),
        );
    } else if sig.nparams() == 0 || attrs.args[0].get(ArgFlag::Iter).is_none() {
        cx.error_spanned(
            span,
            format!(
                "`{ik}` needs `iter(arg0)`: the first argument of an iterator kfunc is the \
                 iterator state (`*mut bpf_iter_<type>`)"
            ),
        );
    } else if let Some(CType::Pointer {
        pointee: Pointee::Kernel(n) | Pointee::Module(n, _),
        ..
    }) = sig.c(0)
    {
        let sfx = ik.trim_start_matches("iter_");
        let expect = format!("{n}_{sfx}");
        if sig.name != expect {
            cx.error_spanned(
                sig.ident.span(),
                format!(
                    "an `{ik}` kfunc on `{n}` must be named `{expect}` (the verifier checks \
                     `bpf_iter_<type>_{sfx}`): rename `{}`",
                    sig.name
                ),
            );
        }
    }
}

/// `iter_next` and `iter_destroy` take only the iterator state.
fn check_iter_params(cx: &Ctxt, sig: &Signature<'_>, f: FuncFlag, span: Span) {
    if f != FuncFlag::IterNew && sig.params.len() != 1 {
        cx.error_spanned(
            span,
            format!(
                "an `{}` kfunc takes only the iterator state: remove the other parameters",
                f.keyword()
            ),
        );
    }
}

/// `iter_next` returns a pointer, `iter_destroy` nothing.
fn check_iter_return(cx: &Ctxt, sig: &Signature<'_>, f: FuncFlag) {
    match (f, &sig.ret) {
        (FuncFlag::IterNext, Some(r)) if !r.is_pointer() => cx.error_spanned(
            sig.ret_span,
            "an `iter_next` kfunc returns a pointer to the next element (NULL at the end)",
        ),
        (FuncFlag::IterDestroy, Some(r)) if !matches!(r, CType::Void) => cx.error_spanned(
            sig.ret_span,
            "an `iter_destroy` kfunc returns nothing: remove the return type",
        ),
        _ => {}
    }
}
