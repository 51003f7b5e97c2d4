//! Host test of typed kfuncs (`&T`, `Option<&T>`, `ARef<T>`, `&[u8]`, `&mut bpf_iter_<type>`,
//! `&bpf_iter_<type>`; `&mut` of anything else is refused, `tests/ui/typed_mut_*`):
//! each typed kfunc has a raw-pointer twin written with the flags by hand, and the two
//! must give the same flag words and the same metadata record (but for the name); then the
//! C-ABI shims are called as a BPF program would, through their exported symbols.

#![allow(non_camel_case_types)]

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use kfunc::{kfunc, KFUNCS};
use kfunc_layout::{Endian, MetaRecord};

/// Stand-in for the kernel crate: `ARef` with 7.3's `from_raw`/`into_raw`, spelled at the
/// path 7.3 defines it (`kernel::sync::aref::ARef`).
mod kernel {
    pub mod sync {
        pub mod aref {
            use core::ptr::NonNull;

            /// Types with an internal reference count.
            pub trait AlwaysRefCounted {
                /// Drops one reference.
                ///
                /// # Safety
                ///
                /// `obj` holds a reference.
                unsafe fn dec_ref(obj: NonNull<Self>);
            }

            /// An owned reference (7.3's API: `from_raw`, `into_raw`, drop releases).
            pub struct ARef<T: AlwaysRefCounted>(NonNull<T>);

            impl<T: AlwaysRefCounted> ARef<T> {
                /// Takes over a reference.
                ///
                /// # Safety
                ///
                /// `ptr` holds a reference the caller gives up.
                pub unsafe fn from_raw(ptr: NonNull<T>) -> Self {
                    ARef(ptr)
                }
                /// Gives the reference up.
                pub fn into_raw(me: Self) -> NonNull<T> {
                    core::mem::ManuallyDrop::new(me).0
                }
            }

            impl<T: AlwaysRefCounted> core::ops::Deref for ARef<T> {
                type Target = T;
                fn deref(&self) -> &T {
                    // SAFETY: an `ARef` holds a reference, so the object is alive.
                    unsafe { self.0.as_ref() }
                }
            }

            impl<T: AlwaysRefCounted> Drop for ARef<T> {
                fn drop(&mut self) {
                    // SAFETY: the `ARef` owns a reference.
                    unsafe { T::dec_ref(self.0) }
                }
            }
        }
    }
}

use kernel::sync::aref::{ARef, AlwaysRefCounted};

/// A refcounted object of the module.
#[repr(C)]
pub struct Obj {
    refs: AtomicU32,
    value: u32,
}

impl AlwaysRefCounted for Obj {
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller holds a reference, so the object is alive.
        unsafe { obj.as_ref() }.refs.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Iterator state.
#[repr(C)]
pub struct bpf_iter_ty {
    pos: u64,
}

// ---- typed kfuncs and their raw twins ----

/// `obj`'s value, plus `hint`'s if given.
#[kfunc]
fn bpf_ty_peek(obj: &Obj, hint: Option<&Obj>) -> u32 {
    obj.value + hint.map_or(0, |h| h.value)
}
#[kfunc(nullable(hint))]
unsafe fn bpf_rw_peek(obj: *const Obj, hint: *const Obj) -> u32 {
    let _ = (obj, hint);
    0
}

/// Drops `obj`; returns the value it had.
#[kfunc]
fn bpf_ty_put(obj: ARef<Obj>) -> u32 {
    obj.value
}
#[kfunc(release(obj))]
unsafe fn bpf_rw_put(obj: *mut Obj) -> u32 {
    let _ = obj;
    0
}

/// A new reference on `obj`, if its value is not 0.
#[kfunc(acquire(obj))]
fn bpf_ty_get(obj: &Obj) -> Option<kernel::sync::aref::ARef<Obj>> {
    if obj.value == 0 {
        return None;
    }
    obj.refs.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the reference was just taken.
    Some(unsafe { ARef::from_raw(NonNull::from(obj)) })
}
#[kfunc(acquire(obj), ret_null)]
unsafe fn bpf_rw_get(obj: *const Obj) -> *mut Obj {
    obj.cast_mut()
}

/// A new reference on `obj`, always.
#[kfunc(sleepable)]
fn bpf_ty_dup(obj: &Obj) -> ARef<Obj> {
    obj.refs.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the reference was just taken.
    unsafe { ARef::from_raw(NonNull::from(obj)) }
}
#[kfunc(acquire, sleepable)]
unsafe fn bpf_rw_dup(obj: *const Obj) -> *mut Obj {
    obj.cast_mut()
}

/// Sum of `data`, plus `k` times the sum of `more` (two shared slices, which may overlap).
#[kfunc(constant(k))]
fn bpf_ty_mem(data: &[u8], more: &[u8], k: u32) -> u64 {
    let sum = |s: &[u8]| s.iter().map(|&b| u64::from(b)).sum::<u64>();
    sum(data) + u64::from(k) * sum(more)
}
#[kfunc(size(data_len, of = data), size(more_len, of = more), constant(k))]
unsafe fn bpf_rw_mem(
    data: *const u8,
    data_len: usize,
    more: *const u8,
    more_len: usize,
    k: u32,
) -> u64 {
    let _ = (data, data_len, more, more_len, k);
    0
}

/// Sum of `data`, or `u64::MAX` for NULL.
#[kfunc]
fn bpf_ty_opt(data: Option<&[i8]>) -> u64 {
    data.map_or(u64::MAX, |d| d.iter().map(|&b| b as u64).sum())
}
#[kfunc(nullable(data), size(data_len, of = data))]
unsafe fn bpf_rw_opt(data: *const i8, data_len: usize) -> u64 {
    let _ = (data, data_len);
    0
}

/// The position of an iteration.
#[kfunc]
fn bpf_ty_iter_pos(it: &mut bpf_iter_ty) -> u64 {
    it.pos += 1;
    it.pos
}
#[kfunc(iter(it))]
unsafe fn bpf_rw_iter_pos(it: *mut bpf_iter_ty) -> u64 {
    let _ = it;
    0
}

/// Whether two iterations are at the same position (two shared iterator states of one
/// type, which the program may pass as the same one).
#[kfunc]
fn bpf_ty_iter_same(a: &bpf_iter_ty, b: &bpf_iter_ty) -> bool {
    a.pos == b.pos
}
#[kfunc(iter(a), iter(b))]
unsafe fn bpf_rw_iter_same(a: *const bpf_iter_ty, b: *const bpf_iter_ty) -> bool {
    let _ = (a, b);
    false
}

/// The typed kfuncs and their raw twins, by name.
const TWINS: &[(&str, &str)] = &[
    ("bpf_ty_peek", "bpf_rw_peek"),
    ("bpf_ty_put", "bpf_rw_put"),
    ("bpf_ty_get", "bpf_rw_get"),
    ("bpf_ty_dup", "bpf_rw_dup"),
    ("bpf_ty_mem", "bpf_rw_mem"),
    ("bpf_ty_opt", "bpf_rw_opt"),
    ("bpf_ty_iter_pos", "bpf_rw_iter_pos"),
    ("bpf_ty_iter_same", "bpf_rw_iter_same"),
];

fn info(name: &str) -> &'static kfunc::KfuncInfo {
    KFUNCS
        .iter()
        .find(|k| k.name == name)
        .unwrap_or_else(|| panic!("{name} is not registered in KFUNCS"))
}

fn record(name: &str) -> MetaRecord<'static> {
    let e = if cfg!(target_endian = "little") {
        Endian::Little
    } else {
        Endian::Big
    };
    MetaRecord::read(info(name).record, e).unwrap_or_else(|e| panic!("{name}: record: {e}"))
}

#[test]
fn typed_records_equal_their_raw_twins() {
    for &(ty, rw) in TWINS {
        let (a, b) = (info(ty), info(rw));
        assert_eq!(a.flags, b.flags, "flag words of {ty} and {rw}");
        let (mut ra, rb) = (record(ty), record(rw));
        assert_eq!(ra.name, ty);
        ra.name = rb.name;
        assert_eq!(ra, rb, "records of {ty} and {rw} (names aside)");
    }
}

#[test]
fn the_facts_are_set() {
    use kfunc_layout::*;
    // Not only equal to the twins: the words say what the types say.
    assert_eq!(
        info("bpf_ty_peek").flags,
        [0, 0, KF_PARAM_NULLABLE, 0, 0, 0]
    );
    assert_eq!(
        info("bpf_ty_put").flags,
        [KF_RELEASE, KF_PARAM_RELEASE, 0, 0, 0, 0]
    );
    assert_eq!(
        info("bpf_ty_get").flags,
        [KF_ACQUIRE | KF_RET_NULL, KF_PARAM_ACQUIRE, 0, 0, 0, 0]
    );
    assert_eq!(
        info("bpf_ty_dup").flags,
        [KF_ACQUIRE | KF_SLEEPABLE, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        info("bpf_ty_mem").flags,
        [
            0,
            0,
            KF_PARAM_SIZE | kf_arg_mem(0),
            0,
            KF_PARAM_SIZE | kf_arg_mem(2),
            KF_PARAM_CONST
        ]
    );
    let r = record("bpf_ty_mem");
    let names: Vec<&str> = r.args.iter().map(|a| a.name).collect();
    assert_eq!(names, ["data", "data_len", "more", "more_len", "k"]);
    assert_eq!(r.args[1].type_name, "size_t");
    assert_eq!(
        info("bpf_ty_opt").flags,
        [0, KF_PARAM_NULLABLE, KF_PARAM_SIZE | kf_arg_mem(0), 0, 0, 0]
    );
    assert_eq!(
        info("bpf_ty_iter_pos").flags,
        [0, KF_PARAM_ITER, 0, 0, 0, 0]
    );
    assert_eq!(
        info("bpf_ty_iter_same").flags,
        [0, KF_PARAM_ITER, KF_PARAM_ITER, 0, 0, 0]
    );
}

/// The exported symbol of kfunc `name` as the C function a BPF program calls.
///
/// # Safety
///
/// `F` is the kfunc's C type.
unsafe fn c_fn<F: Copy>(name: &str) -> F {
    let addr = info(name).addr.0;
    assert_eq!(core::mem::size_of::<F>(), core::mem::size_of::<*const ()>());
    // SAFETY: the caller names the function type of the exported symbol.
    unsafe { core::mem::transmute_copy::<*const (), F>(&addr) }
}

#[test]
fn shims_convert_what_the_verifier_passes() {
    let a = Obj {
        refs: AtomicU32::new(1),
        value: 7,
    };
    let b = Obj {
        refs: AtomicU32::new(1),
        value: 30,
    };
    // SAFETY: the C types of the shims, as `c_param_ty` spells them.
    unsafe {
        let peek: unsafe extern "C" fn(*const Obj, *const Obj) -> u32 = c_fn("bpf_ty_peek");
        assert_eq!(peek(&a, core::ptr::null()), 7);
        assert_eq!(peek(&a, &b), 37);

        let get: unsafe extern "C" fn(*const Obj) -> *mut Obj = c_fn("bpf_ty_get");
        let got = get(&a);
        assert_eq!(got, &a as *const Obj as *mut Obj);
        assert_eq!(
            a.refs.load(Ordering::SeqCst),
            2,
            "the reference went to the caller"
        );
        let zero = Obj {
            refs: AtomicU32::new(1),
            value: 0,
        };
        assert!(get(&zero).is_null(), "None is NULL");

        let put: unsafe extern "C" fn(*mut Obj) -> u32 = c_fn("bpf_ty_put");
        assert_eq!(put(got), 7);
        assert_eq!(
            a.refs.load(Ordering::SeqCst),
            1,
            "the ARef was dropped: released"
        );

        let c = Obj {
            refs: AtomicU32::new(1),
            value: 1,
        };
        let dup: unsafe extern "C" fn(*const Obj) -> *mut Obj = c_fn("bpf_ty_dup");
        assert_eq!(dup(&c), &c as *const Obj as *mut Obj);
        assert_eq!(c.refs.load(Ordering::SeqCst), 2);

        let mem: unsafe extern "C" fn(*const u8, usize, *const u8, usize, u32) -> u64 =
            c_fn("bpf_ty_mem");
        let data = [1u8, 2, 3];
        assert_eq!(mem(data.as_ptr(), 3, [4u8, 1].as_ptr(), 2, 5), 6 + 25);
        // The same memory twice, as a program may pass it: two shared slices.
        assert_eq!(mem(data.as_ptr(), 3, data.as_ptr(), 2, 2), 6 + 6);
        // NULL with a size of 0, which the verifier admits: empty slices.
        assert_eq!(mem(core::ptr::null(), 0, core::ptr::null(), 0, 9), 0);

        let opt: unsafe extern "C" fn(*const i8, usize) -> u64 = c_fn("bpf_ty_opt");
        assert_eq!(opt(core::ptr::null(), 8), u64::MAX);
        assert_eq!(opt([4i8, 5].as_ptr(), 2), 9);
        assert_eq!(opt([4i8, 5].as_ptr(), 0), 0);

        let pos: unsafe extern "C" fn(*mut bpf_iter_ty) -> u64 = c_fn("bpf_ty_iter_pos");
        let mut it = bpf_iter_ty { pos: 41 };
        assert_eq!(pos(&mut it), 42);
        assert_eq!(it.pos, 42);

        let same: unsafe extern "C" fn(*const bpf_iter_ty, *const bpf_iter_ty) -> bool =
            c_fn("bpf_ty_iter_same");
        assert!(same(&it, &it), "one state passed twice");
        assert!(!same(&it, &bpf_iter_ty { pos: 0 }));
    }
    // The Rust functions stay callable with their Rust types.
    assert_eq!(bpf_ty_peek(&a, Some(&b)), 37);
    assert_eq!(bpf_ty_mem(&[1], &[], 3), 1);
}
