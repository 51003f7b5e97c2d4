#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// `&T` is never NULL; `Option<&T>` already is nullable; a released `ARef` is never NULL.
#[kfunc(nullable(a, b, c, d))]
fn bpf_f(a: &Obj, b: Option<&Obj>, c: ARef<Obj>, d: &[u8]) {}

fn main() {}
