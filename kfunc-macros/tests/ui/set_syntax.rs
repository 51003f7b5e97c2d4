#![allow(unused)]

use kfunc_macros::kfunc_set;

kfunc_set!(SET [bpf_a]);

fn main() {}
