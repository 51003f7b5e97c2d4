#![allow(unused)]

include!("common/prelude.rs");

// Every attribute #[kfunc] writes itself (`#[no_mangle]` has its own case).
#[kfunc]
#[export_name = "bpf_other"]
#[inline]
#[link_section = ".text.bpf"]
#[unsafe(no_mangle)]
fn bpf_f() {}

fn main() {}
