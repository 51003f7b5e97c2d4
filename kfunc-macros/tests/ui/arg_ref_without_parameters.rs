#![allow(unused)]

include!("common/prelude.rs");

// Naming an argument of a kfunc without parameters, by position and by name.
#[kfunc(nullable(arg0), constant(len))]
fn bpf_f() {}

fn main() {}
