// SPDX-License-Identifier: GPL-2.0

//! Code generation for `#[kfunc]` and `kfunc_set!`.
//!
//! Every number written here comes from `layout` at expansion time.

use super::ast::Param;
use super::ctxt::Ctxt;
use super::layout as kl;
use super::parse::SetInput;
use super::types::{self, CType, Pointee, Scalar, Sign, Typed};
use super::validate::Kfunc;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, LitInt};

fn hex(v: u32) -> LitInt {
    LitInt::new(&format!("{v:#x}"), Span::call_site())
}

fn num(v: usize) -> LitInt {
    LitInt::new(&v.to_string(), Span::call_site())
}

/// The name of the hidden flags constant of kfunc `f`.
pub(crate) fn flags_const(f: &Ident) -> Ident {
    format_ident!("__kfunc_flags_{}", f, span = f.span())
}

/// The name of the C-ABI shim of a typed kfunc `f` (exported as `f`).
pub(crate) fn shim_ident(f: &Ident) -> Ident {
    format_ident!("__kfunc_c_{}", f, span = f.span())
}

/// The Rust type of parameter `p` at the C ABI: as written, or the raw pointer or length a
/// typed parameter is passed as.
pub(crate) fn c_param_ty(p: &Param) -> TokenStream {
    match &p.typed {
        Typed::Raw => p.written.to_token_stream(),
        Typed::Ref { is_mut, elem, .. } | Typed::Slice { is_mut, elem, .. } => {
            if *is_mut {
                quote!(*mut #elem)
            } else {
                quote!(*const #elem)
            }
        }
        Typed::ARef { elem, .. } => quote!(*mut #elem),
        Typed::SliceLen => quote!(usize),
    }
}

/// The return type of kfunc `k` at the C ABI (`-> T`, or nothing).
pub(crate) fn c_output(k: &Kfunc, item: &ItemFn) -> TokenStream {
    match &k.ret_typed {
        Typed::ARef { elem, .. } => quote!(-> *mut #elem),
        _ => item.sig.output.to_token_stream(),
    }
}

/// The C-ABI shim of a typed kfunc: an `unsafe extern "C"` function exported under the
/// kfunc's name that takes the raw pointers and lengths the BPF program passes, builds the
/// Rust values the user's function takes, calls it, and turns its result back into a raw
/// pointer. Each conversion relies only on what the verifier checked for the flags the
/// types imply; its doc comment says which, argument by argument.
fn shim(k: &Kfunc, item: &ItemFn) -> TokenStream {
    let name = &k.name;
    let name_str = name.to_string();
    let shim = shim_ident(name);
    let mut c_params = Vec::new();
    let mut convs = Vec::new();
    let mut args = Vec::new();
    let mut docs = vec![format!(
        " C-ABI shim of the kfunc `{name_str}`: the verifier's guarantees that make each \
         conversion sound (SAFETY):"
    )];
    let mut i = 0;
    while i < k.params.len() {
        let p = &k.params[i];
        let n = &p.name;
        let w = &p.written;
        let cty = c_param_ty(p);
        c_params.push(quote!(#n: #cty));
        args.push(quote!(#n));
        let ws = types::tokens(w);
        match &p.typed {
            Typed::Raw | Typed::SliceLen => {}
            Typed::Ref {
                is_mut, nullable, ..
            } => {
                let null = if *nullable {
                    "NULL (`nullable`, then `None`) or "
                } else {
                    "never NULL (no `nullable`), "
                };
                let state = if super::check::is_iter_state(p) && *is_mut {
                    "an initialised iterator state on the program's stack (`iter`), which no \
                     other CPU sees, no memory argument can read (the verifier refuses an \
                     iterator's stack slots as memory) and no other typed argument is (#[kfunc] \
                     refuses a second reference to a state of its type)"
                } else if super::check::is_iter_state(p) {
                    "an initialised iterator state on the program's stack (`iter`)"
                } else {
                    "a valid pointer to the object, trusted (or RCU-protected with `rcu`), \
                     valid for the call"
                };
                docs.push(format!(" - `{n}: {ws}`: {null}{state}."));
                // SAFETY (in the shim's doc comment): as pushed just above.
                convs.push(match (is_mut, nullable) {
                    (false, false) => quote!(let #n: #w = unsafe { &*#n };),
                    (true, false) => quote!(let #n: #w = unsafe { &mut *#n };),
                    (false, true) => quote!(let #n: #w = unsafe { #n.as_ref() };),
                    (true, true) => quote!(let #n: #w = unsafe { #n.as_mut() };),
                });
            }
            Typed::ARef { ty, .. } => {
                docs.push(format!(
                    " - `{n}: {ws}`: `release`: a referenced pointer, never NULL, whose \
                     reference the program gives up with this call; `ARef::from_raw` takes \
                     it over."
                ));
                // SAFETY (in the shim's doc comment): a released argument is a referenced,
                // non-NULL pointer; its reference is transferred to the callee.
                convs.push(quote! {
                    let #n: #w = unsafe {
                        <#ty>::from_raw(::core::ptr::NonNull::new_unchecked(#n))
                    };
                });
            }
            Typed::Slice { nullable, .. } => {
                // Only `&[u8]` reaches here: `check::check_exclusive_refs` refuses
                // `&mut [u8]`.
                let len = &k.params[i + 1].name;
                c_params.push(quote!(#len: usize));
                i += 1;
                docs.push(format!(
                    " - `{n}: {ws}` (`{n}`, `{len}`): `size({len}, of = {n})`: the verifier \
                     checked that the `{len}` bytes at `{n}` are readable; `{n}` is NULL only \
                     {} (a byte is always aligned).",
                    if *nullable {
                        "if the program passed NULL (`nullable`, then `None`) or with a \
                         length of 0"
                    } else {
                        "with a length of 0 (then an empty slice)"
                    }
                ));
                let make = quote!(::core::slice::from_raw_parts(#n, #len));
                // SAFETY (in the shim's doc comment): a non-NULL `n` points to `len`
                // readable bytes, checked by the verifier as the pair's size.
                convs.push(if *nullable {
                    quote! {
                        let #n: #w = if #n.is_null() { None } else { Some(unsafe { #make }) };
                    }
                } else {
                    quote! {
                        let #n: #w = if #n.is_null() { &[] } else { unsafe { #make } };
                    }
                });
            }
        }
        i += 1;
    }
    let call = if item.sig.unsafety.is_some() {
        docs.push(format!(
            " `{name_str}` is an `unsafe fn`: its contract is the one its flags state, \
             which the verifier checked."
        ));
        quote!(unsafe { #name(#(#args),*) })
    } else {
        quote!(#name(#(#args),*))
    };
    let output = c_output(k, item);
    let ret = match &k.ret_typed {
        Typed::ARef { ty, nullable, .. } => {
            docs.push(format!(
                " Returned: the reference `ARef::into_raw` gives up, which the program holds \
                 from now on (`acquire`){}.",
                if *nullable {
                    "; `None` is NULL (`ret_null`)"
                } else {
                    ""
                }
            ));
            if *nullable {
                quote! {
                    match ret {
                        ::core::option::Option::Some(r) => <#ty>::into_raw(r).as_ptr(),
                        ::core::option::Option::None => ::core::ptr::null_mut(),
                    }
                }
            } else {
                quote!(<#ty>::into_raw(ret).as_ptr())
            }
        }
        _ => quote!(ret),
    };
    quote! {
        #(#[doc = #docs])*
        #[unsafe(export_name = #name_str)]
        #[inline(never)]
        unsafe extern "C" fn #shim(#(#c_params),*) #output {
            #(#convs)*
            let ret = #call;
            #ret
        }
    }
}

/// What a build adds to the expansion of a `#[kfunc]`, in the scope of its metadata record
/// (see [`kfunc`]).
pub(crate) type Extra = fn(&Kfunc, &ItemFn) -> TokenStream;

/// The kernel build adds nothing.
pub(crate) fn nothing(_: &Kfunc, _: &ItemFn) -> TokenStream {
    TokenStream::new()
}

/// What to emit for a function the attribute refused: the errors, the function unchanged
/// (so the rest of the crate still resolves it), and a zero flags constant (so a
/// `kfunc_set!` naming it reports nothing more).
pub(crate) fn on_error(err: syn::Error, item: &ItemFn) -> TokenStream {
    let c = flags_const(&item.sig.ident);
    let e = err.to_compile_error();
    quote! {
        #e
        #item
        #[doc(hidden)]
        #[allow(non_upper_case_globals, dead_code, unreachable_pub)]
        pub const #c: [u32; 6] = [0; 6];
    }
}

/// Intern strings like `MetaRecord::write` does (no sharing; offset 0 is "").
struct Strtab(Vec<u8>);

impl Strtab {
    fn intern(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.0.len() as u32;
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        off
    }
}

fn scalar_tflags(s: &Scalar) -> TokenStream {
    let signed = kl::TYPE_F_SIGNED;
    let ty = &s.ty;
    match s.sign {
        Sign::Bool | Sign::Known(false) => quote!(0u8),
        Sign::Known(true) => quote!(#signed),
        Sign::FromMin => quote!(if <#ty>::MIN != 0 { #signed } else { 0u8 }),
    }
}

/// A local trait implemented by the integer types only, giving their `TYPE_F_SIGNED`.
fn scalar_trait() -> TokenStream {
    let signed = kl::TYPE_F_SIGNED;
    let unsigned =
        ["u8", "u16", "u32", "u64", "usize", "bool"].map(|t| Ident::new(t, Span::call_site()));
    let signed_tys = ["i8", "i16", "i32", "i64", "isize"].map(|t| Ident::new(t, Span::call_site()));
    quote! {
        #[diagnostic::on_unimplemented(
            message = "`{Self}` is passed by value but is not an integer typedef",
            label = "a kfunc parameter or return value is a C integer or a raw pointer",
            note = "for a struct of the kernel, take a pointer: `*mut {Self}`"
        )]
        trait KfuncScalar {
            const TFLAGS: u8;
        }
        #(impl KfuncScalar for #unsigned { const TFLAGS: u8 = 0; })*
        #(impl KfuncScalar for #signed_tys { const TFLAGS: u8 = #signed; })*
    }
}

/// Type descriptor initialiser and its strings.
fn type_desc(name: &str, c: &CType, st: &mut Strtab, checks: &mut Vec<TokenStream>) -> TokenStream {
    let name_off = st.intern(name);
    let (type_name, kind, tflags, size) = match c {
        CType::Void => ("void".to_string(), kl::TYPE_VOID, quote!(0u8), quote!(0u32)),
        CType::Scalar(s) => {
            let ty = &s.ty;
            let tflags = if s.is_bindings_typedef {
                // A `bindings::X` by value must be an integer typedef: only integers
                // implement the local `KfuncScalar` trait (its message says what to do).
                if checks.is_empty() {
                    checks.push(scalar_trait());
                }
                quote_spanned!(ty.span()=> <#ty as KfuncScalar>::TFLAGS)
            } else {
                scalar_tflags(s)
            };
            (
                s.c_name.clone(),
                kl::TYPE_SCALAR,
                tflags,
                quote!(::core::mem::size_of::<#ty>() as u32),
            )
        }
        CType::Pointer { is_const, pointee } => {
            let mut f = 0u8;
            if *is_const {
                f |= kl::TYPE_F_CONST;
            }
            let size = match pointee {
                Pointee::Module(_, ty) => {
                    f |= kl::TYPE_F_MODULE;
                    quote!(::core::mem::size_of::<#ty>() as u32)
                }
                _ => quote!(0u32),
            };
            (pointee.c_name(), kl::TYPE_POINTER, quote!(#f), size)
        }
    };
    let type_off = st.intern(&type_name);
    quote! {
        KfuncMetaType {
            name_off: #name_off,
            type_off: #type_off,
            kind: #kind,
            tflags: #tflags,
            reserved: 0,
            size: #size,
        }
    }
}

/// Expand a validated `#[kfunc]`: the expansion uses only `core`.
///
/// `extra(k, item)` goes into the scope of the metadata record, a static named
/// `KFUNC_META`: what a build adds to the kernel's expansion ([`nothing`] in the kernel, a
/// registration in a userspace registry in the host build).
pub(crate) fn kfunc(k: &Kfunc, item: &ItemFn, extra: Extra) -> TokenStream {
    let name = &k.name;
    let name_str = name.to_string();
    let fconst = flags_const(name);
    let mut words = vec![k.func_flags];
    words.extend_from_slice(&k.arg_flags);
    let words: Vec<LitInt> = words.into_iter().map(hex).collect();
    let nwords = num(words.len());

    // The function itself.
    let attrs = &item.attrs;
    // `#[cfg]`/`#[cfg_attr]` of the function also govern its flags and record.
    let cfgs: Vec<&syn::Attribute> = attrs.iter().filter(|a| a.path().is_ident("cfg")).collect();
    let sig = &item.sig;
    let unsafety = &sig.unsafety;
    let constness = &sig.constness;
    let inputs = &sig.inputs;
    let output = &sig.output;
    let body = &item.block;
    let user_pub = matches!(item.vis, syn::Visibility::Public(_));
    let allow_pub = if user_pub {
        quote!()
    } else {
        quote!(#[allow(missing_docs, unreachable_pub)])
    };

    // The metadata record.
    let mut st = Strtab(vec![0]);
    let name_off = st.intern(&name_str);
    let mut checks = Vec::new();
    let ret = type_desc("", &k.ret, &mut st, &mut checks);
    let mut args = Vec::new();
    for p in &k.params {
        let c = p.c.as_ref().expect("validated");
        args.push(type_desc(&p.name.to_string(), c, &mut st, &mut checks));
    }
    let zero = quote! {
        KfuncMetaType { name_off: 0, type_off: 0, kind: 0, tflags: 0, reserved: 0, size: 0 }
    };
    while args.len() < kl::MAX_ARGS {
        args.push(zero.clone());
    }
    while st.0.len() & 3 != 0 {
        st.0.push(0);
    }
    let strtab = syn::LitByteStr::new(&st.0, Span::call_site());
    let strtab_len = num(st.0.len());
    let rec_size = kl::META_HEADER_SIZE + st.0.len();
    let rec_size_u16 = u16::try_from(rec_size).expect("record below 64 KiB");
    let magic = hex(kl::META_MAGIC);
    let version = kl::META_VERSION;
    let nr_args = k.params.len() as u8;
    let max_args = num(kl::MAX_ARGS);
    let header_size = num(kl::META_HEADER_SIZE);
    let type_size = num(kl::META_TYPE_SIZE);
    let ret_off = num(kl::META_RET_OFFSET);
    let args_off = num(kl::META_ARGS_OFFSET);
    let section = kl::META_SECTION;
    let rec_size_lit = num(rec_size);

    let extra = extra(k, item);

    // A typed kfunc stays the user's Rust function (with the Rust ABI); its shim, in the
    // record's scope, is the C symbol.
    let (func, shim) = if k.is_typed() {
        let mut user = item.clone();
        user.sig.abi = None;
        (user.to_token_stream(), shim(k, item))
    } else {
        (
            quote! {
                #(#attrs)*
                #[unsafe(no_mangle)]
                #[inline(never)]
                #allow_pub
                pub #constness #unsafety extern "C" fn #name(#inputs) #output #body
            },
            TokenStream::new(),
        )
    };

    quote! {
        #func

        /// `#[kfunc]` flags of this kfunc: `KF_*` then `KF_PARAM_*` of arguments 0..5.
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unreachable_pub)]
        #(#cfgs)*
        pub const #fconst: [u32; #nwords] = [#(#words),*];

        #(#cfgs)*
        const _: () = {
            #[repr(C)]
            struct KfuncMetaType {
                name_off: u32,
                type_off: u32,
                kind: u8,
                tflags: u8,
                reserved: u16,
                size: u32,
            }
            #[repr(C)]
            struct KfuncMeta {
                magic: u32,
                version: u16,
                size: u16,
                flags: u32,
                arg_flags: [u32; #max_args],
                name_off: u32,
                nr_args: u8,
                reserved: [u8; 3],
                ret: KfuncMetaType,
                args: [KfuncMetaType; #max_args],
                strtab: [u8; #strtab_len],
            }
            const _: () = ::core::assert!(::core::mem::size_of::<KfuncMetaType>() == #type_size);
            const _: () = ::core::assert!(::core::mem::offset_of!(KfuncMeta, ret) == #ret_off);
            const _: () = ::core::assert!(::core::mem::offset_of!(KfuncMeta, args) == #args_off);
            const _: () =
                ::core::assert!(::core::mem::offset_of!(KfuncMeta, strtab) == #header_size);
            const _: () = ::core::assert!(::core::mem::size_of::<KfuncMeta>() == #rec_size_lit);
            #(#checks)*

            #[used]
            #[unsafe(link_section = #section)]
            static KFUNC_META: KfuncMeta = KfuncMeta {
                magic: #magic,
                version: #version,
                size: #rec_size_u16,
                flags: #fconst[0],
                arg_flags: [#fconst[1], #fconst[2], #fconst[3], #fconst[4], #fconst[5]],
                name_off: #name_off,
                nr_args: #nr_args,
                reserved: [0; 3],
                ret: #ret,
                args: [#(#args),*],
                strtab: *#strtab,
            };
            #shim
            #extra
        };
    }
}

/// FNV-1a, for the unique decimal suffix of entry symbols (stable across builds).
fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Expand `kfunc_set!`.
pub(crate) fn kfunc_set(input: &SetInput) -> Result<TokenStream, syn::Error> {
    let vis = &input.vis;
    let cx = Ctxt::new();
    let name = &input.name;
    if input.funcs.is_empty() {
        cx.error_spanned(
            input.bracket.span.join(),
            format!("kfunc set `{name}` is empty: list the kfuncs, `{name} = [bpf_a, bpf_b]`"),
        );
    }
    let mut seen: Vec<String> = Vec::new();
    for p in &input.funcs {
        let last = p.segments.last().expect("a path has a segment");
        if !matches!(last.arguments, syn::PathArguments::None) {
            cx.error_spanned(
                last.arguments.span(),
                "name a #[kfunc] function, without generic arguments",
            );
            continue;
        }
        let n = last.ident.to_string();
        if seen.contains(&n) {
            cx.error_spanned(
                p.span(),
                format!("`{n}` is already in set `{name}`: remove this one"),
            );
        }
        seen.push(n);
    }
    cx.check()?;

    let set_name = name.to_string();
    let label = format!("__kfunc_set_{set_name}");
    let set_sym = format!("__BTF_ID__{}__{set_name}", kl::KFUNC_ARGS_SET_KIND);
    let n = input.funcs.len();
    let size = kl::SET8_HEADER_SIZE + kl::SET8_ARGS_ENTRY_SIZE * n;
    let hash = fnv1a(&set_name);

    let mut asm = String::new();
    asm.push_str(".pushsection .BTF_ids,\"a\"\n.balign 4\n");
    asm.push_str(&format!(".globl {label}\n{label}:\n"));
    asm.push_str(&format!(
        ".local {set_sym}\n.type {set_sym}, STT_OBJECT\n.size {set_sym}, {size}\n{set_sym}:\n"
    ));
    asm.push_str(&format!(
        ".zero 4\n.long {:#x}\n",
        kl::BTF_SET8_ARGS_HEADER_FLAGS
    ));
    let mut operands = Vec::new();
    for (i, p) in input.funcs.iter().enumerate() {
        let f = &p.segments.last().expect("checked").ident;
        let sym = format!("__BTF_ID__func__{f}__{hash}{i:04}");
        asm.push_str(&format!(
            ".local {sym}\n.type {sym}, STT_OBJECT\n.size {sym}, 4\n{sym}:\n.zero 4\n"
        ));
        let mut cpath = p.clone();
        cpath.segments.last_mut().expect("checked").ident = flags_const(f);
        let ops: Vec<Ident> = (0..=kl::MAX_ARGS)
            .map(|w| format_ident!("f{}_{}", i, w))
            .collect();
        asm.push_str(&format!(".long {{{}}}\n", ops[0]));
        asm.push_str(&format!(
            ".long {}\n",
            ops[1..]
                .iter()
                .map(|o| format!("{{{o}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for (w, op) in ops.iter().enumerate() {
            let w = num(w);
            operands.push(quote_spanned!(p.span()=> #op = const #cpath[#w]));
        }
    }
    asm.push_str(".popsection\n");
    let lines: Vec<&str> = asm.lines().collect();
    let label_ident = Ident::new(&label, Span::call_site());
    let nlit = num(n);
    let size_lit = num(size);
    let doc = format!(
        "The kfunc set `{set_name}` ({n} kfunc{}) emitted in `.BTF_ids` by `kfunc_set!`: \
         an extended `btf_id_set8` of {size} bytes. Take its address with \
         [`{set_name}::as_ptr`] or [`{set_name}::as_mut_ptr`].",
        if n == 1 { "" } else { "s" }
    );
    Ok(quote! {
        ::core::arch::global_asm!(
            #(#lines),*,
            #(#operands),*
        );

        #[doc = #doc]
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug)]
        #vis struct #name;

        #[allow(unreachable_pub, dead_code)]
        impl #name {
            /// Number of kfuncs in the set.
            pub const LEN: usize = #nlit;
            /// Size of the set in `.BTF_ids`, in bytes (header and extended entries).
            pub const SIZE: usize = #size_lit;
            /// Address of the set's `btf_id_set8` header in `.BTF_ids`.
            pub fn as_ptr(self) -> *const u8 {
                unsafe extern "C" {
                    #[allow(non_upper_case_globals)]
                    static #label_ident: u8;
                }
                &raw const #label_ident
            }
            /// The set's address as `*mut T`, for `bindings::btf_kfunc_id_set { set, .. }`
            /// (`T` = `bindings::btf_id_set8`). The kernel only reads the set.
            pub fn as_mut_ptr<T>(self) -> *mut T {
                self.as_ptr().cast_mut().cast::<T>()
            }
        }
    })
}
