#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// Flags that need a raw pointer: the shim makes a reference of what the verifier checked.
#[kfunc(ignore(a), uninit(b), arena(c), str(d))]
fn bpf_f(a: &Obj, b: &Obj, c: Option<&Obj>, d: &u8) {}

fn main() {}
