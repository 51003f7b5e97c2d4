#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(iter_new, iter(it))]
fn bpf_numbers_new(it: *mut bpf_iter_num) -> i32 { 0 }

fn main() {}
