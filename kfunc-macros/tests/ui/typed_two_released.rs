#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// Two `ARef`s, or an `ARef` and `release(raw)`: one reference is released per call.
#[kfunc]
fn bpf_f(a: ARef<Obj>, b: ARef<Obj>) {}

#[kfunc(release(c))]
fn bpf_g(b: ARef<Obj>, c: *mut Obj) {}

fn main() {}
