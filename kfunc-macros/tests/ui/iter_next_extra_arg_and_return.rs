#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(iter_next, iter(it))]
fn bpf_iter_num_next(it: *mut bpf_iter_num, x: u32) -> u32 { x }

fn main() {}
