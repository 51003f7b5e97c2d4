#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(constant(k), const_size(len, of = buf))]
fn bpf_f(k: u64, buf: *mut u8, len: u32) {}

fn main() {}
