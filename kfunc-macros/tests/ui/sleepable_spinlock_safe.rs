#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(sleepable, spinlock_safe)]
fn bpf_f(p: *mut Obj) {}

fn main() {}
