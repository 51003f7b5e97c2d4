#![allow(unused)]

use kfunc_macros::{kfunc, kfunc_set};

/// A kfunc.
#[kfunc(sleepable)]
fn bpf_a() {}

kfunc_set!(SET = [bpf_a::<u32>]);

fn main() {}
