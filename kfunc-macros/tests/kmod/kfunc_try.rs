// SPDX-License-Identifier: GPL-2.0

//! Trial: `#[kfunc]` + `kfunc_set!` in a real out-of-tree 7.3 module build.

use core::ffi::c_char;
use kernel::bindings;
use kernel::prelude::*;
use kfunc_macros::{kfunc, kfunc_set};

module! {
    type: KfuncTry,
    name: "kfunc_try",
    authors: ["kfunc-args"],
    description: "kfunc macro trial",
    license: "GPL",
}

/// The module's object.
#[repr(C)]
pub struct TryObj {
    refs: u64,
}

/// Returns `obj`.
#[kfunc(acquire(obj), ret_null, nullable(hint))]
unsafe fn bpf_try_get(obj: *mut TryObj, hint: *const bindings::task_struct) -> *mut TryObj {
    let _ = hint;
    obj
}

/// Drops `obj`.
#[kfunc(release(obj))]
unsafe fn bpf_try_put(obj: *mut TryObj) {
    let _ = obj;
}

/// Length of a string.
#[kfunc(size(len, of = buf), str(name))]
fn bpf_try_len(buf: *const u8, len: u32, name: *const c_char, pid: bindings::pid_t) -> u64 {
    let _ = (buf, name, pid);
    u64::from(len)
}

kfunc_set!(TRY_KFUNCS = [bpf_try_get, bpf_try_put, bpf_try_len]);

struct KfuncTry;

impl kernel::Module for KfuncTry {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let set = bindings::btf_kfunc_id_set {
            owner: module.as_ptr(),
            set: TRY_KFUNCS.as_mut_ptr::<bindings::btf_id_set8>(),
            filter: None,
        };
        // SAFETY: `set` is valid for the call; the kernel copies what it keeps.
        let ret = unsafe {
            bindings::register_btf_kfunc_id_set(bindings::bpf_prog_type_BPF_PROG_TYPE_SYSCALL, &set)
        };
        pr_info!("kfunc_try: register returned {}\n", ret);
        Ok(KfuncTry)
    }
}
