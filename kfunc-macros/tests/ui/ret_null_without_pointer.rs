#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(ret_null)]
fn bpf_f(a: *mut Obj) -> u32 { 0 }

fn main() {}
