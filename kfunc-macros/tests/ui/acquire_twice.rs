#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(acquire, acquire(a))]
fn bpf_f(a: *mut Obj) -> *mut Obj { a }

fn main() {}
