#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) {}

fn main() {}
