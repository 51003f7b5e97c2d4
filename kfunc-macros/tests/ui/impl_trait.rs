#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f(a: impl Copy) {}

fn main() {}
