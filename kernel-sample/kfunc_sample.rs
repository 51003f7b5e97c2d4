// SPDX-License-Identifier: GPL-2.0

//! kfunc_sample: Rust kfuncs with per-argument flags.
//!
//! A table of [`NR_OBJS`] refcounted objects ([`SampleObj`], a `refcount_t` each) that BPF
//! programs acquire, inspect and release through kfuncs declared with `#[kfunc]`. Every
//! fact about an argument is written next to the function (`release(src)`,
//! `nullable(hint)`, `size(len, of = data)`, ...), not spelled as a name suffix. The
//! set is registered for `BPF_PROG_TYPE_SYSCALL` (sleepable, runnable with
//! `BPF_PROG_RUN`) and `BPF_PROG_TYPE_SCHED_CLS` (not sleepable: shows the sleepable
//! check).
//!
//! Loading fails if the registration fails or if the module's BTF has no FUNC for one of
//! the kfuncs: `register_btf_kfunc_id_set` on a module without BTF returns 0 after a
//! warning (a silent failure otherwise). `bpf_sample_live_refs` lets the selftest runner
//! check that every reference a program took is dropped; unloading reports the count.

use core::cell::UnsafeCell;
use core::ffi::c_char;
use kernel::bindings;
use kernel::prelude::*;
use kfunc_macros::{kfunc, kfunc_set};

module! {
    type: KfuncSample,
    name: "kfunc_sample",
    author: "per-argument kfunc flags prototype",
    description: "Rust kfuncs with per-argument flags",
    license: "GPL",
}

/// Objects in the table.
const NR_OBJS: usize = 4;
/// Longest string `bpf_sample_name_len` looks at.
const NAME_MAX: usize = 64;
/// Most bytes `bpf_sample_sum` reads.
const SUM_MAX: u32 = 256;

/// A refcounted object handed to BPF programs.
///
/// The table holds one reference on each object for the module's lifetime; every
/// reference a BPF program acquires is one more.
#[repr(C)]
pub struct SampleObj {
    refs: bindings::refcount_t,
    id: u32,
    value: u64,
}

struct Table(UnsafeCell<[SampleObj; NR_OBJS]>);

// SAFETY: the reference counts are atomic; `id` and `value` are written only in `init`,
// before the kfuncs are registered, and only read afterwards.
unsafe impl Sync for Table {}

static TABLE: Table = Table(UnsafeCell::new(
    [const {
        SampleObj {
            refs: bindings::refcount_t {
                refs: bindings::atomic_t { counter: 0 },
            },
            id: 0,
            value: 0,
        }
    }; NR_OBJS],
));

fn obj_at(i: usize) -> *mut SampleObj {
    // SAFETY: `i < NR_OBJS` at every caller; the table is static.
    unsafe { TABLE.0.get().cast::<SampleObj>().add(i) }
}

/// Current reference count of `obj`.
///
/// # Safety
/// `obj` points into the table.
unsafe fn refs_of(obj: *const SampleObj) -> u32 {
    // SAFETY: the caller passes a table object; the counter is read atomically.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*obj).refs.refs.counter)) as u32 }
}

/// A new reference on object `id`, or NULL if there is no such object.
#[kfunc(acquire, ret_null)]
pub unsafe fn bpf_sample_acquire(id: u32) -> *mut SampleObj {
    if id as usize >= NR_OBJS {
        return core::ptr::null_mut();
    }
    let obj = obj_at(id as usize);
    // SAFETY: `obj` is a table object with a live table reference.
    unsafe { bindings::refcount_inc(core::ptr::addr_of_mut!((*obj).refs)) };
    obj
}

/// Drop a reference taken by `bpf_sample_acquire` or `bpf_sample_get`.
#[kfunc(release(obj))]
pub unsafe fn bpf_sample_release(obj: *mut SampleObj) {
    // SAFETY: the verifier only passes a referenced table object here; the table's own
    // reference keeps the count above zero, so reaching zero is a bug, reported.
    let last = unsafe { bindings::refcount_dec_and_test(core::ptr::addr_of_mut!((*obj).refs)) };
    if last {
        // SAFETY: `obj` is a table object (static storage).
        let id = unsafe { (*obj).id };
        pr_err!("object {} lost its table reference\n", id);
    }
}

/// One more reference on the object `obj` points to (acquired on that argument).
#[kfunc(acquire(obj), ret_null, trusted(obj))]
pub unsafe fn bpf_sample_get(obj: *mut SampleObj) -> *mut SampleObj {
    // SAFETY: `obj` is a trusted table object.
    unsafe { bindings::refcount_inc(core::ptr::addr_of_mut!((*obj).refs)) };
    obj
}

/// `obj`'s reference count, plus 100 times `hint`'s when `hint` is not NULL.
#[kfunc(trusted(obj, hint), nullable(hint))]
pub unsafe fn bpf_sample_refcount(obj: *mut SampleObj, hint: *mut SampleObj) -> u32 {
    // SAFETY: `obj` is trusted; `hint` is NULL or trusted.
    unsafe {
        let h = if hint.is_null() {
            0
        } else {
            100 * refs_of(hint)
        };
        refs_of(obj) + h
    }
}

/// Move a reference: returns `100 * refs(dst) + refs(src)`, then drops the reference on
/// `src` only; `dst` stays the caller's.
#[kfunc(trusted(dst), release(src))]
pub unsafe fn bpf_sample_transfer(dst: *mut SampleObj, src: *mut SampleObj) -> u32 {
    // SAFETY: both are referenced table objects.
    let n = unsafe { 100 * refs_of(dst) + refs_of(src) };
    // SAFETY: `src` is referenced and this kfunc releases it.
    unsafe { bpf_sample_release(src) };
    n
}

/// Sum of the `len` bytes at `data` (at most `SUM_MAX` are read).
#[kfunc(size(len, of = data))]
pub unsafe fn bpf_sample_sum(data: *const u8, len: u32) -> u64 {
    let n = len.min(SUM_MAX) as usize;
    // SAFETY: the verifier checked that `data` has `len` readable bytes.
    let bytes = unsafe { core::slice::from_raw_parts(data, n) };
    bytes.iter().map(|&b| u64::from(b)).sum()
}

/// `obj`'s value times a constant `factor`.
#[kfunc(trusted(obj), constant(factor))]
pub unsafe fn bpf_sample_scale(obj: *mut SampleObj, factor: u32) -> u64 {
    // SAFETY: `obj` is trusted; `value` is not written after init.
    unsafe { (*obj).value * u64::from(factor) }
}

/// Length of the constant string `name` (at most `NAME_MAX`).
#[kfunc(str(name))]
pub unsafe fn bpf_sample_name_len(name: *const c_char) -> u32 {
    let mut n = 0;
    // SAFETY: the verifier checked `name` is a NUL-terminated string in a read-only map.
    while n < NAME_MAX && unsafe { *name.add(n) } != 0 {
        n += 1;
    }
    n as u32
}

/// Sleeps (yields the CPU) and returns `obj`'s id: only for sleepable programs.
#[kfunc(sleepable, trusted(obj))]
pub unsafe fn bpf_sample_sleep(obj: *mut SampleObj) -> u32 {
    // SAFETY: called from process context of a sleepable program.
    unsafe { bindings::__cond_resched() };
    // SAFETY: `obj` is trusted.
    unsafe { (*obj).id }
}

/// References BPF programs hold on table objects, over the whole table.
#[kfunc]
pub unsafe fn bpf_sample_live_refs() -> u64 {
    // SAFETY: table objects.
    (0..NR_OBJS)
        .map(|i| u64::from(unsafe { refs_of(obj_at(i)) }.saturating_sub(1)))
        .sum()
}

kfunc_set!(
    SAMPLE_KFUNCS = [
        bpf_sample_acquire,
        bpf_sample_release,
        bpf_sample_get,
        bpf_sample_refcount,
        bpf_sample_transfer,
        bpf_sample_sum,
        bpf_sample_scale,
        bpf_sample_name_len,
        bpf_sample_sleep,
        bpf_sample_live_refs,
    ]
);

/// Every kfunc of the set: each needs a FUNC in the module's BTF.
const KFUNC_NAMES: &[&str] = &[
    "bpf_sample_acquire",
    "bpf_sample_release",
    "bpf_sample_get",
    "bpf_sample_refcount",
    "bpf_sample_transfer",
    "bpf_sample_sum",
    "bpf_sample_scale",
    "bpf_sample_name_len",
    "bpf_sample_sleep",
    "bpf_sample_live_refs",
];

/// The FUNC name offsets and the string section of raw BTF `data`, or a reason.
///
/// `data` is the module's split BTF: its name offsets count from the start of vmlinux's
/// string section, whose length the module does not know; see [`check_module_btf`].
fn btf_funcs(data: &[u8]) -> core::result::Result<(KVec<usize>, &[u8]), &'static str> {
    const BTF_MAGIC: u16 = 0xeb9f;
    let u32_at = |off: usize| -> core::result::Result<usize, &'static str> {
        data.get(off..off + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or("short BTF header")
    };
    if data.len() < 24 || u16::from_le_bytes([data[0], data[1]]) != BTF_MAGIC {
        return Err("no BTF header");
    }
    let (hdr_len, type_off, type_len) = (u32_at(4)?, u32_at(8)?, u32_at(12)?);
    let (str_off, str_len) = (u32_at(16)?, u32_at(20)?);
    let types = data
        .get(hdr_len + type_off..hdr_len + type_off + type_len)
        .ok_or("type section out of bounds")?;
    let strs = data
        .get(hdr_len + str_off..hdr_len + str_off + str_len)
        .ok_or("string section out of bounds")?;
    let mut funcs = KVec::new();
    let mut off = 0;
    while off + 12 <= types.len() {
        let rd = |o: usize| {
            u32::from_le_bytes([types[o], types[o + 1], types[o + 2], types[o + 3]]) as usize
        };
        let info = rd(off + 4);
        let kind = (info >> 24) & 0x1f;
        let vlen = info & 0xffff;
        // Bytes after the 12-byte `struct btf_type`, per kind (include/uapi/linux/btf.h).
        let extra = match kind {
            1 => 4,                       // INT
            2 | 7..=12 | 16 | 18 => 0, // PTR FWD TYPEDEF VOLATILE CONST RESTRICT FUNC FLOAT TYPE_TAG
            3 => 12,                   // ARRAY
            4 | 5 | 15 | 19 => 12 * vlen, // STRUCT UNION DATASEC ENUM64
            6 | 13 => 8 * vlen,        // ENUM FUNC_PROTO
            14 | 17 => 4,              // VAR DECL_TAG
            _ => return Err("unknown BTF kind"),
        };
        if kind == 12 {
            funcs
                .push(rd(off), GFP_KERNEL)
                .map_err(|_| "out of memory")?;
        }
        off += 12 + extra;
    }
    Ok((funcs, strs))
}

/// Offset of the NUL-terminated string `name` in the string section `strs`.
fn str_offset(strs: &[u8], name: &str) -> Option<usize> {
    let n = name.as_bytes();
    (1..strs.len()).find(|&i| {
        strs[i - 1] == 0 && strs.get(i..i + n.len()) == Some(n) && strs.get(i + n.len()) == Some(&0)
    })
}

fn check_module_btf(module: &'static ThisModule) -> Result {
    // SAFETY: during init the module's BTF data is still attached (do_init_module clears
    // the pointer only after init returns).
    let (ptr, len) = unsafe {
        let m = module.as_ptr();
        ((*m).btf_data as *const u8, (*m).btf_data_size as usize)
    };
    if ptr.is_null() || len == 0 {
        pr_err!("the module has no BTF: kfuncs would be silently unusable\n");
        return Err(EINVAL);
    }
    // SAFETY: `btf_data` holds `btf_data_size` bytes while init runs.
    let data = unsafe { core::slice::from_raw_parts(ptr, len) };
    let (funcs, strs) = btf_funcs(data).map_err(|why| {
        pr_err!("cannot read the module's BTF: {}\n", why);
        EINVAL
    })?;
    let mut local = KVec::new();
    for name in KFUNC_NAMES {
        match str_offset(strs, name) {
            Some(off) => local.push(off, GFP_KERNEL)?,
            None => {
                pr_err!("no BTF FUNC for kfunc {} (name not in BTF)\n", name);
                return Err(EINVAL);
            }
        }
    }
    // Split BTF names count from vmlinux's string section: find the one base length
    // under which every kfunc name is the name of a FUNC.
    let found = funcs.iter().filter(|&&f| f >= local[0]).any(|&f| {
        let base = f - local[0];
        local.iter().all(|l| funcs.contains(&(base + l)))
    });
    if !found {
        pr_err!(
            "the module's BTF lacks a FUNC for some kfunc ({} FUNCs)\n",
            funcs.len()
        );
        return Err(EINVAL);
    }
    pr_info!(
        "module BTF has {} FUNCs, all {} kfuncs present\n",
        funcs.len(),
        KFUNC_NAMES.len()
    );
    Ok(())
}

/// The registration record; the kernel reads it during registration only, the module
/// keeps it (boxed, in place) until unload anyway.
struct IdSet(bindings::btf_kfunc_id_set);

// SAFETY: the pointers inside (the module and the static set in `.BTF_ids`) are valid for
// the module's lifetime and never written through by the module.
unsafe impl Send for IdSet {}
// SAFETY: as above; the record is immutable after init.
unsafe impl Sync for IdSet {}

struct KfuncSample {
    _id_set: KBox<IdSet>,
}

impl kernel::Module for KfuncSample {
    fn init(module: &'static ThisModule) -> Result<Self> {
        for i in 0..NR_OBJS {
            let o = obj_at(i);
            // SAFETY: nothing else uses the table before registration.
            unsafe {
                (*o).refs = bindings::REFCOUNT_INIT(1);
                (*o).id = i as u32;
                (*o).value = 10 * (i as u64 + 1);
            }
        }
        check_module_btf(module)?;
        let id_set = KBox::new(
            IdSet(bindings::btf_kfunc_id_set {
                owner: module.as_ptr(),
                set: SAMPLE_KFUNCS.as_mut_ptr::<bindings::btf_id_set8>(),
                filter: None,
            }),
            GFP_KERNEL,
        )?;
        for (ty, name) in [
            (bindings::bpf_prog_type_BPF_PROG_TYPE_SYSCALL, "SYSCALL"),
            (bindings::bpf_prog_type_BPF_PROG_TYPE_SCHED_CLS, "SCHED_CLS"),
        ] {
            // SAFETY: `id_set` and the set it points to outlive the registration (the
            // kernel drops it with the module's BTF on unload).
            let ret = unsafe { bindings::register_btf_kfunc_id_set(ty, &id_set.0) };
            if ret != 0 {
                pr_err!("register_btf_kfunc_id_set({}): {}\n", name, ret);
                return Err(Error::from_errno(ret));
            }
        }
        pr_info!(
            "registered {} kfuncs for SYSCALL and SCHED_CLS\n",
            KFUNC_NAMES.len()
        );
        Ok(KfuncSample { _id_set: id_set })
    }
}

impl Drop for KfuncSample {
    fn drop(&mut self) {
        // SAFETY: table objects; no program can run any more (they hold module refs).
        let live = unsafe { bpf_sample_live_refs() };
        if live != 0 {
            pr_err!("unloading with {} live references\n", live);
        } else {
            pr_info!("unloaded, 0 live references\n");
        }
    }
}
