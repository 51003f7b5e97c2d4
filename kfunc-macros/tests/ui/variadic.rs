#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
unsafe extern "C" fn bpf_f(a: *mut Obj, ...) {}

fn main() {}
