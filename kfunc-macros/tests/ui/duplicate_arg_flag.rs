#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nullable(p), nullable(arg0))]
fn bpf_f(p: *mut Obj) {}

fn main() {}
