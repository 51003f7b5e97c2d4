#![allow(unused)]

include!("common/prelude.rs");

// `size()` with nothing, `of` given twice, and `of` without the size argument.
#[kfunc(size())]
fn bpf_f(buf: *mut u8, len: u32) {}

#[kfunc(size(len, of = buf, of = buf))]
fn bpf_g(buf: *mut u8, len: u32) {}

#[kfunc(const_size(of = buf))]
fn bpf_h(buf: *mut u8, len: u32) {}

fn main() {}
