#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(str(p))]
fn bpf_f(p: *const Obj) {}

fn main() {}
