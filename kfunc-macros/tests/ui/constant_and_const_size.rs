#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(const_size(len, of = buf), constant(len))]
fn bpf_f(buf: *mut u8, len: u32) {}

fn main() {}
