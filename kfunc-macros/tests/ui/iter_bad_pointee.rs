#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(iter(it))]
fn bpf_f(it: *mut Obj) {}

fn main() {}
