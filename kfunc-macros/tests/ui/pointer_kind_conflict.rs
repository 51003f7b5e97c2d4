#![allow(unused)]

include!("common/prelude.rs");

// Both flags may point to void; the verifier reads only the first that applies.
#[kfunc(alloc(p), map(p))]
fn bpf_f(p: *mut c_void) {}

fn main() {}
