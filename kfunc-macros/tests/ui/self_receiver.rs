#![allow(unused)]

include!("common/prelude.rs");

struct S;
impl S {
    #[kfunc]
    fn bpf_f(&self) {}
}

fn main() {}
