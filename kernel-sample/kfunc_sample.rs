// SPDX-License-Identifier: GPL-2.0

//! kfunc_sample: Rust kfuncs with per-argument flags.
//!
//! A table of [`NR_OBJS`] refcounted objects ([`SampleObj`], a `refcount_t` each) that BPF
//! programs acquire, inspect and release through kfuncs declared with `#[kfunc]`. Every
//! fact about an argument is written next to the function (`release(src)`,
//! `nullable(hint)`, `size(len, of = data)`, ...), not spelled as a name suffix; pointer
//! arguments without a flag are trusted, the default since Linux 7.0. The
//! set is registered for `BPF_PROG_TYPE_SYSCALL` (sleepable, runnable with
//! `BPF_PROG_RUN`) and `BPF_PROG_TYPE_SCHED_CLS` (not sleepable: shows the sleepable
//! check).
//!
//! Most kfuncs take raw pointers and state their facts as flags. A few take Rust types
//! instead and get the same facts from them (`#[kfunc]` writes the C-ABI shim):
//! [`bpf_sample_peek`] (`&SampleObj`, `Option<&SampleObj>`: trusted, nullable),
//! [`bpf_sample_take`] (returns `Option<ARef<SampleObj>>`: acquire, ret_null),
//! [`bpf_sample_put`] (takes `ARef<SampleObj>`: release) and [`bpf_sample_sum_bytes`]
//! (`&[u8]`: a (memory, size) pair), the typed twins of `bpf_sample_refcount`,
//! `bpf_sample_acquire`, `bpf_sample_release` and `bpf_sample_sum`.
//!
//! Loading fails if the registration fails or if the module has no BTF (checked without
//! reading it, see `check_module_btf`): `register_btf_kfunc_id_set` on such a module returns 0 after a
//! warning (a silent failure otherwise). `bpf_sample_live_refs` lets the selftest runner
//! check that every reference a program took is dropped; unloading reports the count.

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_void};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::aref::{ARef, AlwaysRefCounted};
use kernel::types::Opaque;
use kfunc_macros::{kfunc, kfunc_set};

module! {
    type: KfuncSample,
    name: "kfunc_sample",
    authors: ["per-argument kfunc flags prototype"],
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
    /// Written by other CPUs while a `&SampleObj` exists (the typed kfuncs): `Opaque`.
    refs: Opaque<bindings::refcount_t>,
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
            refs: Opaque::new(bindings::refcount_t {
                refs: bindings::atomic_t { counter: 0 },
            }),
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
    unsafe {
        core::ptr::read_volatile(core::ptr::addr_of!((*(*obj).refs.get()).refs.counter)) as u32
    }
}

impl SampleObj {
    /// Current reference count.
    fn refs(&self) -> u32 {
        // SAFETY: `self` is a table object (the only `SampleObj`s there are).
        unsafe { refs_of(self) }
    }
}

// SAFETY: every `SampleObj` is a table object in static storage, and the table holds one
// reference on each for the module's lifetime, so no count reaches zero and nothing is freed.
unsafe impl AlwaysRefCounted for SampleObj {
    fn inc_ref(&self) {
        // SAFETY: `refs` is an initialised `refcount_t`, changed only atomically.
        unsafe { bindings::refcount_inc(self.refs.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up a reference it holds on a table object.
        unsafe { bpf_sample_release(obj.as_ptr()) };
    }
}

/// A new reference on object `id`, or NULL if there is no such object.
#[kfunc(acquire, ret_null)]
pub unsafe fn bpf_sample_acquire(id: u32) -> *mut SampleObj {
    if id as usize >= NR_OBJS {
        return core::ptr::null_mut();
    }
    let obj = obj_at(id as usize);
    // SAFETY: `obj` is a table object with a live table reference.
    unsafe { bindings::refcount_inc((*obj).refs.get()) };
    obj
}

/// Drop a reference taken by `bpf_sample_acquire` or `bpf_sample_get`.
#[kfunc(release(obj))]
pub unsafe fn bpf_sample_release(obj: *mut SampleObj) {
    // SAFETY: the verifier only passes a referenced table object here; the table's own
    // reference keeps the count above zero, so reaching zero is a bug, reported.
    let last = unsafe { bindings::refcount_dec_and_test((*obj).refs.get()) };
    if last {
        // SAFETY: `obj` is a table object (static storage).
        let id = unsafe { (*obj).id };
        pr_err!("object {} lost its table reference\n", id);
    }
}

/// One more reference on the object `obj` points to (acquired on that argument; `obj` is
/// trusted, the default).
#[kfunc(acquire(obj), ret_null)]
pub unsafe fn bpf_sample_get(obj: *mut SampleObj) -> *mut SampleObj {
    // SAFETY: `obj` is a trusted table object.
    unsafe { bindings::refcount_inc((*obj).refs.get()) };
    obj
}

/// `obj`'s reference count, plus 100 times `hint`'s when `hint` is not NULL.
///
/// Both are trusted, the default since Linux 7.0 (this kfunc showed `trusted(obj, hint)` on
/// 6.12); `hint` may also be NULL.
#[kfunc(nullable(hint))]
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
/// `src` only; `dst` (trusted, the default) stays the caller's.
#[kfunc(release(src))]
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
#[kfunc(constant(factor))]
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
#[kfunc(sleepable)]
pub unsafe fn bpf_sample_sleep(obj: *mut SampleObj) -> u32 {
    // A real sleep (7.3's tinyconfig exports no `__cond_resched`): `might_sleep()` checks
    // the context, `msleep(1)` sleeps for one jiffy at least.
    kernel::task::might_sleep();
    // SAFETY: called from process context of a sleepable program.
    unsafe { bindings::msleep(1) };
    // SAFETY: `obj` is trusted.
    unsafe { (*obj).id }
}

/// Sum of the `len` bytes at `data` (at most `SUM_MAX`), 0 when `data` is NULL: a
/// nullable memory argument of a (memory, size) pair (6.12's `__opt`, 7.3's `__nullable`).
#[kfunc(nullable(data), size(len, of = data))]
pub unsafe fn bpf_sample_sum_opt(data: *const u8, len: u32) -> u64 {
    if data.is_null() {
        return 0;
    }
    let n = len.min(SUM_MAX) as usize;
    // SAFETY: `data` is not NULL, and the verifier checked it has `len` readable bytes.
    let bytes = unsafe { core::slice::from_raw_parts(data, n) };
    bytes.iter().map(|&b| u64::from(b)).sum()
}

/// Fills the `len` bytes at `buf` with 1, 2, 3, ... (at most `SUM_MAX`); returns `len`.
#[kfunc(const_size(len, of = buf))]
pub unsafe fn bpf_sample_fill(buf: *mut u8, len: u32) -> u32 {
    let n = len.min(SUM_MAX) as usize;
    // SAFETY: the verifier checked that `buf` has `len` writable bytes, `len` a constant.
    let bytes = unsafe { core::slice::from_raw_parts_mut(buf, n) };
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i + 1) as u8;
    }
    len
}

/// `obj`'s value plus the low 8 bits of an opaque `cookie`, which is never dereferenced
/// (so the verifier need not check it); `obj` is trusted, the default.
#[kfunc(ignore(cookie))]
pub unsafe fn bpf_sample_cookie(obj: *mut SampleObj, cookie: *const c_void) -> u64 {
    // SAFETY: `obj` is trusted; `value` is not written after init.
    unsafe { (*obj).value + (cookie as usize as u64 & 0xff) }
}

/// `max_entries` of the BPF map `map`.
#[kfunc(map(map))]
pub unsafe fn bpf_sample_map_size(map: *mut c_void) -> u32 {
    // SAFETY: the verifier checked that `map` is a `struct bpf_map` pointer.
    unsafe { (*map.cast::<bindings::bpf_map>()).max_entries }
}

/// The pid of `task`, a trusted or RCU-protected task.
///
/// Read through the kernel's `__task_pid_nr_ns`, not as `(*task).pid`: the bindgen layout of
/// `task_struct` is wrong in this configuration (7.3.4: `pid` at 1064 in Rust, 1112 in the
/// kernel's BTF; bindgen drops the 64-byte alignment of the empty `struct sched_statistics`
/// when `CONFIG_SCHEDSTATS` is off). See README.md.
#[kfunc(rcu(task))]
pub unsafe fn bpf_sample_task_pid(task: *mut bindings::task_struct) -> i32 {
    // SAFETY: `task` is trusted or RCU-protected: valid for the duration of the call; a
    // NULL namespace means the caller's.
    unsafe {
        bindings::__task_pid_nr_ns(task, bindings::pid_type_PIDTYPE_PID, core::ptr::null_mut())
    }
}

/// State of the open-coded iterator over the table (`bpf_iter_sample_{new,next,destroy}`),
/// on the BPF program's stack: 8 bytes, 8-aligned, as the verifier requires.
#[repr(C, align(8))]
#[allow(non_camel_case_types)]
pub struct bpf_iter_sample {
    pos: u32,
    end: u32,
}

/// Starts an iteration over the table's objects from object `start`; `-EINVAL` (and an
/// empty iteration) if `start` is past the table.
#[kfunc(iter_new, iter(it))]
pub unsafe fn bpf_iter_sample_new(it: *mut bpf_iter_sample, start: u32) -> c_int {
    let (pos, ret) = if start as usize > NR_OBJS {
        (NR_OBJS as u32, EINVAL.to_errno())
    } else {
        (start, 0)
    };
    // SAFETY: the verifier passes an iterator state of the right size on the stack.
    unsafe {
        (*it).pos = pos;
        (*it).end = NR_OBJS as u32;
    }
    ret
}

/// The next object's value (read-only), or NULL at the end.
#[kfunc(iter_next, ret_null, iter(it))]
pub unsafe fn bpf_iter_sample_next(it: *mut bpf_iter_sample) -> *const u64 {
    // SAFETY: `it` is an initialised iterator state (checked by the verifier).
    unsafe {
        if (*it).pos >= (*it).end || (*it).end as usize > NR_OBJS {
            return core::ptr::null();
        }
        let obj = obj_at((*it).pos as usize);
        (*it).pos += 1;
        core::ptr::addr_of!((*obj).value)
    }
}

/// Ends an iteration (nothing to free: the state lives on the program's stack).
#[kfunc(iter_destroy, iter(it))]
pub unsafe fn bpf_iter_sample_destroy(it: *mut bpf_iter_sample) {
    // SAFETY: `it` is an initialised iterator state; mark it ended.
    unsafe { (*it).pos = (*it).end };
}

/// Position of an iteration: the index of the next object it returns. A plain kfunc that
/// takes an iterator (`iter(it)`), not one of its methods.
#[kfunc(iter(it))]
pub unsafe fn bpf_sample_iter_pos(it: *mut bpf_iter_sample) -> u32 {
    // SAFETY: `it` is an initialised iterator state (checked by the verifier).
    unsafe { (*it).pos }
}

/// Makes `d` a null dynptr (all bytes zero, as `bpf_dynptr_set_null`): `d` must be an
/// uninitialised dynptr on the program's stack, which this kfunc initialises.
///
/// 7.3 (as 6.12) accepts an uninitialised dynptr argument only for its own constructors
/// (`bpf_dynptr_from_skb`/`_xdp`/`_skb_meta`/`_file`/`_clone`, which give it a type): for
/// this kfunc the verifier refuses every call (selftests/README.md, "uninit").
#[kfunc(uninit(d))]
pub unsafe fn bpf_sample_dynptr_null(d: *mut bindings::bpf_dynptr) -> c_int {
    // SAFETY: `d` points to a `struct bpf_dynptr` on the program's stack.
    unsafe { core::ptr::write_bytes(d, 0, 1) };
    0
}

/// The first 8 bytes of a program's refcounted local object (from `bpf_obj_new`, with a
/// `struct bpf_refcount` field); by this kfunc's contract the object starts with a `u64`.
#[kfunc(refcounted_kptr(obj))]
pub unsafe fn bpf_sample_local_value(obj: *const c_void) -> u64 {
    // SAFETY: the verifier checked `obj` is a local object with a `bpf_refcount` field
    // (so at least 8 bytes with the leading `u64` of the contract).
    unsafe { core::ptr::read(obj.cast::<u64>()) }
}

/// As `bpf_sample_local_value` for any object from `bpf_obj_new` (`alloc(obj)`).
///
/// 7.3 (as 6.12) reserves allocated-object arguments to `bpf_obj_drop` and
/// `bpf_percpu_obj_drop`: the verifier refuses every call (selftests/README.md, "alloc").
#[kfunc(alloc(obj))]
pub unsafe fn bpf_sample_local_peek(obj: *const c_void) -> u64 {
    // SAFETY: as above, were the verifier to let a call through.
    unsafe { core::ptr::read(obj.cast::<u64>()) }
}

// The typed twins: the same facts, said by the Rust types (the C ABI and the BTF are those
// of the raw-pointer twins named in each comment).

/// `obj`'s reference count, plus 100 times `hint`'s when `hint` is given: the typed twin of
/// `bpf_sample_refcount`. `&SampleObj` is trusted and never NULL (a program passing NULL is
/// refused), `Option<&SampleObj>` is `nullable`.
#[kfunc]
pub fn bpf_sample_peek(obj: &SampleObj, hint: Option<&SampleObj>) -> u32 {
    obj.refs() + hint.map_or(0, |h| 100 * h.refs())
}

/// A new reference on object `id`, `None` (NULL) if there is none: the typed twin of
/// `bpf_sample_acquire` (`Option<ARef<SampleObj>>` returned: `acquire, ret_null`).
#[kfunc]
pub fn bpf_sample_take(id: u32) -> Option<ARef<SampleObj>> {
    let i = id as usize;
    // SAFETY: `i < NR_OBJS`, checked first; table objects are static.
    (i < NR_OBJS).then(|| ARef::from(unsafe { &*obj_at(i) }))
}

/// Drops the reference `obj`: the typed twin of `bpf_sample_release` (`ARef<SampleObj>` by
/// value: `release`).
#[kfunc]
pub fn bpf_sample_put(obj: ARef<SampleObj>) {
    drop(obj);
}

/// Sum of the bytes of `data` (at most `SUM_MAX`): the typed twin of `bpf_sample_sum`
/// (`&[u8]`: the pointer `data` and its length `data_len`, `size(data_len, of = data)`).
#[kfunc]
pub fn bpf_sample_sum_bytes(data: &[u8]) -> u64 {
    data.iter()
        .take(SUM_MAX as usize)
        .map(|&b| u64::from(b))
        .sum()
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
        bpf_sample_sum_opt,
        bpf_sample_fill,
        bpf_sample_cookie,
        bpf_sample_map_size,
        bpf_sample_task_pid,
        bpf_iter_sample_new,
        bpf_iter_sample_next,
        bpf_iter_sample_destroy,
        bpf_sample_iter_pos,
        bpf_sample_dynptr_null,
        bpf_sample_local_value,
        bpf_sample_local_peek,
        bpf_sample_live_refs,
        bpf_sample_peek,
        bpf_sample_take,
        bpf_sample_put,
        bpf_sample_sum_bytes,
    ]
);

/// Every kfunc of the set (each has a FUNC in the module's BTF, made by `btfids-post`).
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
    "bpf_sample_sum_opt",
    "bpf_sample_fill",
    "bpf_sample_cookie",
    "bpf_sample_map_size",
    "bpf_sample_task_pid",
    "bpf_iter_sample_new",
    "bpf_iter_sample_next",
    "bpf_iter_sample_destroy",
    "bpf_sample_iter_pos",
    "bpf_sample_dynptr_null",
    "bpf_sample_local_value",
    "bpf_sample_local_peek",
    "bpf_sample_live_refs",
    "bpf_sample_peek",
    "bpf_sample_take",
    "bpf_sample_put",
    "bpf_sample_sum_bytes",
];

/// Fails if the module has no BTF: `register_btf_kfunc_id_set` would then return 0 after a
/// warning and every kfunc would be silently unusable.
///
/// Only `btf_data_size` and the pointer are looked at, never the bytes: `btf_data` points
/// into the temporary copy of the module file, which `load_module` frees (`free_copy`,
/// kernel/module/main.c) before it calls the init function; `do_init_module` clears the
/// stale pointer only after init. The kernel parsed that BTF earlier (the `COMING`
/// notifier, `btf_module_notify`); that every kfunc has a FUNC in it is checked when the
/// module is linked (`btfids-post` refuses a set entry without a FUNC) and by the selftest
/// runner from `/sys/kernel/btf/kfunc_sample` (`module_btf_has_kfuncs`).
fn check_module_btf(module: &'static ThisModule) -> Result {
    // SAFETY: reads two fields of our own `struct module`; the data is not dereferenced.
    let (ptr, len) = unsafe {
        let m = module.as_ptr();
        ((*m).btf_data, (*m).btf_data_size as usize)
    };
    // The smallest BTF: a 24-byte header (types and strings may be empty).
    if ptr.is_null() || len < 24 {
        pr_err!("the module has no BTF: kfuncs would be silently unusable\n");
        return Err(EINVAL);
    }
    pr_info!(
        "module BTF: {} bytes for {} kfuncs\n",
        len,
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
                *(*o).refs.get() = bindings::REFCOUNT_INIT(1);
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
