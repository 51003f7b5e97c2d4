#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(str(name), map(name))]
fn bpf_f(name: *const c_char) {}

fn main() {}
