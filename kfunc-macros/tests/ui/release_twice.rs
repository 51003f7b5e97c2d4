#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(release(a), release(b))]
fn bpf_f(a: *mut Obj, b: *mut Obj) {}

fn main() {}
