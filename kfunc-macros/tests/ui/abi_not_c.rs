#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
extern "system" fn bpf_f(a: *mut Obj) {}

fn main() {}
