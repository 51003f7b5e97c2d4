#![allow(unused)]

include!("common/prelude.rs");

#[kfunc(nulable(a), ret_null, constant(a), size(n, of = a), sleepable, sleepable, release(arg9))]
async fn bpf_f<T>(a: *mut Obj, b: &'static u32, n: u64) {}

fn main() {}
