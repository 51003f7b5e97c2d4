#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f((a, b): (u32, u32), _: u32) {}

fn main() {}
