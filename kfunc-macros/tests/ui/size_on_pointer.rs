#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(size(buf, of = arg0))]
fn bpf_f(buf: *mut u8, len: u32) {}

fn main() {}
