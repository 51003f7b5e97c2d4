#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// A reference parameter is borrowed for the call.
#[kfunc]
fn bpf_f(a: &'static Obj) {}

fn main() {}
