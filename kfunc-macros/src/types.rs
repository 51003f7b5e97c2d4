// SPDX-License-Identifier: GPL-2.0

//! Mapping of Rust parameter and return types to the C types of a metadata record.
//!
//! The names follow DESIGN.md "Type names in records". Every type with no C equivalent
//! is refused with an error spanned on the type, saying what to write instead.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, Type, TypePath};

/// How the signedness of a scalar is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sign {
    /// `bool`: unsigned, and has no `MIN`.
    Bool,
    /// A Rust primitive of known signedness.
    Known(bool),
    /// A C typedef (`c_char`, `bindings::pid_t`): decided at compile time by `<T>::MIN`.
    FromMin,
}

/// A scalar: an integer, `bool`, or an integer typedef.
#[derive(Clone)]
pub(crate) struct Scalar {
    /// C type name written into the record.
    pub c_name: String,
    /// Signedness.
    pub sign: Sign,
    /// `bindings::X` by value: must be an integer typedef (checked with `<T>::MAX`).
    pub is_bindings_typedef: bool,
    /// The Rust type as written.
    pub ty: Type,
}

/// What a pointer points to.
#[derive(Clone)]
pub(crate) enum Pointee {
    /// `c_void`.
    Void,
    /// A scalar.
    Scalar(Scalar),
    /// `bindings::X`: a type of vmlinux BTF, named `X`.
    Kernel(String),
    /// A `#[repr(C)]` type of the module itself: its name and the path as written.
    Module(String, Type),
}

impl Pointee {
    /// The C type name of the pointee, as written in the record.
    pub(crate) fn c_name(&self) -> String {
        match self {
            Pointee::Void => "void".into(),
            Pointee::Scalar(s) => s.c_name.clone(),
            Pointee::Kernel(n) | Pointee::Module(n, _) => n.clone(),
        }
    }

    /// A key comparing two pointees (for `acquire(argN)`).
    pub(crate) fn key(&self) -> String {
        match self {
            Pointee::Void => "void".into(),
            Pointee::Scalar(s) => format!("scalar {}", s.c_name),
            Pointee::Kernel(n) => format!("kernel {n}"),
            Pointee::Module(n, _) => format!("module {n}"),
        }
    }

    /// Is this an iterator state, a struct named `bpf_iter_<type>`?
    pub(crate) fn is_iter_state(&self) -> bool {
        matches!(self, Pointee::Kernel(n) | Pointee::Module(n, _)
            if n.starts_with("bpf_iter_") && n.len() > "bpf_iter_".len())
    }

    /// The Rust name of the pointee, for messages.
    pub(crate) fn rust_name(&self) -> String {
        match self {
            Pointee::Void => "c_void".into(),
            Pointee::Scalar(s) => tokens(&s.ty),
            Pointee::Kernel(n) => format!("bindings::{n}"),
            Pointee::Module(_, t) => tokens(t),
        }
    }
}

/// The C view of a parameter or return type.
#[derive(Clone)]
pub(crate) enum CType {
    /// `void` (return only).
    Void,
    /// An integer scalar or `bool`.
    Scalar(Scalar),
    /// A raw pointer.
    Pointer {
        /// `*const T`.
        is_const: bool,
        /// What it points to.
        pointee: Pointee,
    },
}

impl CType {
    /// Is this a pointer?
    pub(crate) fn is_pointer(&self) -> bool {
        matches!(self, CType::Pointer { .. })
    }

    /// Human description for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            CType::Void => "nothing".into(),
            CType::Scalar(s) => format!("the scalar `{}`", tokens(&s.ty)),
            CType::Pointer { is_const, pointee } => format!(
                "the pointer `*{} {}`",
                if *is_const { "const" } else { "mut" },
                pointee.rust_name()
            ),
        }
    }
}

/// How a parameter or the return value is written: as its C type, or as a Rust type the
/// macro converts at the C ABI (a *typed* parameter), from which a fact follows.
///
/// The forms are matched by their spelling (the macro sees no types): `&T`, `&mut T`,
/// `Option<..>` (also `core::option::Option`), `ARef<T>` as [`AREF_PATHS`] spells it, `&[u8]`
/// and `&mut [u8]`. The `&mut` forms are read here and refused by
/// `check::check_exclusive_refs` but for an iterator state.
#[derive(Clone)]
pub(crate) enum Typed {
    /// Written as its C type (an integer or a raw pointer): passed through as it is.
    Raw,
    /// `&T` / `&mut T` (never NULL), or in `Option` (`nullable`). A reference to a
    /// `bpf_iter_<type>` is the iterator state (`iter`).
    Ref {
        /// `&mut T`.
        is_mut: bool,
        /// `Option<&T>`.
        nullable: bool,
        /// `T`.
        elem: Type,
    },
    /// `ARef<T>`: taken by value, the reference the kfunc releases (`release`); returned,
    /// a new reference (`acquire`), in `Option` (`ret_null`) when it may be NULL.
    ARef {
        /// `ARef<T>` as written.
        ty: Box<Type>,
        /// `T`.
        elem: Type,
        /// `Option<ARef<T>>` (a return value only).
        nullable: bool,
    },
    /// `&[u8]` / `&mut [u8]` (or `i8`), or in `Option` (`nullable`): the memory of a
    /// (pointer, size) pair; a second C parameter, [`Typed::SliceLen`], follows it.
    Slice {
        /// `&mut [T]`.
        is_mut: bool,
        /// `Option<&[T]>`.
        nullable: bool,
        /// `T`.
        elem: Type,
    },
    /// The length in bytes of the slice that is the C parameter before it: a C parameter
    /// the macro adds, `size(<name>_len, of = <name>)`.
    SliceLen,
}

impl Typed {
    /// Is this a Rust type the macro converts (anything but [`Typed::Raw`])?
    pub(crate) fn is_typed(&self) -> bool {
        !matches!(self, Typed::Raw)
    }
}

/// The spellings of the kernel's `ARef` the macro recognises (a leading `::` is allowed):
/// Linux 7.3 defines it in `kernel::sync::aref`; `kernel::types` re-exported it before.
pub(crate) const AREF_PATHS: &[&[&str]] = &[
    &["ARef"],
    &["kernel", "sync", "aref", "ARef"],
    &["kernel", "types", "ARef"],
];

/// The spellings of `Option` the macro recognises.
const OPTION_PATHS: &[&[&str]] = &[
    &["Option"],
    &["core", "option", "Option"],
    &["std", "option", "Option"],
];

/// Element types of a slice parameter: one byte, so any address the verifier passes is
/// aligned for them.
pub(crate) const SLICE_ELEMS: &[&str] = &["u8", "i8"];

/// The single generic type argument of `tp`'s last segment if `tp` is spelled as one of
/// `paths` (no generic arguments elsewhere, no `qself`).
fn generic_of<'t>(tp: &'t TypePath, paths: &[&[&str]]) -> Option<&'t Type> {
    if tp.qself.is_some() {
        return None;
    }
    let segs: Vec<&syn::PathSegment> = tp.path.segments.iter().collect();
    let (last, init) = segs.split_last()?;
    if init
        .iter()
        .any(|s| !matches!(s.arguments, PathArguments::None))
    {
        return None;
    }
    let names: Vec<String> = segs.iter().map(|s| s.ident.to_string()).collect();
    if !paths
        .iter()
        .any(|p| p.iter().copied().eq(names.iter().map(String::as_str)))
    {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>()[..] {
        [GenericArgument::Type(t)] => Some(t),
        _ => None,
    }
}

/// Read a typed parameter or return value ([`Typed`]): its form and the C type it has at
/// the C ABI (for a slice: the pointer; its length is a `usize`). `None` if `ty` is not
/// one of the forms (then it is read as a C type by [`analyse`]).
pub(crate) fn analyse_typed(
    ty: &Type,
    is_return: bool,
) -> Option<Result<(Typed, CType), syn::Error>> {
    let ty = strip(ty);
    let (inner, nullable) = match ty {
        Type::Path(tp) => match generic_of(tp, OPTION_PATHS) {
            Some(inner) => (strip(inner), true),
            None => (ty, false),
        },
        _ => (ty, false),
    };
    match inner {
        Type::Path(tp) => {
            let elem = generic_of(tp, AREF_PATHS)?;
            if nullable && !is_return {
                return Some(Err(err(
                    ty.span(),
                    format!(
                        "`{}`: an `ARef` taken by value is the reference the kfunc releases, \
                         and a released argument is never NULL: take `{}`",
                        tokens(ty),
                        tokens(inner)
                    ),
                )));
            }
            Some(analyse_pointee(elem).map(|pointee| {
                (
                    Typed::ARef {
                        ty: Box::new(inner.clone()),
                        elem: elem.clone(),
                        nullable,
                    },
                    CType::Pointer {
                        is_const: false,
                        pointee,
                    },
                )
            }))
        }
        Type::Reference(r) if !is_return => {
            if let Some(l) = &r.lifetime {
                return Some(Err(err(
                    l.span(),
                    format!(
                        "`{}`: a reference parameter of a kfunc is borrowed for the call only; \
                         remove the lifetime",
                        tokens(ty)
                    ),
                )));
            }
            let is_mut = r.mutability.is_some();
            match strip(&r.elem) {
                Type::Slice(sl) => {
                    let elem = strip(&sl.elem);
                    let byte = match elem {
                        Type::Path(tp) => {
                            tp.qself.is_none()
                                && tp.path.segments.len() == 1
                                && SLICE_ELEMS
                                    .contains(&tp.path.segments[0].ident.to_string().as_str())
                        }
                        _ => false,
                    };
                    if !byte {
                        return Some(Err(err(
                            sl.elem.span(),
                            format!(
                                "`{}`: a slice parameter is a slice of bytes (`u8` or `i8`): \
                                 the verifier checks a size in bytes and does not check the \
                                 alignment of the memory; take a raw pointer and a length with \
                                 `size(<length>, of = <pointer>)`",
                                tokens(ty)
                            ),
                        )));
                    }
                    let pointee = analyse_pointee(elem).ok()?;
                    Some(Ok((
                        Typed::Slice {
                            is_mut,
                            nullable,
                            elem: elem.clone(),
                        },
                        CType::Pointer {
                            is_const: !is_mut,
                            pointee,
                        },
                    )))
                }
                elem => Some(analyse_pointee(elem).map(|pointee| {
                    (
                        Typed::Ref {
                            is_mut,
                            nullable,
                            elem: elem.clone(),
                        },
                        CType::Pointer {
                            is_const: !is_mut,
                            pointee,
                        },
                    )
                })),
            }
        }
        _ => None,
    }
}

/// The C type of the length of a slice parameter: `usize` (`size_t`).
pub(crate) fn slice_len_ctype() -> CType {
    CType::Scalar(Scalar {
        c_name: "size_t".into(),
        sign: Sign::Known(false),
        is_bindings_typedef: false,
        ty: syn::parse_quote!(usize),
    })
}

/// Tokens of a type as a compact string (`bindings::task_struct`).
pub(crate) fn tokens(t: &impl quote::ToTokens) -> String {
    let s = t.to_token_stream().to_string();
    s.replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace("* ", "*")
        .replace("& mut ", "&mut ")
        .replace("& ", "&")
}

/// Rust primitive integer names and their C names and signedness.
const PRIMITIVES: &[(&str, &str, Sign)] = &[
    ("u8", "u8", Sign::Known(false)),
    ("u16", "u16", Sign::Known(false)),
    ("u32", "u32", Sign::Known(false)),
    ("u64", "u64", Sign::Known(false)),
    ("i8", "s8", Sign::Known(true)),
    ("i16", "s16", Sign::Known(true)),
    ("i32", "s32", Sign::Known(true)),
    ("i64", "s64", Sign::Known(true)),
    ("usize", "size_t", Sign::Known(false)),
    ("isize", "ssize_t", Sign::Known(true)),
    ("bool", "bool", Sign::Bool),
];

/// `core::ffi` / `kernel::ffi` C type aliases (any path ending in the name).
const C_ALIASES: &[(&str, &str)] = &[
    ("c_char", "char"),
    ("c_schar", "signed char"),
    ("c_uchar", "unsigned char"),
    ("c_short", "short int"),
    ("c_ushort", "short unsigned int"),
    ("c_int", "int"),
    ("c_uint", "unsigned int"),
    ("c_long", "long int"),
    ("c_ulong", "long unsigned int"),
    ("c_longlong", "long long int"),
    ("c_ulonglong", "long long unsigned int"),
];

/// Rust names a `str(...)` argument may point to.
pub(crate) const STR_POINTEES: &[&str] = &["c_char", "c_schar", "c_uchar", "u8", "i8"];

fn err(span: Span, msg: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(span, msg)
}

fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Paren(p) => strip(&p.elem),
        Type::Group(g) => strip(&g.elem),
        t => t,
    }
}

/// The last segment's name of a plain path type (no generics, no qself).
fn plain_path(tp: &TypePath) -> Result<Vec<String>, syn::Error> {
    if let Some(q) = &tp.qself {
        return Err(err(
            q.lt_token.span,
            "qualified paths (`<T as Trait>::X`) have no C equivalent; name the C type directly",
        ));
    }
    let mut names = Vec::new();
    for seg in &tp.path.segments {
        match &seg.arguments {
            PathArguments::None => {}
            args => {
                let gen = args
                    .span()
                    .join(seg.ident.span())
                    .unwrap_or_else(|| seg.span());
                let lifetimes = matches!(args, PathArguments::AngleBracketed(a)
                    if a.args.iter().all(|g| matches!(g, GenericArgument::Lifetime(_))));
                return Err(err(
                    if lifetimes { args.span() } else { gen },
                    format!(
                        "`{}` is a generic type with no C equivalent; kfunc parameters and \
                         return values are C integers or raw pointers to C types \
                         (`*mut bindings::X`, a `#[repr(C)]` struct of the module, `c_void`)",
                        tokens(tp)
                    ),
                ));
            }
        }
        names.push(seg.ident.to_string());
    }
    Ok(names)
}

fn no_c_type_hint(name: &str) -> Option<&'static str> {
    Some(match name {
        "f32" | "f64" => {
            "floating point has no place in a kfunc (the kernel does not use the FPU in BPF \
             calls, and BPF registers hold integers); use an integer type"
        }
        "u128" | "i128" => {
            "128-bit integers do not fit a BPF register (64 bits); use `u64`/`i64` or pass a \
             pointer"
        }
        "char" => {
            "Rust `char` is a 4-byte Unicode scalar value with no C equivalent; use `c_char` \
             or `u8`"
        }
        "String" | "str" => {
            "Rust strings have no C equivalent; take `*const c_char` and mark it `str(arg)`"
        }
        "Vec" | "Box" | "Option" | "Result" | "Arc" | "Rc" => {
            "Rust library types have no C equivalent; take a raw pointer"
        }
        "Self" => "`Self` has no C equivalent; kfuncs are free functions, name the type",
        _ => return None,
    })
}

/// Map a scalar path (already known to be a plain path) to a [`Scalar`], if it is one.
fn scalar_of(names: &[String], ty: &Type) -> Option<Scalar> {
    let last = names.last()?.as_str();
    if names.len() == 1 {
        if let Some(&(_, c, sign)) = PRIMITIVES.iter().find(|(r, _, _)| *r == last) {
            return Some(Scalar {
                c_name: c.into(),
                sign,
                is_bindings_typedef: false,
                ty: ty.clone(),
            });
        }
    }
    if let Some(&(_, c)) = C_ALIASES.iter().find(|(r, _)| *r == last) {
        return Some(Scalar {
            c_name: c.into(),
            sign: Sign::FromMin,
            is_bindings_typedef: false,
            ty: ty.clone(),
        });
    }
    None
}

fn is_bindings(names: &[String]) -> bool {
    names.len() >= 2 && names[names.len() - 2] == "bindings"
}

/// Analyse a parameter type (`is_return` changes only the messages and allows `()`).
pub(crate) fn analyse(ty: &Type, is_return: bool) -> Result<CType, syn::Error> {
    let what = if is_return {
        "return type"
    } else {
        "parameter type"
    };
    let ty = strip(ty);
    match ty {
        Type::Path(tp) => {
            let names = plain_path(tp)?;
            if let Some(s) = scalar_of(&names, ty) {
                return Ok(CType::Scalar(s));
            }
            let last = names.last().map(String::as_str).unwrap_or("");
            if let Some(h) = no_c_type_hint(last) {
                return Err(err(ty.span(), format!("`{}`: {h}", tokens(ty))));
            }
            if last == "c_void" {
                return Err(err(
                    ty.span(),
                    format!(
                        "`c_void` is only meaningful behind a pointer; as a {what} write \
                         `*mut c_void`{}",
                        if is_return {
                            " or omit the return type"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            if is_bindings(&names) {
                // An integer typedef of the kernel (`bindings::pid_t`); a struct is refused
                // at compile time by the `<T>::MAX` check the expansion emits.
                return Ok(CType::Scalar(Scalar {
                    c_name: last.to_string(),
                    sign: Sign::FromMin,
                    is_bindings_typedef: true,
                    ty: ty.clone(),
                }));
            }
            Err(err(
                ty.span(),
                format!(
                    "`{0}` passed by value has no BPF register representation: kfunc {what}s \
                     are C integers or raw pointers; write `*mut {0}` (or `*const {0}`)",
                    tokens(ty)
                ),
            ))
        }
        Type::Ptr(p) => {
            let is_const = p.const_token.is_some();
            let pointee = analyse_pointee(&p.elem)?;
            Ok(CType::Pointer { is_const, pointee })
        }
        Type::Tuple(t) if t.elems.is_empty() && is_return => Ok(CType::Void),
        Type::Reference(r) => {
            let m = if r.mutability.is_some() {
                "mut"
            } else {
                "const"
            };
            Err(err(
                ty.span(),
                format!(
                    "a kfunc cannot return a reference (the program would hold a borrow whose \
                     lifetime the verifier does not know): write `*{m} {}` instead of `{}`, or \
                     return `ARef<{0}>` for a new reference",
                    tokens(&r.elem),
                    tokens(ty)
                ),
            ))
        }
        Type::ImplTrait(_) => Err(err(
            ty.span(),
            format!("`impl Trait` has no C equivalent; a kfunc {what} is a concrete C type"),
        )),
        Type::TraitObject(_) => Err(err(
            ty.span(),
            "trait objects have no C equivalent; take a raw pointer to a concrete C type",
        )),
        Type::Tuple(_) => Err(err(
            ty.span(),
            if is_return {
                "tuples have no C equivalent; return one integer or pointer".to_string()
            } else {
                "tuples have no C equivalent; pass the fields as separate parameters".to_string()
            },
        )),
        Type::Array(_) => Err(err(
            ty.span(),
            "C does not pass arrays by value; take a pointer to the first element and a \
             length: `buf: *mut u8, len: u32` with `size(len, of = buf)`",
        )),
        Type::Slice(_) => Err(err(
            ty.span(),
            "slices have no C equivalent; take a pointer and a length: `buf: *mut u8, len: \
             u32` with `size(len, of = buf)`",
        )),
        Type::BareFn(_) => Err(err(
            ty.span(),
            "function pointers are not supported as kfunc parameters or return values",
        )),
        Type::Never(_) => Err(err(
            ty.span(),
            "a kfunc must return to the BPF program: return `()`, an integer or a pointer",
        )),
        Type::Infer(_) => Err(err(ty.span(), "write the C type explicitly")),
        _ => Err(err(
            ty.span(),
            format!(
                "`{}` has no C equivalent; use a C integer or a raw pointer",
                tokens(ty)
            ),
        )),
    }
}

fn analyse_pointee(elem: &Type) -> Result<Pointee, syn::Error> {
    let elem = strip(elem);
    match elem {
        Type::Path(tp) => {
            let names = plain_path(tp)?;
            let last = names.last().map(String::as_str).unwrap_or("");
            if last == "c_void" {
                return Ok(Pointee::Void);
            }
            if let Some(s) = scalar_of(&names, elem) {
                return Ok(Pointee::Scalar(s));
            }
            if let Some(h) = no_c_type_hint(last) {
                return Err(err(elem.span(), format!("`{}`: {h}", tokens(elem))));
            }
            if is_bindings(&names) {
                return Ok(Pointee::Kernel(last.to_string()));
            }
            Ok(Pointee::Module(last.to_string(), elem.clone()))
        }
        Type::Ptr(_) => Err(err(
            elem.span(),
            "pointers to pointers cannot be described in a kfunc metadata record; take \
             `*mut c_void` or a pointer to a struct holding the pointer",
        )),
        Type::Tuple(t) if t.elems.is_empty() => Err(err(
            elem.span(),
            "`*mut ()` is not C's `void *`; write `*mut c_void`",
        )),
        other => analyse(other, false).and_then(|_| {
            Err(err(
                other.span(),
                format!("`{}` has no C equivalent as a pointee", tokens(other)),
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Type {
        syn::parse_str(s).unwrap()
    }

    #[test]
    fn names_follow_design_md() {
        let c = |s: &str| match analyse(&t(s), false).unwrap() {
            CType::Scalar(x) => x.c_name,
            CType::Pointer { pointee, .. } => format!("*{}", pointee.c_name()),
            CType::Void => "void".into(),
        };
        assert_eq!(c("u32"), "u32");
        assert_eq!(c("i64"), "s64");
        assert_eq!(c("usize"), "size_t");
        assert_eq!(c("core::ffi::c_ulong"), "long unsigned int");
        assert_eq!(c("*mut core::ffi::c_void"), "*void");
        assert_eq!(c("*const kernel::bindings::task_struct"), "*task_struct");
        assert_eq!(c("*mut crate::Obj"), "*Obj");
        assert_eq!(c("bindings::pid_t"), "pid_t");
        assert!(analyse(&t("&u32"), false).is_err());
        assert!(analyse(&t("Vec<u8>"), false).is_err());
        assert!(analyse(&t("*mut *mut u8"), false).is_err());
        assert!(matches!(analyse(&t("()"), true), Ok(CType::Void)));
        assert!(analyse(&t("()"), false).is_err());
    }
}
