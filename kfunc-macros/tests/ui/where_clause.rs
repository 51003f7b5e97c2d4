#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f(a: *mut Obj) where Obj: Sized {}

fn main() {}
