#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(acquire, trusted_args)]
fn bpf_f(obj: *mut Obj) -> *mut Obj {
    obj
}

fn main() {}
