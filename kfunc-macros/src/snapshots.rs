//! Snapshots of pretty-printed expansions (`cargo insta review` after a change; every
//! accepted snapshot was read against DESIGN.md).

use quote::quote;

fn pretty(t: proc_macro2::TokenStream) -> String {
    prettyplease::unparse(&syn::parse2::<syn::File>(t).expect("expansion parses as a file"))
}

#[test]
fn sample_get_kernel() {
    let out = crate::entry::kfunc(
        quote!(acquire(arg0), ret_null, nullable(hint), sleepable),
        quote! {
            /// Gets a reference.
            fn bpf_sample_get(obj: *mut SampleObj, hint: *const bindings::task_struct) -> *mut SampleObj {
                obj
            }
        },
        crate::expand::nothing,
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn unsafe_release_and_size_pair_kernel() {
    let out = crate::entry::kfunc(
        quote!(
            release(obj),
            size(len, of = buf),
            nullable(buf),
            constant(k)
        ),
        quote! {
            pub unsafe fn bpf_sample_put(obj: *mut SampleObj, buf: *mut core::ffi::c_void, len: usize, k: core::ffi::c_int) -> i32 {
                0
            }
        },
        crate::expand::nothing,
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn host_mode_registers_in_linkme() {
    let out = crate::entry::kfunc(
        quote!(str(name)),
        quote! {
            fn bpf_sample_lookup(name: *const core::ffi::c_char, pid: bindings::pid_t) -> bool {
                true
            }
        },
        crate::host::registration,
    );
    insta::assert_snapshot!(pretty(out));
}

/// Every typed form but the iterator state: the user's function stays a Rust function, the
/// shim is the C symbol.
#[test]
fn typed_kernel() {
    let out = crate::entry::kfunc(
        quote!(acquire(obj), sleepable),
        quote! {
            /// Gets a reference on `obj` unless `buf` is empty; drops `old`.
            pub fn bpf_sample_typed(
                obj: &SampleObj,
                hint: Option<&SampleObj>,
                buf: &[u8],
                old: kernel::sync::aref::ARef<SampleObj>,
            ) -> Option<ARef<SampleObj>> {
                None
            }
        },
        crate::expand::nothing,
    );
    insta::assert_snapshot!(pretty(out));
}

/// An `unsafe fn` with a raw parameter next to a typed one, an optional slice, an iterator
/// state by `&mut` and a returned `ARef`; the host build registers the shim.
#[test]
fn typed_unsafe_host() {
    let out = crate::entry::kfunc(
        quote!(rcu(task)),
        quote! {
            unsafe fn bpf_sample_typed_raw(
                task: *mut bindings::task_struct,
                data: Option<&[i8]>,
                it: &mut bpf_iter_sample,
            ) -> ARef<SampleObj> {
                todo!()
            }
        },
        crate::host::registration,
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn set_of_two() {
    let out = crate::entry::kfunc_set(quote!(
        SAMPLE_KFUNCS = [bpf_sample_get, ops::bpf_sample_put]
    ));
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn cfg_follows_the_function() {
    let out = crate::entry::kfunc(
        quote!(),
        quote! {
            #[cfg(feature = "extra")]
            /// Only with `extra`.
            pub fn bpf_sample_extra(x: u8) {}
        },
        crate::expand::nothing,
    );
    let text = pretty(out);
    // Three items (function, flags, record), each under the same cfg.
    assert_eq!(
        text.matches("#[cfg(feature = \"extra\")]").count(),
        3,
        "{text}"
    );
}
