#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(trusted(a), rcu(a))]
fn bpf_f(a: *mut Obj) {}

fn main() {}
