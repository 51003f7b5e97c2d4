#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(frobnicate)]
fn bpf_f(p: *mut Obj) {}

fn main() {}
