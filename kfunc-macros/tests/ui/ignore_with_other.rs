#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nullable(a), ignore(a))]
fn bpf_f(a: *mut Obj) {}

fn main() {}
