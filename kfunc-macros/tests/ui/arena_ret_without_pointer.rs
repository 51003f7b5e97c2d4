#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(arena_ret)]
fn bpf_f(n: u64) -> u64 {
    n
}

fn main() {}
