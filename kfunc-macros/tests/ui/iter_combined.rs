#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(iter_new, iter_next, iter(it))]
fn bpf_iter_num_new(it: *mut bpf_iter_num) -> *mut u32 { core::ptr::null_mut() }

fn main() {}
