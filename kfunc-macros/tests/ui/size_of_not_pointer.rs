#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(size(len, of = n))]
fn bpf_f(n: u32, len: u32) {}

fn main() {}
