#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nullable())]
fn bpf_f(a: *mut Obj) {}

fn main() {}
