#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// `buf` adds `buf_len` at the C ABI.
#[kfunc]
fn bpf_f(buf: &[u8], buf_len: u32) {}

fn main() {}
