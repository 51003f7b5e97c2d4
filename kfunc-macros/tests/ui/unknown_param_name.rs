#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nullable(hnt))]
fn bpf_f(obj: *mut Obj, hint: *mut Obj) {}

fn main() {}
