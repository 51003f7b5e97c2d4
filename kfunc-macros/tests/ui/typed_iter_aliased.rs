#![allow(unused)]

include!("common/prelude.rs");
include!("common/aref.rs");

#[allow(non_camel_case_types)]
#[repr(C)]
pub struct bpf_iter_other {
    s: u64,
}

/// Two iterator states of one type may be the same stack slot: not with a `&mut`.
#[kfunc]
fn bpf_f(a: &mut bpf_iter_num, b: &bpf_iter_num) {}

#[kfunc]
fn bpf_g(a: &bpf_iter_num, b: &bpf_iter_num, c: &mut bpf_iter_num) {}

/// Both shared, or of two types (the slots record their type): accepted.
#[kfunc]
fn bpf_h(a: &bpf_iter_num, b: &bpf_iter_num) {}

#[kfunc]
fn bpf_i(a: &mut bpf_iter_num, b: &mut bpf_iter_other) {}

fn main() {}
