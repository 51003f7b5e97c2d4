// SPDX-License-Identifier: GPL-2.0

//! The host build's addition to a `#[kfunc]` expansion: an entry in the `kfunc` crate's
//! linkme distributed slice `kfunc::KFUNCS`, so userspace tests can enumerate the kfuncs of
//! a binary. Not part of the in-tree copy (`rust/macros/kfunc/`), which has only the
//! kernel build.

use crate::expand::{c_output, c_param_ty, flags_const, shim_ident};
use crate::validate::Kfunc;
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::ItemFn;

/// The `kfunc::KFUNCS` entry of `k` (an [`crate::expand::Extra`]).
pub(crate) fn registration(k: &Kfunc, item: &ItemFn) -> TokenStream {
    let name = &k.name;
    let name_str = name.to_string();
    let fconst = flags_const(name);
    let sig = &item.sig;
    // The C symbol: the function itself, or the shim of a typed kfunc.
    let (sym, fn_ty) = if k.is_typed() {
        let tys = k.params.iter().map(c_param_ty);
        let output = c_output(k, item);
        (
            shim_ident(name),
            quote!(unsafe extern "C" fn(#(#tys),*) #output),
        )
    } else {
        let unsafety = &sig.unsafety;
        let output = &sig.output;
        let tys = sig.inputs.iter().map(|a| match a {
            syn::FnArg::Typed(pt) => pt.ty.to_token_stream(),
            syn::FnArg::Receiver(r) => r.ty.to_token_stream(),
        });
        (
            name.clone(),
            quote!(#unsafety extern "C" fn(#(#tys),*) #output),
        )
    };
    quote! {
        #[::kfunc::__private::linkme::distributed_slice(::kfunc::KFUNCS)]
        #[linkme(crate = ::kfunc::__private::linkme)]
        static KFUNC_INFO: ::kfunc::KfuncInfo = ::kfunc::KfuncInfo {
            name: #name_str,
            flags: #fconst,
            // SAFETY: `KfuncMeta` is `repr(C)` with no padding (checked above).
            record: unsafe { ::kfunc::__private::record_bytes(&KFUNC_META) },
            addr: ::kfunc::__private::FnAddr(#sym as #fn_ty as *const ()),
        };
    }
}
