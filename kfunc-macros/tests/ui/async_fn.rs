#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
async fn bpf_f(a: *mut Obj) {}

fn main() {}
