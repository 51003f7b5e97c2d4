#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(acquire(a))]
fn bpf_f(a: *mut Other) -> *mut Obj { a.cast() }

fn main() {}
