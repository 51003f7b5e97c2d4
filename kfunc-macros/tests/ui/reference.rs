#![allow(unused)]

include!("common/prelude.rs");

/// Reference parameters are typed parameters (`tests/ui/typed_*`); a returned reference
/// is refused.
#[kfunc]
fn bpf_f(a: &mut Obj) -> &mut Obj { a }

#[kfunc]
fn bpf_g(b: &Obj) -> &Obj { b }

fn main() {}
