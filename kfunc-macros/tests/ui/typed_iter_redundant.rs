#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// A reference to `bpf_iter_<type>` is the iterator state.
#[kfunc(iter(it))]
fn bpf_f(it: &mut bpf_iter_num) {}

fn main() {}
