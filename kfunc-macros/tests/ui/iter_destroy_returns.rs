#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(iter_destroy, iter(it))]
fn bpf_iter_num_destroy(it: *mut bpf_iter_num) -> i32 { 0 }

fn main() {}
