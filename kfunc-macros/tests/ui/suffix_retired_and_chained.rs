#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f(buf__opt: *const u8, len: u32, p__arena__nullable: *mut c_void) {}

fn main() {}
