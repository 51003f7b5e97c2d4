//! Host test: kfuncs covering every flag, read back from this test binary's ELF sections
//! (`.kfunc.meta` and `.BTF_ids`) and from the linkme slice, compared with expectations
//! written by hand from what each attribute says.

#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_void};
use kfunc::{kfunc, kfunc_set, KFUNCS};
use kfunc_layout::*;
use object::{Object, ObjectSection, ObjectSymbol};

/// Stand-in for the kernel's `bindings`.
mod bindings {
    #[repr(C)]
    pub struct task_struct {
        _p: [u8; 0],
    }
    pub type pid_t = i32;
    #[repr(C)]
    pub struct bpf_dynptr {
        _p: [u8; 16],
    }
    #[repr(C)]
    pub struct bpf_list_node {
        _p: [u8; 16],
    }
    #[repr(C)]
    pub struct bpf_prog_aux {
        _p: [u8; 0],
    }
}

/// The module's own object: 16 bytes.
#[repr(C)]
pub struct TestObj {
    refs: u64,
    data: u64,
}

/// Iterator state: 8 bytes.
#[repr(C)]
pub struct bpf_iter_test {
    pos: u64,
}

#[kfunc(acquire(obj), ret_null, nullable(hint))]
fn bpf_t_get(obj: *mut TestObj, hint: *const bindings::task_struct) -> *mut TestObj {
    let _ = hint;
    obj
}

#[kfunc(release(obj), rcu(other), sleepable, destructive)]
unsafe fn bpf_t_put(
    obj: *mut TestObj,
    other: *const bindings::task_struct,
    mode: core::ffi::c_long,
) {
    let _ = (obj, other, mode);
}

#[kfunc(acquire, rcu_protected, constant(k), ignore(aux))]
fn bpf_t_new(k: u64, aux: *mut c_void) -> *mut TestObj {
    let _ = (k, aux);
    core::ptr::null_mut()
}

#[kfunc(rcu_args, uninit(d), alloc(p), refcounted_kptr(r), map(m))]
fn bpf_t_misc(d: *mut bindings::bpf_dynptr, p: *mut c_void, r: *mut c_void, m: *mut c_void) -> i32 {
    let _ = (d, p, r, m);
    7
}

#[kfunc(nullable(buf), size(len, of = buf), str(name), const_size(n, of = out))]
fn bpf_t_mem(buf: *mut u8, len: u32, name: *const c_char, out: *mut c_void, n: usize) -> i64 {
    let _ = (buf, name, out, n);
    i64::from(len)
}

#[kfunc(arena_ret, arena_arg1, arena_arg2, fastcall, perfmon)]
fn bpf_t_arena(a: *mut c_void, b: *mut c_void) -> *mut c_void {
    let _ = b;
    a
}

#[kfunc(
    spinlock_safe,
    implicit_args,
    arena(p),
    nullable(p),
    const_map(m),
    irq_flag(flags),
    nonown_allowed(node)
)]
fn bpf_t_more(
    p: *mut c_void,
    m: *mut c_void,
    flags: *mut core::ffi::c_ulong,
    node: *mut bindings::bpf_list_node,
    aux: *mut bindings::bpf_prog_aux,
) -> i32 {
    let _ = (p, m, flags, node, aux);
    3
}

#[kfunc(iter_new, iter(it))]
fn bpf_iter_test_new(it: *mut bpf_iter_test, start: bool, pid: bindings::pid_t) -> i32 {
    let _ = (it, start, pid);
    0
}

#[kfunc(iter_next, iter(arg0))]
fn bpf_iter_test_next(it: *mut bpf_iter_test) -> *mut u32 {
    let _ = it;
    core::ptr::null_mut()
}

#[kfunc(iter_destroy, iter(it))]
fn bpf_iter_test_destroy(it: *mut bpf_iter_test) {
    let _ = it;
}

kfunc_set!(
    TEST_SET = [
        bpf_t_get,
        bpf_t_put,
        bpf_t_new,
        bpf_t_misc,
        bpf_t_mem,
        bpf_t_arena,
        bpf_t_more
    ]
);
kfunc_set!(ITER_SET = [bpf_iter_test_new, bpf_iter_test_next, bpf_iter_test_destroy]);

/// An expected pointer type descriptor.
fn ptr(name: &'static str, pointee: &'static str, tflags: u8, size: u32) -> MetaType<'static> {
    MetaType::new(name, pointee, TYPE_POINTER, tflags, size)
}

/// Every record, written by hand from the attributes above.
fn expected() -> Vec<MetaRecord<'static>> {
    let rec = |name, flags, arg_flags, ret, args| MetaRecord {
        name,
        flags,
        arg_flags,
        ret,
        args,
        size: 0,
    };
    vec![
        rec(
            "bpf_t_get",
            KF_ACQUIRE | KF_RET_NULL,
            [KF_PARAM_ACQUIRE, KF_PARAM_NULLABLE, 0, 0, 0],
            ptr("", "TestObj", TYPE_F_MODULE, 16),
            vec![
                ptr("obj", "TestObj", TYPE_F_MODULE, 16),
                ptr("hint", "task_struct", TYPE_F_CONST, 0),
            ],
        ),
        rec(
            "bpf_t_put",
            KF_RELEASE | KF_SLEEPABLE | KF_DESTRUCTIVE,
            [KF_PARAM_RELEASE, KF_PARAM_RCU, 0, 0, 0],
            MetaType::new("", "void", TYPE_VOID, 0, 0),
            vec![
                ptr("obj", "TestObj", TYPE_F_MODULE, 16),
                ptr("other", "task_struct", TYPE_F_CONST, 0),
                MetaType::new("mode", "long int", TYPE_SCALAR, TYPE_F_SIGNED, 8),
            ],
        ),
        rec(
            "bpf_t_new",
            KF_ACQUIRE | KF_RCU_PROTECTED,
            [KF_PARAM_CONST, KF_PARAM_IGNORE, 0, 0, 0],
            ptr("", "TestObj", TYPE_F_MODULE, 16),
            vec![
                MetaType::new("k", "u64", TYPE_SCALAR, 0, 8),
                ptr("aux", "void", 0, 0),
            ],
        ),
        rec(
            "bpf_t_misc",
            KF_RCU,
            [
                KF_PARAM_UNINIT,
                KF_PARAM_ALLOC,
                KF_PARAM_REFCOUNTED_KPTR,
                KF_PARAM_MAP,
                0,
            ],
            MetaType::new("", "s32", TYPE_SCALAR, TYPE_F_SIGNED, 4),
            vec![
                ptr("d", "bpf_dynptr", 0, 0),
                ptr("p", "void", 0, 0),
                ptr("r", "void", 0, 0),
                ptr("m", "void", 0, 0),
            ],
        ),
        rec(
            "bpf_t_mem",
            0,
            [
                KF_PARAM_NULLABLE,
                KF_PARAM_SIZE | kf_arg_mem(0),
                KF_PARAM_STR,
                0,
                KF_PARAM_CONST_SIZE | kf_arg_mem(3),
            ],
            MetaType::new("", "s64", TYPE_SCALAR, TYPE_F_SIGNED, 8),
            vec![
                ptr("buf", "u8", 0, 0),
                MetaType::new("len", "u32", TYPE_SCALAR, 0, 4),
                ptr("name", "char", TYPE_F_CONST, 0),
                ptr("out", "void", 0, 0),
                MetaType::new("n", "size_t", TYPE_SCALAR, 0, 8),
            ],
        ),
        rec(
            "bpf_t_arena",
            KF_ARENA_RET | KF_ARENA_ARG1 | KF_ARENA_ARG2 | KF_FASTCALL | KF_PERFMON,
            [0; 5],
            ptr("", "void", 0, 0),
            vec![ptr("a", "void", 0, 0), ptr("b", "void", 0, 0)],
        ),
        rec(
            "bpf_t_more",
            KF_SPINLOCK_SAFE | KF_IMPLICIT_ARGS,
            [
                KF_PARAM_ARENA | KF_PARAM_NULLABLE,
                KF_PARAM_CONST_MAP,
                KF_PARAM_IRQ_FLAG,
                KF_PARAM_NONOWN_ALLOWED,
                0,
            ],
            MetaType::new("", "s32", TYPE_SCALAR, TYPE_F_SIGNED, 4),
            vec![
                ptr("p", "void", 0, 0),
                ptr("m", "void", 0, 0),
                ptr("flags", "long unsigned int", 0, 0),
                ptr("node", "bpf_list_node", 0, 0),
                ptr("aux", "bpf_prog_aux", 0, 0),
            ],
        ),
        rec(
            "bpf_iter_test_new",
            KF_ITER_NEW,
            [KF_PARAM_ITER, 0, 0, 0, 0],
            MetaType::new("", "s32", TYPE_SCALAR, TYPE_F_SIGNED, 4),
            vec![
                ptr("it", "bpf_iter_test", TYPE_F_MODULE, 8),
                MetaType::new("start", "bool", TYPE_SCALAR, 0, 1),
                MetaType::new("pid", "pid_t", TYPE_SCALAR, TYPE_F_SIGNED, 4),
            ],
        ),
        rec(
            "bpf_iter_test_next",
            KF_ITER_NEXT,
            [KF_PARAM_ITER, 0, 0, 0, 0],
            ptr("", "u32", 0, 0),
            vec![ptr("it", "bpf_iter_test", TYPE_F_MODULE, 8)],
        ),
        rec(
            "bpf_iter_test_destroy",
            KF_ITER_DESTROY,
            [KF_PARAM_ITER, 0, 0, 0, 0],
            MetaType::new("", "void", TYPE_VOID, 0, 0),
            vec![ptr("it", "bpf_iter_test", TYPE_F_MODULE, 8)],
        ),
    ]
}

fn endian(f: &object::File<'_>) -> Endian {
    if f.is_little_endian() {
        Endian::Little
    } else {
        Endian::Big
    }
}

fn binary() -> Vec<u8> {
    let exe = std::env::current_exe().expect("current_exe");
    std::fs::read(&exe).unwrap_or_else(|e| panic!("read {}: {e}", exe.display()))
}

#[test]
fn the_expectations_cover_every_flag() {
    let all = expected();
    let funcs = all.iter().fold(0, |m, r| m | r.flags);
    let args = all.iter().flat_map(|r| r.arg_flags).fold(0, |m, a| m | a);
    for f in FUNC_FLAGS {
        assert_ne!(funcs & f.value, 0, "no kfunc here uses {}", f.c_name);
    }
    for f in ARG_FLAGS {
        assert_ne!(args & f.value, 0, "no kfunc here uses {}", f.c_name);
    }
}

#[test]
fn every_flag_round_trips_through_kfunc_meta() {
    // Keep the sets referenced so no linker drops `.BTF_ids`.
    assert!(!TEST_SET.as_ptr().is_null() && !ITER_SET.as_ptr().is_null());
    let data = binary();
    let file = object::File::parse(&*data).expect("parse test binary");
    let e = endian(&file);
    let sec = file
        .section_by_name(META_SECTION)
        .unwrap_or_else(|| panic!("no {META_SECTION} section in the test binary"));
    let bytes = sec.data().expect("section data");
    let got = MetaRecord::read_all(bytes, e).expect("decode records");
    for want in expected() {
        let found: Vec<&MetaRecord<'_>> = got.iter().filter(|r| r.name == want.name).collect();
        assert_eq!(
            found.len(),
            1,
            "{}: records found {}",
            want.name,
            found.len()
        );
        let r = found[0];
        assert_eq!(
            MetaRecord {
                size: 0,
                ..r.clone()
            },
            want,
            "record of {}",
            want.name
        );
        // The record bytes the macro emitted are exactly what `MetaRecord::write` encodes.
        let info = KFUNCS
            .iter()
            .find(|k| k.name == want.name)
            .expect("registered in KFUNCS");
        assert_eq!(
            info.record,
            &want.write(e)[..],
            "record bytes of {}",
            want.name
        );
        let mut flags = [want.flags; 6];
        flags[1..].copy_from_slice(&want.arg_flags);
        assert_eq!(info.flags, flags, "hidden flags const of {}", want.name);
        assert!(!info.addr.0.is_null());
    }
    assert_eq!(
        KFUNCS.len(),
        expected().len(),
        "every #[kfunc] registered once"
    );
}

#[test]
fn btf_ids_sets_carry_the_record_flags() {
    let data = binary();
    let file = object::File::parse(&*data).expect("parse test binary");
    let e = endian(&file);
    let ids = file.section_by_name(".BTF_ids").expect(".BTF_ids section");
    let ids_data = ids.data().expect(".BTF_ids data");
    let meta = file
        .section_by_name(META_SECTION)
        .expect("meta")
        .data()
        .expect("meta data");
    let records = MetaRecord::read_all(meta, e).expect("records");
    let syms: Vec<_> = file.symbols().collect();
    let sym = |name: &str| {
        let found: Vec<_> = syms.iter().filter(|s| s.name() == Ok(name)).collect();
        assert_eq!(found.len(), 1, "symbol {name} found {} times", found.len());
        found[0]
    };
    let sets: [(&str, &[&str], *const u8); 2] = [
        (
            "TEST_SET",
            &[
                "bpf_t_get",
                "bpf_t_put",
                "bpf_t_new",
                "bpf_t_misc",
                "bpf_t_mem",
                "bpf_t_arena",
                "bpf_t_more",
            ],
            TEST_SET.as_ptr(),
        ),
        (
            "ITER_SET",
            &[
                "bpf_iter_test_new",
                "bpf_iter_test_next",
                "bpf_iter_test_destroy",
            ],
            ITER_SET.as_ptr(),
        ),
    ];
    for (set, funcs, mem) in sets {
        let s = sym(&format!("__BTF_ID__kfunc_args__{set}"));
        assert_eq!(
            s.size() as usize,
            SET8_HEADER_SIZE + SET8_ARGS_ENTRY_SIZE * funcs.len(),
            "{set} size"
        );
        assert_eq!(s.kind(), object::SymbolKind::Data, "{set} is STT_OBJECT");
        assert!(s.is_local(), "{set} symbol is local");
        let label = sym(&format!("__kfunc_set_{set}"));
        assert_eq!(
            label.address(),
            s.address(),
            "label and set symbol coincide"
        );
        let off = (s.address() - ids.address()) as usize;
        let bytes = &ids_data[off..off + s.size() as usize];
        assert_eq!(
            e.u32(bytes, 0),
            Some(0),
            "{set} cnt is left for btfids-post"
        );
        let hdr = e.u32(bytes, 4).unwrap();
        assert_eq!(
            set8_is_extended(hdr),
            Ok(true),
            "{set} header flags {hdr:#x}"
        );
        // Left out, so that a kernel without extended sets refuses the set.
        assert_eq!(hdr & BTF_SET8_KFUNCS, 0);
        // What Rust code sees through `NAME.as_ptr()` is the same bytes.
        let in_mem = unsafe { std::slice::from_raw_parts(mem, bytes.len()) };
        assert_eq!(in_mem, bytes, "{set}: as_ptr() bytes differ from the file");
        for (i, f) in funcs.iter().enumerate() {
            let entry_off = SET8_HEADER_SIZE + SET8_ARGS_ENTRY_SIZE * i;
            let esym: Vec<_> = syms
                .iter()
                .filter(|x| {
                    x.name().is_ok_and(|n| {
                        n.strip_prefix(&format!("__BTF_ID__func__{f}__"))
                            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                    })
                })
                .collect();
            assert_eq!(esym.len(), 1, "entry symbol of {f}");
            assert_eq!(
                esym[0].address(),
                s.address() + entry_off as u64,
                "{f} entry position"
            );
            assert_eq!(esym[0].size(), 4, "{f} entry symbol size");
            assert!(esym[0].is_local());
            let entry = Set8ArgsEntry::read(&bytes[entry_off..entry_off + SET8_ARGS_ENTRY_SIZE], e)
                .unwrap();
            let rec = records.iter().find(|r| r.name == *f).expect("record");
            assert_eq!(entry.id, 0, "{f}: id is left for btfids-post");
            assert_eq!(entry.flags, rec.flags, "{f}: set flags vs record");
            assert_eq!(
                entry.arg_flags, rec.arg_flags,
                "{f}: set arg flags vs record"
            );
            let want = expected().into_iter().find(|r| r.name == *f).unwrap();
            assert_eq!(
                (entry.flags, entry.arg_flags),
                (want.flags, want.arg_flags),
                "{f}: vs expectation"
            );
        }
    }
}

#[test]
fn kfuncs_still_work_as_functions() {
    let mut o = TestObj { refs: 1, data: 2 };
    assert_eq!(bpf_t_get(&mut o, core::ptr::null()), &mut o as *mut TestObj);
    unsafe { bpf_t_put(&mut o, core::ptr::null(), 0) };
    assert_eq!(
        bpf_t_misc(
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            core::ptr::null_mut()
        ),
        7
    );
    assert_eq!(
        bpf_t_mem(
            core::ptr::null_mut(),
            5,
            core::ptr::null(),
            core::ptr::null_mut(),
            0
        ),
        5
    );
    assert!(bpf_t_new(0, core::ptr::null_mut()).is_null());
    let mut word = 0u64;
    let w = (&raw mut word).cast::<c_void>();
    assert_eq!(bpf_t_arena(w, core::ptr::null_mut()), w);
    assert_eq!(
        bpf_t_more(
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            core::ptr::null_mut()
        ),
        3
    );
    let mut it = bpf_iter_test { pos: 0 };
    assert_eq!(bpf_iter_test_new(&mut it, true, 1), 0);
    assert!(bpf_iter_test_next(&mut it).is_null());
    bpf_iter_test_destroy(&mut it);
    assert_eq!((o.refs, o.data, it.pos), (1, 2, 0));
}
