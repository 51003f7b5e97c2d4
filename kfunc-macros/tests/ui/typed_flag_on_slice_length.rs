#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// The length a slice adds at the C ABI carries its fact already.
#[kfunc(const_size(buf_len, of = buf), constant(arg1))]
fn bpf_f(buf: &[u8]) {}

fn main() {}
