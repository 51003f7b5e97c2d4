#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(size(len, of = buf), constant(len))]
fn bpf_f(buf: *mut u8, len: u32) {}

fn main() {}
