#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
struct NotFn;

fn main() {}
