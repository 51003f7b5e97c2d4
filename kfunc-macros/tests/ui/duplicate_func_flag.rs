#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(sleepable, sleepable)]
fn bpf_f(p: *mut Obj) {}

fn main() {}
