#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nullable(len))]
fn bpf_f(len: u32) {}

fn main() {}
