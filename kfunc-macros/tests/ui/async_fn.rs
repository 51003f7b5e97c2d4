#![allow(unused)]

use core::ffi::{c_char, c_void};
use kfunc_macros::kfunc;

#[repr(C)]
pub struct Obj {
    x: u64,
}

#[repr(C)]
pub struct Other {
    y: u64,
}

#[allow(non_camel_case_types)]
#[repr(C)]
pub struct bpf_iter_num {
    s: u64,
}

mod bindings {
    #[allow(non_camel_case_types)]
    #[repr(C)]
    pub struct task_struct {
        _p: [u8; 0],
    }
}

#[kfunc]
async fn bpf_f(a: *mut Obj) {}

fn main() {}
