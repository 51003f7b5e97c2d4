#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f(buf: *mut u8, len__sz: u32) {}

fn main() {}
