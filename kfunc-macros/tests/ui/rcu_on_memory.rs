#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(rcu(buf), rcu(p))]
fn bpf_f(buf: *mut u64, p: *mut c_void) {}

fn main() {}
