#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(size(len, of = buf))]
fn bpf_f(buf: *mut u8, other: *mut Obj, len: u32) {}

fn main() {}
