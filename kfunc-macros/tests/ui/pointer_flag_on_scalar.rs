#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nullable(len))]
fn bpf_f(len: u32) {}

#[kfunc(const_map(map), irq_flag(flags), nonown_allowed(node), arena(addr))]
fn bpf_g(map: u64, flags: u64, node: u64, addr: u64) {}

fn main() {}
