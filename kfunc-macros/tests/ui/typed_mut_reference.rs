#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// `&mut T` of anything but an iterator state: the program may pass one object twice, and
/// other CPUs hold references to it (a scalar pointee may be a map value).
#[kfunc]
fn bpf_f(a: &mut Obj, b: Option<&mut Obj>, c: &mut u64, d: &mut bindings::task_struct) {}

/// `&mut` next to `&` of the same type.
#[kfunc]
fn bpf_g(a: &Obj, b: &mut Obj) {}

/// Only shared references: accepted.
#[kfunc]
fn bpf_h(a: &Obj, b: &Obj, c: Option<&u64>) {}

fn main() {}
