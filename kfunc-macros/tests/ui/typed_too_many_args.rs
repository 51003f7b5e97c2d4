#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// A slice is two arguments at the C ABI.
#[kfunc]
fn bpf_f(a: u32, b: u32, c: u32, d: u32, buf: &[u8]) {}

fn main() {}
