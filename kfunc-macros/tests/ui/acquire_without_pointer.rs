#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(acquire)]
fn bpf_f(a: *mut Obj) {}

fn main() {}
