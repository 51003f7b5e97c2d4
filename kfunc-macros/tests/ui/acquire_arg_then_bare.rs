#![allow(unused)]

include!("common/prelude.rs");

// `acquire(a)` already sets `KF_ACQUIRE`: a bare `acquire` after it is a duplicate.
#[kfunc(acquire(a), acquire)]
fn bpf_f(a: *mut Obj) -> *mut Obj { a }

fn main() {}
