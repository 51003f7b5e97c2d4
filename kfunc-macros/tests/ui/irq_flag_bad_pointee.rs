#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(irq_flag(flags))]
fn bpf_f(flags: *mut u32) {}

fn main() {}
