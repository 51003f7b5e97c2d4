#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f(a: c_void, b: *mut ()) {}

fn main() {}
