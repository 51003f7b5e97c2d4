#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// The constructor gets an uninitialised state: no reference.
#[kfunc(iter_new)]
fn bpf_iter_num_new(it: &mut bpf_iter_num) -> i32 { 0 }

fn main() {}
