#![allow(unused)]

include!("common/prelude.rs");

#[kfunc]
fn bpf_f(a: String, b: Vec<u8>, c: (u32, u32), d: [u8; 4], e: f64, f: u128) -> char { 'x' }

fn main() {}
