#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(arena(p), rcu(p))]
fn bpf_f(p: *mut Obj) {}

fn main() {}
