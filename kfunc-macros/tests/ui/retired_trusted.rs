#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(trusted(obj, hint), nullable(hint))]
fn bpf_f(obj: *mut Obj, hint: *mut Obj) {}

fn main() {}
