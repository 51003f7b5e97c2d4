#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f<'a>(a: *mut Obj) {}

fn main() {}
