#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(size(len, of = buf), const_size(len, of = buf))]
fn bpf_f(buf: *mut u8, len: u32) {}

fn main() {}
