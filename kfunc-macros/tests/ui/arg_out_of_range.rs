#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nullable(arg2))]
fn bpf_f(p: *mut Obj, q: *mut Obj) {}

fn main() {}
