#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(arena_arg1)]
fn bpf_f(n: u64) {}

#[kfunc(arena_arg2)]
fn bpf_g(p: *mut c_void) {}

fn main() {}
