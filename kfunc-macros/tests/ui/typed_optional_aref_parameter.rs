#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// A released argument is never NULL.
#[kfunc]
fn bpf_f(a: Option<ARef<Obj>>) {}

fn main() {}
