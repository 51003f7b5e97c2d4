#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nullable(buf, of = buf))]
fn bpf_f(buf: *mut u8, len: u32) {}

fn main() {}
