#![allow(unused)]

use kfunc_macros::{kfunc, kfunc_set};

/// A kfunc.
#[kfunc(sleepable)]
fn bpf_a() {}

/// Not a kfunc.
pub fn plain() {}

kfunc_set!(SET = [bpf_a, bpf_a, plain]);

fn main() {}
