#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// The return type says acquire (and ret_null with `Option`).
#[kfunc(acquire)]
fn bpf_f(a: &Obj) -> ARef<Obj> { loop {} }

#[kfunc(ret_null)]
fn bpf_g(a: &Obj) -> ARef<Obj> { loop {} }

#[kfunc(ret_null)]
fn bpf_h(a: &Obj) -> Option<kernel::sync::aref::ARef<Obj>> { None }

fn main() {}
