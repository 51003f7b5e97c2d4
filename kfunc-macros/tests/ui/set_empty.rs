#![allow(unused)]

use kfunc_macros::kfunc_set;

kfunc_set!(EMPTY = []);

fn main() {}
