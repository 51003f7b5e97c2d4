#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(map(m))]
fn bpf_f(m: *const Obj) {}

#[kfunc(const_map(m))]
fn bpf_g(m: *mut u32) {}

fn main() {}
