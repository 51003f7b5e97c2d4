#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f<T: Copy>(a: *mut T) {}

fn main() {}
