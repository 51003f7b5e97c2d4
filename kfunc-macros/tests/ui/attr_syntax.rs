#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nullable(a) sleepable)]
fn bpf_f(a: *mut Obj) {}

fn main() {}
