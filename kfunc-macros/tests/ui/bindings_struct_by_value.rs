#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f(a: bindings::task_struct) {}

fn main() {}
