#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

/// `&mut [u8]`: the memory may be a map value other CPUs and userspace use, or overlap
/// another argument's.
#[kfunc]
fn bpf_f(buf: &mut [u8]) {}

#[kfunc]
fn bpf_g(data: &[u8], out: Option<&mut [i8]>) {}

/// Two shared slices, which may overlap: accepted.
#[kfunc]
fn bpf_h(a: &[u8], b: &[i8]) {}

fn main() {}
