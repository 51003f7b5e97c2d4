// SPDX-License-Identifier: GPL-2.0

//! `#[kfunc]` and `kfunc_set!`: per-argument kfunc flags, written next to the function.
//!
//! A kfunc of Linux 7.3 has one `u32` of `KF_*` flags; facts about single arguments are
//! spelled as argument-name suffixes (`len__sz`, `hint__nullable`, `p__arena`). With these
//! macros a Rust kernel module states every fact explicitly, as a flag naming the argument:
//!
//! ```ignore
//! use kfunc_macros::{kfunc, kfunc_set};
//!
//! /// Takes a new reference on `obj`.
//! #[kfunc(acquire(obj), ret_null, nullable(hint))]
//! unsafe fn bpf_sample_get(obj: *mut SampleObj, hint: *const bindings::task_struct) -> *mut SampleObj {
//!     /* ... */
//! #   obj
//! }
//!
//! #[kfunc(release(obj))]
//! unsafe fn bpf_sample_put(obj: *mut SampleObj) { /* ... */ }
//!
//! #[kfunc(size(len, of = buf))]
//! fn bpf_sample_sum(buf: *const u8, len: u32) -> u64 { /* ... */ # 0 }
//!
//! kfunc_set!(SAMPLE_KFUNCS = [bpf_sample_get, bpf_sample_put, bpf_sample_sum]);
//!
//! // In the module's init:
//! let set = bindings::btf_kfunc_id_set {
//!     owner: module.as_ptr(),
//!     set: SAMPLE_KFUNCS.as_mut_ptr::<bindings::btf_id_set8>(),
//!     filter: None,
//! };
//! ```
//!
//! # Grammar
//!
//! ```text
//! #[kfunc]                              a kfunc with no flags
//! #[kfunc( flag, flag, ... )]
//!
//! flag     := func_flag                 function flag, bare
//!           | arg_flag "(" arg ("," arg)* ")"
//!           | size_flag "(" arg "," "of" "=" arg ")"
//! arg      := "arg" DIGITS              argument by position (arg0..arg4)
//!           | IDENT                     argument by parameter name (a name wins over argN)
//! func_flag  := acquire | ret_null | sleepable | destructive | rcu_args | iter_new
//!             | iter_next | iter_destroy | rcu_protected | fastcall | arena_ret
//!             | arena_arg1 | arena_arg2 | implicit_args | spinlock_safe | perfmon
//! arg_flag   := release | nullable | rcu | acquire | constant | ignore | uninit | alloc
//!             | refcounted_kptr | str | map | const_map | iter | irq_flag
//!             | nonown_allowed | arena
//! size_flag  := size | const_size
//!
//! kfunc_set!( [pub] NAME = [ path::to::kfunc, ... ] );
//! ```
//!
//! The keywords are those of the `kfunc_layout` tables: the function flags are the
//! `keyword`s of [`kfunc_layout::FUNC_FLAGS`] (except `release`, which always names its
//! argument), the per-argument flags those of [`kfunc_layout::ARG_FLAGS`]; a test checks that
//! this grammar and the two tables below list exactly those keywords.
//!
//! # The 7.3 model: trusted by default
//!
//! Since Linux 7.0 every pointer argument of a kfunc is trusted by default (a referenced
//! pointer, or one the kernel passed to the program; NULL refused), and so is every pointer
//! a kfunc returns; `KF_TRUSTED_ARGS` is gone. Per-argument flags only *relax* or *refine*
//! that default: `rcu(a)` also accepts an RCU-protected pointer, `nullable(a)` also accepts
//! NULL, `release(a)` names the reference the kfunc drops, and the suffix flags (`size`,
//! `str`, `arena`, ...) say what the argument is. Linux 7.3 replaced the `__opt` suffix by
//! `__nullable`: a nullable memory argument of a (memory, size) pair may be NULL.
//!
//! Retired keywords are errors that say what to write instead:
//!
//! | written | error |
//! |---|---|
//! | `trusted(a)` | pointer arguments of kfuncs are trusted by default since Linux 7.0; remove `trusted(a)` (use `rcu(a)` to also accept RCU-protected pointers) |
//! | `trusted_args` | `trusted_args` (`KF_TRUSTED_ARGS`) was removed in Linux 7.0: pointer arguments of kfuncs are trusted by default; remove it (use `rcu_args` to also accept RCU-protected pointers) |
//! | `optional(a)` | `optional` was replaced by `nullable` in Linux 7.3 (the `__opt` suffix became `__nullable`): write `nullable(a)` |
//! | parameter `a__opt` | the retired suffix: write `nullable(a)` |
//!
//! # What each flag means (what the patched verifier checks)
//!
//! Function flags (the `KF_*` word, as in Linux 7.3 `include/linux/btf.h`):
//!
//! | keyword | bit | meaning |
//! |---|---|---|
//! | `acquire` | `KF_ACQUIRE` | the return value is a new reference: the program must release it (or store it as a kptr) before exiting, else "Unreleased reference"; the return must be a pointer (checked here) |
//! | `ret_null` | `KF_RET_NULL` | the returned pointer may be NULL: the program must test it before using it; the return must be a pointer (checked here) |
//! | `sleepable` | `KF_SLEEPABLE` | may sleep: only callable from sleepable programs, outside RCU read sections and locks ("kernel func %s is sleepable within ...") |
//! | `destructive` | `KF_DESTRUCTIVE` | destructive action: needs `CAP_SYS_BOOT` |
//! | `rcu_args` | `KF_RCU` | every pointer argument may be trusted or RCU-protected (as `rcu(a)` on each) |
//! | `iter_new` / `iter_next` / `iter_destroy` | `KF_ITER_NEW` / `KF_ITER_NEXT` / `KF_ITER_DESTROY` | open-coded iterator constructor / next / destructor: argument 0 is the `bpf_iter_<type>` state on the stack; the name must be `bpf_iter_<type>_{new,next,destroy}`; next returns a pointer, destroy returns nothing and both take only the state |
//! | `rcu_protected` | `KF_RCU_PROTECTED` | must be called inside `bpf_rcu_read_lock()`; a returned pointer is RCU-protected, not trusted |
//! | `fastcall` | `KF_FASTCALL` | the kfunc follows the `bpf_fastcall` convention (it clobbers only the registers it uses), so the verifier may keep the caller's spills around the call |
//! | `arena_ret` | `KF_ARENA_RET` | the returned pointer is an arena pointer (tagged `address_space(1)` in BTF); the return must be a pointer (checked here) |
//! | `arena_arg1` / `arena_arg2` | `KF_ARENA_ARG1` / `KF_ARENA_ARG2` | the first / second argument is an arena pointer (tagged `address_space(1)` in BTF); that argument must exist and be a pointer (checked here) |
//! | `implicit_args` | `KF_IMPLICIT_ARGS` | the last arguments are supplied by the verifier, not by the program: pointers to `bindings::bpf_prog_aux` or `bindings::btf_struct_meta`, after every other argument, with no per-argument flag (checked here); BPF programs see the kfunc without them |
//! | `spinlock_safe` | `KF_SPINLOCK_SAFE` | callable while a `bpf_spin_lock` is held (so not together with `sleepable`, checked here) |
//! | `perfmon` | `KF_PERFMON` | the program needs `CAP_PERFMON` to call it |
//!
//! Per-argument flags (one `KF_PARAM_*` word per argument, `kfunc_layout` "Per-argument
//! flags"). Where a 7.3 suffix exists, the patched verifier treats the flag exactly as the
//! suffix ("flag set or suffix present"):
//!
//! | keyword | bit (suffix) | applies to | meaning |
//! |---|---|---|---|
//! | `release(a)` | `KF_PARAM_RELEASE` (+ `KF_RELEASE` on the function) | pointer | `a` is the reference the kfunc releases: it must carry a reference at offset 0, and that reference is gone after the call. 7.3 releases whatever is in R1; the flag names the argument, and only one argument may have it. Never NULL and never merely RCU-protected (not with `nullable` or `rcu`) |
//! | `nullable(a)` | `KF_PARAM_NULLABLE` (`__nullable`) | pointer | `a` may be NULL (every pointer argument is non-NULL by default). On the memory of a `size`/`const_size` pair it replaces 6.12's `__opt`: a NULL memory skips the size check |
//! | `rcu(a)` | `KF_PARAM_RCU` | pointer to a kernel object | like `rcu_args`, for `a` only: trusted or RCU-protected. Not on a pointer to a scalar or `c_void` (memory is not checked for trust), not with `rcu_args` |
//! | `acquire(a)` | `KF_PARAM_ACQUIRE` (+ `KF_ACQUIRE`) | pointer to a kernel object | the returned reference is taken on the object `a` points to: `a` must point to the returned pointee type (checked here), trusted or RCU-protected and never NULL |
//! | `constant(a)` | `KF_PARAM_CONST` (`__k`) | scalar | `a` must be a known constant ("R%d must be a known constant"); one constant (`constant` or `const_size`) per kfunc |
//! | `ignore(a)` | `KF_PARAM_IGNORE` (`__ign`) | either | the verifier does not check `a` (so no other flag on `a`) |
//! | `uninit(a)` | `KF_PARAM_UNINIT` (`__uninit`) | pointer | `a` points to an uninitialised dynptr the kfunc initialises |
//! | `alloc(a)` | `KF_PARAM_ALLOC` (`__alloc`) | pointer | `a` must be an object allocated by `bpf_obj_new` |
//! | `refcounted_kptr(a)` | `KF_PARAM_REFCOUNTED_KPTR` (`__refcounted_kptr`) | pointer | `a` must be a refcounted local kptr |
//! | `str(a)` | `KF_PARAM_STR` (`__str`) | pointer to `c_char`/`u8`/`i8` | `a` must point to a constant NUL-terminated string in a read-only map |
//! | `map(a)` | `KF_PARAM_MAP` (`__map`) | pointer | `a` must be a `struct bpf_map` pointer |
//! | `const_map(a)` | `KF_PARAM_CONST_MAP` (`__const_map`) | pointer | `a` must be a BPF map known at verification time ("pointer in R%d isn't map pointer") |
//! | `iter(a)` | `KF_PARAM_ITER` (`__iter`) | pointer to `bpf_iter_<type>` | `a` is an initialised iterator state on the stack (never NULL) |
//! | `size(a, of = m)` | `KF_PARAM_SIZE \| KF_PARAM_MEM(m)` (`__sz`) | scalar | `a` is the size in bytes of the memory `m` points to: the verifier checks the access `[m, m + a)`. `m` must be a pointer and, as 7.3 checks (memory, size) as adjacent pairs, `a` must directly follow `m`; `m` stays memory (no kind flag such as `str` or `arena`, no `rcu`/`acquire` on it) |
//! | `const_size(a, of = m)` | `KF_PARAM_CONST_SIZE \| KF_PARAM_MEM(m)` (`__szk`) | scalar | as `size`, and `a` must be a known constant |
//! | `irq_flag(a)` | `KF_PARAM_IRQ_FLAG` (`__irq_flag`) | pointer to `c_ulong`/`u64` | `a` is the stack slot of saved IRQ flags (never NULL). 7.3 honours it for its own `bpf_local_irq_save`/`restore` and `bpf_res_spin_lock_irqsave`/`unlock_irqrestore` only |
//! | `nonown_allowed(a)` | `KF_PARAM_NONOWN_ALLOWED` (`__nonown_allowed`) | pointer to `bindings::bpf_list_node` | `a` may also be a non-owning reference (as `bpf_list_front`/`back` return) |
//! | `arena(a)` | `KF_PARAM_ARENA` (`__arena`) | pointer | `a` is an arena pointer (or a scalar address); NULL is allowed and rebased to the arena; with `nullable(a)` (`__arena__nullable`) NULL stays NULL. The program needs an arena map |
//!
//! `alloc`, `refcounted_kptr`, `iter`, `str`, `const_map`, `map`, `irq_flag` and `arena`
//! each say what a pointer argument *is* to the verifier, which reads only the first that
//! applies: at most one of them per argument.
//!
//! # Rules checked at compile time
//!
//! Every violation is reported, all at once, spanned on the offending token, saying what
//! to write instead: a retired keyword (`trusted`, `trusted_args`, `optional`), unknown flag
//! (with the closest keyword), duplicate flag, argument out of range or unknown parameter
//! name (with the closest name), a pointer-only flag on a scalar or a scalar-only flag on a
//! pointer, `str` on a pointer not to a C character, `irq_flag` not on a pointer to an
//! `unsigned long`, `nonown_allowed` not on a `bpf_list_node` pointer, `iter(a)` on a pointee
//! not named `bpf_iter_*`, `rcu` on a pointer to a scalar or `c_void`, `rcu(a)` with
//! `rcu_args`, `release` on two arguments, `acquire` twice or `acquire(a)` on two arguments,
//! `ret_null`/`acquire`/`arena_ret` without a pointer return, `acquire(a)` whose pointee
//! differs from the return's, `arena_arg1`/`arena_arg2` without a pointer argument there,
//! `implicit_args` without trailing implicit arguments or with a flag on one,
//! `sleepable`+`spinlock_safe`, `size`/`const_size` without `of`, with `of` naming a
//! non-pointer or not the argument just before, two sizes for one memory, a kind flag or
//! `rcu`/`acquire` on the memory of a size pair, two constants (`constant`/`const_size`) in
//! one kfunc, and on one argument: two kind flags, `rcu`/`acquire` with a kind flag,
//! `nullable` with `release`, `acquire`, `iter` or `irq_flag`, `release`+`rcu`, `release`+`acquire`,
//! `size`+`const_size`, `constant`+`const_size`, `ignore`+anything; two `iter_*` function
//! flags, `iter_*` without `iter(arg0)` or with a misnamed function / extra arguments /
//! wrong return, a parameter name ending in an argument-name suffix (`len__sz`, also the
//! retired `__opt`), more than 5 arguments (the extended set8 entry has 5 flag words),
//! generics, lifetimes, `where`, `self`, `async`, an ABI other than `"C"`, variadics,
//! `impl Trait`, a returned reference, types with no C equivalent (`String`,
//! `Vec<T>`, tuples, arrays, slices other than the typed `&[u8]`, `f32`/`f64`,
//! `u128`/`i128`, `char`, structs by value, pointers to pointers), patterns instead of
//! parameter names, and a `#[no_mangle]`/`#[inline]`/`#[export_name]`/`#[link_section]` of
//! the user's own. For typed parameters (below): a flag that repeats or contradicts the
//! type, a lifetime on a reference parameter, a slice of anything but bytes, an
//! `Option<ARef<T>>` parameter, two released arguments, a reference as the state of an
//! `iter_new` kfunc, a parameter named like the length a slice adds, and (see "Exclusive
//! references") `&mut T` of anything but an iterator state, `&mut [u8]`, and two references
//! to iterator states of one type of which one is `&mut`.
//!
//! # A worked example
//!
//! A kfunc that copies `len` bytes of an optional buffer into an object the program holds a
//! reference on, may be called under RCU with the object, and drops a second reference:
//!
//! ```
//! use kfunc_layout::*;
//! use kfunc_macros::kfunc;
//!
//! /// The module's object.
//! #[repr(C)]
//! pub struct Obj {
//!     bytes: [u8; 8],
//! }
//!
//! /// Copies `len` bytes of `buf` (if not NULL) into `obj`, drops `old`.
//! #[kfunc(rcu(obj), nullable(buf), size(len, of = buf), release(old))]
//! unsafe fn bpf_obj_fill(obj: *mut Obj, buf: *const u8, len: u32, old: *mut Obj) -> i32 {
//!     // ... copy, then drop the reference on `old`
//! #   let _ = (obj, buf, len, old);
//!     0
//! }
//!
//! # fn main() {
//! assert_eq!(
//!     __kfunc_flags_bpf_obj_fill,
//!     [
//!         KF_RELEASE,
//!         KF_PARAM_RCU,
//!         KF_PARAM_NULLABLE,
//!         KF_PARAM_SIZE | kf_arg_mem(1),
//!         KF_PARAM_RELEASE,
//!         0,
//!     ]
//! );
//! # }
//! ```
//!
//! - `obj` has no flag but `rcu`: trusted by default, so a referenced pointer or one the
//!   kernel passed is accepted, and `rcu(obj)` adds a pointer read inside
//!   `bpf_rcu_read_lock()`; NULL is refused ("Possibly NULL pointer passed to trusted R1").
//! - `buf`/`len` are a (memory, size) pair: the verifier checks that `[buf, buf + len)` is
//!   readable; `nullable(buf)` lets the program pass NULL, and then `len` is not checked.
//! - `release(old)` sets `KF_RELEASE` and `KF_PARAM_RELEASE` on argument 3: `old` must hold a
//!   reference, which is gone after the call; `obj` may hold a reference too and keeps it.
//!
//! The hidden `__kfunc_flags_bpf_obj_fill` holds the function flags and then one word per
//! argument (as asserted above); the set8 entry and the `.kfunc.meta` record carry the
//! same. Writing `trusted(obj)` instead of `rcu(obj)`
//! is an error (trusted is the default); `nullable(old)` next to `release(old)` is an error
//! (a released reference is never NULL); `size(len, of = buf)` with another argument between
//! `buf` and `len` is an error (7.3 checks adjacent pairs).
//!
//! # Types
//!
//! Parameters and return values are C integers or raw pointers (DESIGN.md "Type names in
//! records"): `u8..u64` → `"u8".."u64"`, `i8..i64` → `"s8".."s64"`, `usize`/`isize` →
//! `"size_t"`/`"ssize_t"`, `bool`, the `c_*` aliases of `core::ffi`/`kernel::ffi` (any path
//! ending in `c_int`, ...) → their C names, and `bindings::X` by value → the integer
//! typedef `X` (the expansion checks at compile time that `X` has `MAX`, i.e. is an
//! integer). A pointer names its pointee: `c_void` → `"void"`, a scalar as above,
//! `bindings::X` / `kernel::bindings::X` → `"X"` (a vmlinux type), any other path → the
//! module's own `#[repr(C)]` type, flagged `TYPE_F_MODULE`, with its `size_of`.
//! `*const T` sets `TYPE_F_CONST`.
//!
//! # Typed parameters: facts from Rust types
//!
//! A kfunc may take and return Rust types instead of raw pointers; `#[kfunc]` then derives
//! the facts from the types and writes the C-ABI shim:
//!
//! | written | at the C ABI (BTF, record) | fact |
//! |---|---|---|
//! | `a: &T` | `const T *a` | trusted, never NULL (the default) |
//! | `a: Option<&T>` | `const T *a` | `nullable(a)` |
//! | `a: &bpf_iter_x` / `&mut bpf_iter_x` | `const bpf_iter_x *a` / `bpf_iter_x *a` | `iter(a)` (not for `iter_new`: its state is uninitialised, take `*mut`) |
//! | `a: ARef<T>` | `T *a` | `release(a)` (`KF_RELEASE`) |
//! | `-> ARef<T>` | `T *` | `acquire` |
//! | `-> Option<ARef<T>>` | `T *` | `acquire, ret_null` |
//! | `a: &[u8]` (or `&[i8]`) | `const u8 *a, size_t a_len` | `size(a_len, of = a)` |
//! | `a: Option<&[u8]>` | the same | `nullable(a), size(a_len, of = a)` |
//!
//! A slice is two C arguments (they count towards the 5) and its length is named
//! `<name>_len`. Flags on other arguments, and `rcu(a)`/`acquire(a)` on a reference, are
//! written as usual; a flag the type already says (`nullable` on an `Option`, `release` on
//! an `ARef`, `acquire`/`ret_null` with an `ARef` return) or one it contradicts (`nullable`
//! on a reference, `release` on a borrow, `ret_null` with a bare `ARef`, `ignore`, `uninit`,
//! `arena` or `str` on a typed argument, any flag on a slice's length) is an error. Raw
//! pointers and integers may sit next to typed parameters; a kfunc with only raw ones
//! expands exactly as before.
//!
//! The types are matched by their spelling, as a macro sees no types: `&`, `&mut`, `Option`
//! (`core::option::Option`, `std::option::Option`), `ARef` as `ARef`,
//! `kernel::sync::aref::ARef` (where Linux 7.3 defines it) or `kernel::types::ARef` (where
//! earlier kernels re-exported it), and `[u8]`/`[i8]`; a type alias or re-export under
//! another name is not recognised (an aliased `ARef` is refused as a generic type). The
//! pointee is named as written, as for raw pointers: a kernel wrapper such as
//! `kernel::task::Task` would be described as a module type `Task`, not as
//! `task_struct`, so such kfuncs keep raw pointers to `bindings::X`.
//!
//! The shim (an `unsafe extern "C"` function exported under the kfunc's name) builds each
//! value from what the verifier checked for the fact the type implies: `&*p` for a trusted
//! argument, `p.as_ref()` for a nullable one, `ARef::from_raw` for a released reference,
//! `slice::from_raw_parts(p, len)` for a checked (memory, size) pair (an empty slice when
//! `p` is NULL, which the verifier allows with a size of 0), `ARef::into_raw` for the
//! returned reference; its doc comment says, argument by argument, which guarantee each
//! conversion relies on.
//!
//! ## Exclusive references
//!
//! The BPF program chooses the arguments and the verifier checks each one on its own: it
//! does not keep two arguments from being the same object or the same memory, and what it
//! passes is shared. A trusted pointer to a refcounted object is one other CPUs hold
//! references to; a pointer to a scalar, to a struct of scalars, or the memory of a
//! (memory, size) pair may be the program's stack but also a map value (7.3's
//! `get_kfunc_ptr_arg_type()` and `check_helper_mem_access()` take both), which the same
//! program on another CPU, and userspace through `mmap` of a `BPF_F_MMAPABLE` array, use
//! meanwhile. A `&mut` would promise the compiler exclusive access no one checked, which is
//! undefined behaviour in safe code. So:
//!
//! - `&mut T` and `Option<&mut T>` are refused unless `T` is an iterator state: take `&T`
//!   with interior mutability (`Opaque`, atomics, a lock) for what the kfunc changes, or a
//!   raw pointer.
//! - `&mut [u8]` is refused: the kfunc cannot tell the program's stack from a map value, and
//!   a second memory argument may overlap it. Take `buf: *mut u8, buf_len: usize` with
//!   `size(buf_len, of = buf)` and write through the pointer.
//! - `&mut bpf_iter_<type>` is kept: 7.3's `process_iter_arg()` takes only a pointer to the
//!   program's stack (its own, on one CPU, for this run), whose slots hold an iterator of
//!   that type; `check_stack_range_initialized()` refuses an iterator's slots as the memory of
//!   another argument, and a pointer to an object never points to the stack. It does not
//!   check that two iterator arguments differ (`is_iter_reg_valid_init()` checks each slot
//!   on its own), so two references to iterator states of one type of which one is `&mut`
//!   are refused; states of two types cannot be the same slots (the slots record their
//!   type).
//!
//! What stays the user's to uphold: `&T` and `&[u8]` promise that nothing changes the
//! memory during the call except through interior mutability. For an object that others
//! change, `T` needs that interior mutability (as kernel-sample's `SampleObj` has `Opaque`);
//! `&[u8]`, `&T` of a scalar and of a struct of scalars are sound only if no one writes the
//! memory meanwhile (the program's stack, a map value no one writes during the call): a map
//! value another CPU or userspace writes during the call is a data race, which the macro
//! cannot rule out, as it cannot see where the memory comes from. Such a kfunc takes a raw
//! pointer.
//!
//! ```
//! # mod kernel { pub mod sync { pub mod aref {
//! #     pub struct ARef<T>(core::ptr::NonNull<T>);
//! #     impl<T> ARef<T> {
//! #         pub unsafe fn from_raw(p: core::ptr::NonNull<T>) -> Self { ARef(p) }
//! #         pub fn into_raw(me: Self) -> core::ptr::NonNull<T> { me.0 }
//! #     }
//! # } } }
//! use core::sync::atomic::{AtomicU32, Ordering};
//! use kernel::sync::aref::ARef;
//! use kfunc_layout::*;
//! use kfunc_macros::kfunc;
//!
//! /// The module's refcounted object (others change `value`: it is atomic).
//! #[repr(C)]
//! pub struct Obj {
//!     value: AtomicU32,
//! }
//!
//! /// Gives `old` back if `obj`'s value, or `hint`'s, is one of the bytes of `keys`, drops
//! /// it otherwise (the raw twin: `release(old), nullable(hint), size(keys_len, of = keys),
//! /// acquire, ret_null`).
//! #[kfunc]
//! fn bpf_obj_typed(
//!     obj: &Obj,
//!     hint: Option<&Obj>,
//!     keys: &[u8],
//!     old: ARef<Obj>,
//! ) -> Option<ARef<Obj>> {
//!     let v = hint.map_or(obj, |h| h).value.load(Ordering::Relaxed);
//!     keys.iter().any(|&k| u32::from(k) == v).then_some(old)
//! }
//!
//! # fn main() {
//! assert_eq!(
//!     __kfunc_flags_bpf_obj_typed,
//!     [
//!         KF_ACQUIRE | KF_RET_NULL | KF_RELEASE,
//!         0,
//!         KF_PARAM_NULLABLE,
//!         0,
//!         KF_PARAM_SIZE | kf_arg_mem(2),
//!         KF_PARAM_RELEASE,
//!     ]
//! );
//! // The Rust function stays callable with its types.
//! let o = Obj { value: AtomicU32::new(7) };
//! let old = || unsafe { ARef::from_raw(core::ptr::NonNull::from(&o)) };
//! assert!(bpf_obj_typed(&o, None, &[1, 7], old()).is_some());
//! assert!(bpf_obj_typed(&o, None, &[1, 2], old()).is_none());
//! # }
//! ```
//!
//! In BTF the kfunc is `struct Obj *bpf_obj_typed(const struct Obj *obj, const struct Obj
//! *hint, const u8 *keys, size_t keys_len, struct Obj *old)`, the prototype of the raw twin; a BPF
//! program passing NULL for `obj` is refused ("Possibly NULL pointer passed to trusted
//! R1"), NULL for `hint` is accepted, and `old` must be a reference the program holds.
//!
//! # Expansion
//!
//! `#[kfunc(...)] fn f(...)` becomes:
//!
//! - the function, `#[unsafe(no_mangle)] #[inline(never)] pub extern "C"` under its own
//!   name, attributes and body unchanged (an `unsafe fn` stays unsafe); a typed kfunc stays
//!   a Rust function as written (without an `extern` ABI), and its shim
//!   `__kfunc_c_f`, in the record's scope, is `#[unsafe(export_name = "f")]`;
//! - `#[doc(hidden)] pub const __kfunc_flags_f: [u32; 6]`: `KF_*`, then `KF_PARAM_*` of
//!   arguments 0..5;
//! - a `#[used]` static in section `.kfunc.meta` holding the metadata record
//!   (`kfunc_layout::MetaRecord`, native byte order), a local `#[repr(C)]` struct whose
//!   offsets are checked against `kfunc_layout` at compile time.
//!
//! `kfunc_set!([pub] NAME = [f, g])` emits, with `global_asm!` and `const` operands
//! reading `__kfunc_flags_*`, the extended set8 of DESIGN.md in `.BTF_ids` (local symbols
//! `__BTF_ID__kfunc_args__NAME`, `.size` 8 + 28 n, and `__BTF_ID__func__f__<decimal>`, `.size`
//! 4, the decimal unique per set name and position), after a `.globl __kfunc_set_NAME`
//! label, and a unit struct `NAME` with:
//!
//! - `NAME.as_ptr() -> *const u8`: the set's address (its `btf_id_set8` header);
//! - `NAME.as_mut_ptr::<bindings::btf_id_set8>() -> *mut btf_id_set8`, for
//!   `bindings::btf_kfunc_id_set { set, .. }`;
//! - `NAME::LEN` (kfuncs) and `NAME::SIZE` (bytes).
//!
//! Set names must be unique in a crate (the symbols are per assembly unit).
//!
//! # Two builds: kernel and host
//!
//! The build is chosen by where the macros are imported from; no cfg, no cargo feature,
//! so no `unexpected_cfgs` lint can fire:
//!
//! - **Kernel** (`kfunc_macros::kfunc`, `kfunc_macros::kfunc_set`): the expansion uses
//!   only `core` (`core::arch::global_asm!`, `core::mem`), no crates.io crate, and works
//!   in a `#![no_std]` crate built with `-C panic=abort` (tested by `tests/no_std.rs`).
//! - **Host** (`kfunc::kfunc`, `kfunc::kfunc_set` of the `kfunc` crate in
//!   `kfunc-macros/kfunc`): the same expansion, plus an entry in the linkme distributed
//!   slice `kfunc::KFUNCS` per kfunc (name, flags, record bytes, address), so userspace
//!   tests can enumerate the kfuncs of a binary.
//!
//! ## Using the macros in a kernel module (Kbuild)
//!
//! A proc-macro is a host library loaded by the compiler, so it must be built by the same
//! `rustc` as the kernel's (this machine's rustup stable):
//!
//! ```text
//! cargo build --release -p kfunc-macros     # -> target/release/libkfunc_macros.so
//! ```
//!
//! and handed to the module's `rustc` by the module's Kbuild file:
//!
//! ```text
//! rustflags-y += --extern kfunc_macros=/work/main/target/release/libkfunc_macros.so
//! ```
//!
//! then, in the module: `use kfunc_macros::{kfunc, kfunc_set};`. The emitted code needs
//! Rust >= 1.82 (`&raw const`, `#[unsafe(no_mangle)]`, `unsafe extern`) and passes the
//! kernel's `-Wmissing_docs -Wunreachable_pub -Dunsafe_op_in_unsafe_fn`.

use proc_macro::TokenStream;
use syn::parse_macro_input;

// The sources shared with the in-tree copy (`rust/macros/kfunc/`, `cargo xtask
// gen-rust-macros`): they reach each other and `layout` as `super::...`.
mod ast;
mod attr;
mod check;
mod ctxt;
mod entry;
mod expand;
mod grammar;
mod parse;
mod symbol;
mod types;
mod validate;

// This build only: `kfunc_layout` under the name `layout`, and the host registration.
mod host;
mod layout;

/// Declare a kfunc and its flags: the function is exported with the C ABI, its flags go
/// to a hidden constant for [`kfunc_set!`] and a metadata record goes to `.kfunc.meta`.
///
/// Kernel build (only `core` in the expansion). See the crate docs for the grammar, the
/// meaning of every flag and the checks.
///
/// # Example
///
/// ```
/// use core::ffi::c_char;
/// use kfunc_macros::{kfunc, kfunc_set};
///
/// /// The module's own object.
/// #[repr(C)]
/// pub struct SampleObj {
///     refs: u32,
/// }
///
/// /// Returns `obj` with one more reference; `hint` may be NULL.
/// #[kfunc(acquire(obj), ret_null, nullable(hint))]
/// unsafe fn bpf_doc_get(obj: *mut SampleObj, hint: *const c_char) -> *mut SampleObj {
///     // SAFETY: the verifier passes a valid, referenced `obj`.
///     unsafe { (*obj).refs += 1 };
///     obj
/// }
///
/// /// Sums `len` bytes at `buf`.
/// #[kfunc(size(len, of = buf), sleepable)]
/// fn bpf_doc_sum(buf: *const u8, len: u32) -> u64 {
///     (0..len as usize).map(|i| u64::from(unsafe { *buf.add(i) })).sum()
/// }
///
/// kfunc_set!(DOC_KFUNCS = [bpf_doc_get, bpf_doc_sum]);
///
/// # fn main() {
/// // `KF_ACQUIRE | KF_RET_NULL`, then `KF_PARAM_ACQUIRE` on arg 0, `KF_PARAM_NULLABLE` on arg 1.
/// assert_eq!(
///     __kfunc_flags_bpf_doc_get,
///     [
///         kfunc_layout::KF_ACQUIRE | kfunc_layout::KF_RET_NULL,
///         kfunc_layout::KF_PARAM_ACQUIRE,
///         kfunc_layout::KF_PARAM_NULLABLE,
///         0, 0, 0,
///     ]
/// );
/// assert_eq!(DOC_KFUNCS::LEN, 2);
/// assert!(!DOC_KFUNCS.as_ptr().is_null());
/// let mut o = SampleObj { refs: 1 };
/// assert_eq!(unsafe { bpf_doc_get(&mut o, core::ptr::null()) }, &mut o as *mut _);
/// assert_eq!(bpf_doc_sum(b"\x01\x02".as_ptr(), 2), 3);
/// # }
/// ```
///
/// # Example: the typed style
///
/// The same facts from Rust types (crate docs, "Typed parameters"): `Option<&T>` is
/// nullable, a returned `Option<ARef<T>>` is `acquire, ret_null`, `&[u8]` is a (pointer,
/// length) pair with its size.
///
/// ```
/// # mod kernel { pub mod sync { pub mod aref {
/// #     pub struct ARef<T>(core::ptr::NonNull<T>);
/// #     impl<T> ARef<T> {
/// #         pub unsafe fn from_raw(p: core::ptr::NonNull<T>) -> Self { ARef(p) }
/// #         pub fn into_raw(me: Self) -> core::ptr::NonNull<T> { me.0 }
/// #     }
/// # } } }
/// use kernel::sync::aref::ARef;
/// use kfunc_macros::kfunc;
///
/// /// The module's own object.
/// #[repr(C)]
/// pub struct SampleObj {
///     id: u32,
/// }
///
/// /// `obj` again if its id is `hint`'s or there is no hint (typed twin of `bpf_doc_get`).
/// #[kfunc(acquire(obj))]
/// fn bpf_doc_get_typed(obj: &SampleObj, hint: Option<&SampleObj>) -> Option<ARef<SampleObj>> {
///     // Take the reference (the kernel's `ARef::from(&obj)` would `inc_ref`).
///     hint.is_none_or(|h| h.id == obj.id)
///         .then(|| unsafe { ARef::from_raw(core::ptr::NonNull::from(obj)) })
/// }
///
/// /// Sums the bytes of `buf` (typed twin of `bpf_doc_sum`; `buf` and `buf_len` in C).
/// #[kfunc(sleepable)]
/// fn bpf_doc_sum_typed(buf: &[u8]) -> u64 {
///     buf.iter().map(|&b| u64::from(b)).sum()
/// }
///
/// # fn main() {
/// assert_eq!(
///     __kfunc_flags_bpf_doc_get_typed,
///     [
///         kfunc_layout::KF_ACQUIRE | kfunc_layout::KF_RET_NULL,
///         kfunc_layout::KF_PARAM_ACQUIRE,
///         kfunc_layout::KF_PARAM_NULLABLE,
///         0, 0, 0,
///     ]
/// );
/// assert_eq!(
///     __kfunc_flags_bpf_doc_sum_typed,
///     [
///         kfunc_layout::KF_SLEEPABLE,
///         0,
///         kfunc_layout::KF_PARAM_SIZE | kfunc_layout::kf_arg_mem(0),
///         0, 0, 0,
///     ]
/// );
/// assert_eq!(bpf_doc_sum_typed(b"\x01\x02"), 3);
/// # }
/// ```
#[proc_macro_attribute]
pub fn kfunc(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::kfunc(attr.into(), item.into(), expand::nothing).into()
}

/// Host build of [`macro@kfunc`]: also registers the kfunc in `kfunc::KFUNCS`. Use it
/// through the `kfunc` crate (`use kfunc::kfunc;`), which re-exports it as `kfunc`.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn __kfunc_host(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::kfunc(attr.into(), item.into(), host::registration).into()
}

/// Emit a kfunc set in `.BTF_ids` (the extended set8 of DESIGN.md) and a unit struct of
/// the same name giving its address. Use it at item level (module scope), not inside a
/// function body (`global_asm!` is an item).
///
/// `kfunc_set!([pub] NAME = [f, path::to::g, ...]);` where every entry is a
/// [`macro@kfunc`] function. The entries' flags are read from their hidden
/// `__kfunc_flags_*` constants through `const` operands of `global_asm!`, so the set and the
/// records agree by construction; `btfids-post` fills the BTF ids and `cnt` after linking.
///
/// # Example
///
/// ```
/// use kfunc_macros::{kfunc, kfunc_set};
///
/// mod ops {
///     use kfunc_macros::kfunc;
///     /// Returns `x + 1`; `x` must be a known constant.
///     #[kfunc(constant(x))]
///     pub fn bpf_doc_inc(x: u64) -> u64 { x + 1 }
/// }
/// /// Does nothing, may sleep.
/// #[kfunc(sleepable)]
/// fn bpf_doc_nop() {}
///
/// kfunc_set!(pub DOC_SET = [ops::bpf_doc_inc, bpf_doc_nop]);
///
/// # fn main() {
/// // Size: header + 2 extended entries.
/// assert_eq!(
///     DOC_SET::SIZE,
///     kfunc_layout::SET8_HEADER_SIZE + 2 * kfunc_layout::SET8_ARGS_ENTRY_SIZE
/// );
/// // In a kernel module:
/// // bindings::btf_kfunc_id_set { owner, set: DOC_SET.as_mut_ptr(), filter: None }
/// let p: *mut u32 = DOC_SET.as_mut_ptr();
/// // The header flags word: KFUNCS | KFUNC_ARGS | version << 8.
/// assert_eq!(unsafe { p.add(1).read() }, kfunc_layout::BTF_SET8_ARGS_HEADER_FLAGS);
/// # assert_eq!(ops::bpf_doc_inc(1), 2);
/// # bpf_doc_nop();
/// # }
/// ```
#[proc_macro]
pub fn kfunc_set(input: TokenStream) -> TokenStream {
    let input: proc_macro2::TokenStream = parse_macro_input!(input as proc_macro2::TokenStream);
    entry::kfunc_set(input).into()
}

#[cfg(test)]
mod docs;
#[cfg(test)]
mod snapshots;
