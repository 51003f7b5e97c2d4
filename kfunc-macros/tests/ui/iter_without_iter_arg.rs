#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(iter_new)]
fn bpf_iter_num_new(it: *mut bpf_iter_num) -> i32 { 0 }

fn main() {}
