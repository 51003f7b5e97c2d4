#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// Slices are of bytes.
#[kfunc]
fn bpf_f(words: &[u32]) {}

fn main() {}
