#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
#[no_mangle]
fn bpf_f(a: *mut Obj) {}

fn main() {}
