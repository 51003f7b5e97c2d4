#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(implicit_args)]
fn bpf_none(n: u64) {}

#[kfunc(implicit_args)]
fn bpf_not_last(aux: *mut bindings::bpf_prog_aux, n: u64) {}

#[kfunc(implicit_args, nullable(aux))]
fn bpf_flagged(n: u64, aux: *mut bindings::bpf_prog_aux) {}

fn main() {}
