// Items every compile-fail case below tests/ui/ shares: included with
// include!("common/prelude.rs") so that each case shows only its kfunc.

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
    #[allow(non_camel_case_types)]
    #[repr(C)]
    pub struct bpf_prog_aux {
        _p: [u8; 0],
    }
    #[allow(non_camel_case_types)]
    #[repr(C)]
    pub struct bpf_list_node {
        _p: [u8; 16],
    }
}
