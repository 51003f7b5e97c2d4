#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(acquire(a), acquire(b))]
fn bpf_f(a: *mut Obj, b: *mut Obj) -> *mut Obj { a }

fn main() {}
