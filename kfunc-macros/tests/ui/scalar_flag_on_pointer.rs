#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(constant(p))]
fn bpf_f(p: *mut Obj) {}

fn main() {}
