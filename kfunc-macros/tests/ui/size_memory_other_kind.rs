#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(str(name), size(len, of = name))]
fn bpf_f(name: *const c_char, len: u32) {}

fn main() {}
