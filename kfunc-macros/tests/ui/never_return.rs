#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f(a: *mut Obj) -> ! { loop {} }

fn main() {}
