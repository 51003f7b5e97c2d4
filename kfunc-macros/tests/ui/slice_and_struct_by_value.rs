#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f(a: *const [u8], b: Obj, c: *mut *mut Obj) -> f32 { 0.0 }

fn main() {}
