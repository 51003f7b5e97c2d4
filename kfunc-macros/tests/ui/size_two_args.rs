#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(size(len, len2, of = buf))]
fn bpf_f(buf: *mut u8, len: u32, len2: u32) {}

fn main() {}
