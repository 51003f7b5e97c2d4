#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(optional(buf), size(len, of = buf))]
fn bpf_f(buf: *const u8, len: u32) {}

fn main() {}
