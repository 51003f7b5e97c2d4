#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(sleepable(a))]
fn bpf_f(a: *mut Obj) {}

fn main() {}
