#![allow(unused)]

use kfunc_macros::{kfunc, kfunc_set};

/// A kfunc.
#[kfunc(sleepable)]
fn bpf_a() {}

/// Not a kfunc: the set cannot find its flags.
pub fn plain() {}

kfunc_set!(SET = [bpf_a, plain]);

fn main() {}
