#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nonown_allowed(node))]
fn bpf_f(node: *mut Obj) {}

fn main() {}
