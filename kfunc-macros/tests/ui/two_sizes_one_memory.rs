#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(size(len, of = buf), const_size(n, of = buf))]
fn bpf_f(buf: *mut u8, len: u32, n: u32) {}

fn main() {}
