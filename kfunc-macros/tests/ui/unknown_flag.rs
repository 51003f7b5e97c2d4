#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nulable(p))]
fn bpf_f(p: *mut Obj) {}

fn main() {}
