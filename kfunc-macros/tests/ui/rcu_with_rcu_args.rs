#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(rcu_args, rcu(task))]
fn bpf_f(task: *mut bindings::task_struct) {}

fn main() {}
