#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(rcu(a), release(a))]
fn bpf_f(a: *mut Obj) {}

fn main() {}
