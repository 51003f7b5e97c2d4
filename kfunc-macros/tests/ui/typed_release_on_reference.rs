#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// `&T` cannot be released; `ARef<T>` already is.
#[kfunc(release(a))]
fn bpf_f(a: &Obj) {}

#[kfunc(release(b))]
fn bpf_g(b: ARef<Obj>) {}

fn main() {}
