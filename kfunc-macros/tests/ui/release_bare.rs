#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(release)]
fn bpf_f(a: *mut Obj) {}

fn main() {}
