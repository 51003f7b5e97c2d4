//! The Linux 7.3 flow (`scripts/gen-btf.sh`): `btfids-post --btf OBJ.BTF.1 [-b vmlinux]
//! OBJ` writes `OBJ.BTF` and `OBJ.BTF_ids` and leaves OBJ alone; `--patch_btfids`.
//!
//! Differential against the stock 7.3 resolve_btfids (found by
//! `common::stock_resolve_btfids_73`; tests that need it print `SKIPPED` without it) on
//! synthetic modules and vmlinux BTF (both byte orders, ELF64 and ELF32) that exercise every
//! btf2btf phase, and on BTF pahole writes for a C file (when clang and pahole exist);
//! extended sets against the patched 7.3 resolve_btfids (`common::patched_resolve_btfids_73`);
//! then Rust kfuncs (BTF generated and tagged), errors, `--fatal_warnings`,
//! `--distill_base` (also compared with the stock tool) and `--patch_btfids`.

mod common;

use btfids_post::btf::*;
use common::*;
use kfunc_layout::*;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Type ids of the base ("vmlinux") part of the fixture.
struct BaseIds {
    int: u32,
    u32_: u32,
    u64_: u32,
    task_ptr: u32,
    aux_ptr: u32,
    meta_ptr: u32,
    void_ptr: u32,
    task_proto: u32,
}

fn member(b: &mut BtfBuilder, name: &str, ty: u32, bit_off: u32) -> [u32; 3] {
    [b.add_str(name), ty, bit_off]
}

/// vmlinux types: scalars, task_struct, the two implicit-argument structs, a kfunc with
/// its `bpf_kfunc` tag (as 7.3's vmlinux has), a union.
fn add_base_types(b: &mut BtfBuilder) -> BaseIds {
    let (int, _uint, u32_) = add_int_u32(b);
    let n = b.add_str("long long unsigned int");
    let ull = b.add_type(n, KIND_INT, 0, 8, &[64]);
    let n = b.add_str("u64");
    let u64_ = b.add_type(n, KIND_TYPEDEF, 0, ull, &[]);
    let n = b.add_str("task_struct");
    let m = member(b, "pid", int, 0);
    let task = b.add_type(n, KIND_STRUCT, 1, 8, &m);
    let task_ptr = b.add_type(0, KIND_PTR, 0, task, &[]);
    let n = b.add_str("bpf_prog_aux");
    let m = member(b, "id", int, 0);
    let aux = b.add_type(n, KIND_STRUCT, 1, 4, &m);
    let aux_ptr = b.add_type(0, KIND_PTR, 0, aux, &[]);
    let n = b.add_str("btf_struct_meta");
    let m = member(b, "size", u32_, 0);
    let meta = b.add_type(n, KIND_STRUCT, 1, 4, &m);
    let meta_ptr = b.add_type(0, KIND_PTR, 0, meta, &[]);
    let void_ptr = b.add_type(0, KIND_PTR, 0, 0, &[]);
    let t = b.add_str("t");
    let task_proto = b.add_type(0, KIND_FUNC_PROTO, 1, int, &[t, task_ptr]);
    let n = b.add_str("bpf_base_kfunc");
    let f = b.add_type(n, KIND_FUNC, FUNC_GLOBAL, task_proto, &[]);
    let n = b.add_str("bpf_kfunc");
    b.add_type(n, KIND_DECL_TAG, 0, f, &[u32::MAX]);
    let c = b.add_type(0, KIND_CONST, 0, task, &[]);
    b.add_type(0, KIND_PTR, 0, c, &[]);
    let n = b.add_str("u_thing");
    let m = member(b, "a", int, 0);
    b.add_type(n, KIND_UNION, 1, 4, &m);
    BaseIds {
        int,
        u32_,
        u64_,
        task_ptr,
        aux_ptr,
        meta_ptr,
        void_ptr,
        task_proto,
    }
}

fn func(b: &mut BtfBuilder, name: &str, proto: u32) -> u32 {
    let n = b.add_str(name);
    b.add_type(n, KIND_FUNC, FUNC_GLOBAL, proto, &[])
}

fn proto(b: &mut BtfBuilder, ret: u32, params: &[(&str, u32)]) -> u32 {
    let mut w = Vec::new();
    for (n, t) in params {
        w.push(b.add_str(n));
        w.push(*t);
    }
    b.add_type(0, KIND_FUNC_PROTO, params.len() as u32, ret, &w)
}

/// The module's types: C kfuncs for every btf2btf case (plain, fastcall, implicit args
/// with and without an `_impl` twin, arena by name and by flag, a shared prototype), decl
/// tags to copy, and a prototype identical to the one implicit args produce.
fn add_module_types(b: &mut BtfBuilder, base: &BaseIds) {
    let n = b.add_str("mod_obj");
    let m1 = member(b, "cnt", base.int, 0);
    let m2 = member(b, "flags", base.u32_, 32);
    let obj = b.add_type(n, KIND_STRUCT, 2, 8, &[m1, m2].concat());
    let obj_ptr = b.add_type(0, KIND_PTR, 0, obj, &[]);
    let p = proto(b, base.int, &[("o", obj_ptr), ("n", base.u32_)]);
    func(b, "k_plain", p);
    let p = proto(b, 0, &[("x", base.u64_)]);
    func(b, "k_fast", p);
    let p = proto(b, base.int, &[("a", base.int), ("aux", base.aux_ptr)]);
    let k_implicit = func(b, "k_implicit", p);
    let p = proto(
        b,
        base.int,
        &[("o", obj_ptr), ("meta", base.meta_ptr), ("after", base.int)],
    );
    func(b, "k_legacy", p);
    func(b, "k_legacy_impl", p);
    let p = proto(
        b,
        base.void_ptr,
        &[("p__arena", base.void_ptr), ("q", base.void_ptr)],
    );
    func(b, "k_arena", p);
    func(b, "k_arena2", p);
    let n = b.add_str("user_tag");
    b.add_type(n, KIND_DECL_TAG, 0, k_implicit, &[u32::MAX]);
    let n = b.add_str("arg_attr");
    b.add_type_info(n, make_info(KIND_DECL_TAG, 0, true), k_implicit, &[0]);
    func(b, "mod_helper", base.task_proto);
    let p = proto(b, base.int, &[("a", base.int)]);
    func(b, "k_other", p);
    let _ = base.task_ptr;
}

/// Raw base BTF, and split BTF of the module on it.
fn split_fixture(e: Endian) -> (Vec<u8>, Vec<u8>) {
    let mut b = BtfBuilder::new(e, None);
    let ids = add_base_types(&mut b);
    let base = b.finish();
    let parsed = Btf::parse(&base, None).unwrap();
    let mut m = BtfBuilder::new(e, Some(&parsed));
    add_module_types(&mut m, &ids);
    let split = m.finish();
    (base, split)
}

/// One BTF with the base and the module types (vmlinux built with everything).
fn vmlinux_fixture(e: Endian) -> Vec<u8> {
    let mut b = BtfBuilder::new(e, None);
    let ids = add_base_types(&mut b);
    add_module_types(&mut b, &ids);
    b.finish()
}

/// The `.BTF_ids` of the fixture: ids of every kind (one unresolved), kfunc sets (a kfunc
/// in two sets, a kfunc whose FUNC is in the base, an entry without symbol), a set8 that is
/// not a kfunc set, a plain set.
fn fixture_ids(e: Endian, tweak: impl FnOnce(&mut Ids)) -> Ids {
    let mut ids = Ids::new(e);
    ids.id("struct", "task_struct");
    ids.id("struct", "mod_obj");
    ids.id("union", "u_thing");
    ids.id("typedef", "u32");
    ids.id("func", "mod_helper");
    ids.id("struct", "nothing_here");
    ids.set8(
        "kset_a",
        BTF_SET8_KFUNCS,
        &[
            ("k_plain", KF_ACQUIRE | KF_RET_NULL, [0; 5]),
            ("k_fast", KF_FASTCALL, [0; 5]),
            ("k_implicit", KF_IMPLICIT_ARGS | KF_FASTCALL, [0; 5]),
            ("k_arena", KF_ARENA_RET | KF_ARENA_ARG2, [0; 5]),
            ("bpf_base_kfunc", 0, [0; 5]),
        ],
    );
    ids.set8(
        "kset_b",
        BTF_SET8_KFUNCS,
        &[
            ("k_legacy", KF_IMPLICIT_ARGS, [0; 5]),
            ("k_arena2", KF_ARENA_RET | KF_ARENA_ARG2, [0; 5]),
            ("k_plain", KF_ACQUIRE | KF_RET_NULL, [0; 5]),
        ],
    );
    // One more entry in kset_b that no symbol covers.
    ids.word(0);
    ids.word(KF_SLEEPABLE);
    let set = ids
        .syms
        .iter_mut()
        .find(|s| s.name == "__BTF_ID__set8__kset_b")
        .unwrap();
    set.size += 8;
    ids.set8("plain8", 0, &[("mod_helper", KF_RCU, [0; 5])]);
    ids.set("idset", &["k_fast", "mod_helper"]);
    tweak(&mut ids);
    ids
}

/// The object: `.BTF_ids` and a symbol table (its BTF is in the detached file).
fn object(is64: bool, e: Endian, ids: Ids) -> Vec<u8> {
    let secs = vec![sec(".BTF_ids", ids.data)];
    build(is64, e, &secs, &ids.syms)
}

fn stock_or_skip(test: &str) -> Option<PathBuf> {
    let s = stock_resolve_btfids_73();
    if s.is_none() {
        eprintln!(
            "SKIPPED {test}: no stock Linux 7.3 resolve_btfids (set RESOLVE_BTFIDS_73, or build \
             ~/k73-tools/tools/bpf/resolve_btfids from the pristine 7.3 tree)"
        );
    }
    s
}

/// The kfuncs and their decl tags in a BTF (with its base): (tag, FUNC name, component).
fn decl_tags(btf: &Btf<'_>) -> Vec<(String, String, i32)> {
    btf.own_types_iter()
        .filter(|t| t.kind() == KIND_DECL_TAG)
        .map(|t| {
            let f = btf.ty(t.size_type).unwrap();
            (btf.name(t.name_off), btf.name(f.name_off), t.word(0) as i32)
        })
        .collect()
}

fn find_func<'a>(btf: &Btf<'a>, name: &str) -> Type<'a> {
    btf.all_types()
        .find(|t| t.kind() == KIND_FUNC && btf.name(t.name_off) == name)
        .unwrap_or_else(|| panic!("no FUNC {name}"))
}

/// The own types of `btf` are sorted by name (`strcmp`), as finalize_btf sorts them.
fn assert_sorted(btf: &Btf<'_>) {
    let names: Vec<Vec<u8>> = btf
        .own_types_iter()
        .map(|t| btf.str_at(t.name_off).unwrap().to_vec())
        .collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "not sorted by name");
}

#[test]
fn module_matches_stock_7_3() {
    let Some(stock) = stock_or_skip("module_matches_stock_7_3") else {
        return;
    };
    let dir = tmpdir("gen-btf-mod");
    for e in [Endian::Little, Endian::Big] {
        let (base, split) = split_fixture(e);
        let basep = write(&dir, &format!("vmlinux-{e:?}.btf"), &base);
        let btfp = write(&dir, &format!("obj-{e:?}.BTF.1"), &split);
        for is64 in [true, false] {
            let tag = format!("{e:?}-{}", if is64 { 64 } else { 32 });
            let obj = object(is64, e, fixture_ids(e, |_| {}));
            let args = [os("--btf"), os(&btfp), os("-b"), os(&basep)];
            let out = same_as_stock(&stock, &args, &dir, &tag, &obj);
            assert!(out.btf_base.is_none());
            // Out-of-tree modules (Kbuild passes --distill_base): OBJ.BTF.base too.
            let dargs = [&[os("--distill_base")], &args[..]].concat();
            let d = same_as_stock(&stock, &dargs, &dir, &format!("{tag}-distill"), &obj);
            assert!(d.btf_base.is_some());
            // What the stock tool and btfids-post agree on is what 7.3's btf2btf means.
            let b = Btf::parse(&base, None).unwrap();
            let fin = out.btf.unwrap();
            let btf = Btf::parse(&fin, Some(&b)).unwrap();
            assert_sorted(&btf);
            let tags = decl_tags(&btf);
            for k in [
                "k_plain",
                "k_fast",
                "k_implicit",
                "k_arena",
                "k_legacy",
                "k_arena2",
            ] {
                assert!(
                    tags.contains(&("bpf_kfunc".into(), k.into(), -1)),
                    "{k}: {tags:?}"
                );
            }
            assert!(tags.contains(&("bpf_fastcall".into(), "k_implicit_impl".into(), -1)));
            assert!(tags.contains(&("arg_attr".into(), "k_implicit_impl".into(), 0)));
            // k_implicit lost its bpf_prog_aux argument; k_legacy kept only `o`.
            let p = btf.ty(find_func(&btf, "k_implicit").size_type).unwrap();
            assert_eq!(p.vlen(), 1);
            let p = btf.ty(find_func(&btf, "k_legacy").size_type).unwrap();
            assert_eq!(p.vlen(), 1);
        }
    }
}

#[test]
fn vmlinux_matches_stock_7_3() {
    let Some(stock) = stock_or_skip("vmlinux_matches_stock_7_3") else {
        return;
    };
    let dir = tmpdir("gen-btf-vmlinux");
    for e in [Endian::Little, Endian::Big] {
        let btfp = write(&dir, &format!("vmlinux-{e:?}.BTF.1"), &vmlinux_fixture(e));
        for is64 in [true, false] {
            let tag = format!("{e:?}-{}", if is64 { 64 } else { 32 });
            let obj = object(is64, e, fixture_ids(e, |_| {}));
            same_as_stock(&stock, &[os("--btf"), os(&btfp)], &dir, &tag, &obj);
        }
    }
    // No .BTF_ids: only OBJ.BTF is written (by both).
    let e = Endian::Little;
    let btfp = write(&dir, "plain.BTF.1", &vmlinux_fixture(e));
    let obj = build(true, e, &[sec(".data", vec![0; 8])], &[]);
    let out = same_as_stock(&stock, &[os("--btf"), os(&btfp)], &dir, "no-ids", &obj);
    assert!(out.btf_ids.is_none());
}

/// Base types of the dedup fixture: a self-referencing `struct node`, its pointer and
/// typedef, a struct of two such pointers, a named and an anonymous enum, an array.
struct DedupBase {
    int: u32,
    long: u32,
    /// `struct opaque;` (a FWD) and the pointer to it.
    opaque_fwd_ptr: u32,
}

fn add_dedup_base(b: &mut BtfBuilder) -> DedupBase {
    let n = b.add_str("int");
    let int = b.add_type(n, KIND_INT, 0, 4, &[(1 << 24) | 32]);
    let n = b.add_str("long int");
    let long = b.add_type(n, KIND_INT, 0, 8, &[(1 << 24) | 64]);
    add_node_graph(b, int);
    let e = enum_type(b, "e_mode", &[("MODE_A", 0), ("MODE_B", 1)]);
    let _ = e;
    enum_type(b, "", &[("ANON_X", 1)]);
    let n = b.add_str("__ARRAY_SIZE_TYPE__");
    let idx = b.add_type(n, KIND_INT, 0, 4, &[32]);
    b.add_type(0, KIND_ARRAY, 0, 0, &[int, idx, 4]);
    // A struct only declared here (its definition is in the module), used by a struct.
    let n = b.add_str("opaque");
    let fwd = b.add_type(n, KIND_FWD, 0, 0, &[]);
    let opaque_fwd_ptr = b.add_type(0, KIND_PTR, 0, fwd, &[]);
    let n = b.add_str("holder_b");
    let m = member(b, "p", opaque_fwd_ptr, 0);
    b.add_type(n, KIND_STRUCT, 1, 8, &m);
    DedupBase {
        int,
        long,
        opaque_fwd_ptr,
    }
}

/// `struct node { int v; struct node *next; }`, its pointer, `typedef node_t`, `struct
/// pair { struct node *a, *b; }`: returns the struct's id.
fn add_node_graph(b: &mut BtfBuilder, int: u32) -> u32 {
    let n = b.add_str("node");
    let node = b.add_type_count();
    let ptr = node + 1;
    let m = [member(b, "v", int, 0), member(b, "next", ptr, 64)].concat();
    b.add_type(n, KIND_STRUCT, 2, 16, &m);
    b.add_type(0, KIND_PTR, 0, node, &[]);
    let n = b.add_str("node_t");
    b.add_type(n, KIND_TYPEDEF, 0, node, &[]);
    let n = b.add_str("pair");
    let m = [member(b, "a", ptr, 0), member(b, "b", ptr, 64)].concat();
    b.add_type(n, KIND_STRUCT, 2, 16, &m);
    node
}

fn enum_type(b: &mut BtfBuilder, name: &str, vals: &[(&str, u32)]) -> u32 {
    let n = if name.is_empty() { 0 } else { b.add_str(name) };
    let mut w = Vec::new();
    for (vn, v) in vals {
        w.push(b.add_str(vn));
        w.push(*v);
    }
    b.add_type(n, KIND_ENUM, vals.len() as u32, 4, &w)
}

/// `struct mod_a { int x; struct mod_b *b; }` and `struct mod_b { struct mod_a *a; long
/// y; }` (a cycle through two structs): returns mod_a's id.
fn add_mod_graph(b: &mut BtfBuilder, int: u32, long: u32) -> u32 {
    let a = b.add_type_count();
    let (a_ptr, bb, b_ptr) = (a + 1, a + 2, a + 3);
    let n = b.add_str("mod_a");
    let m = [member(b, "x", int, 0), member(b, "b", b_ptr, 64)].concat();
    b.add_type(n, KIND_STRUCT, 2, 16, &m);
    b.add_type(0, KIND_PTR, 0, a, &[]);
    let n = b.add_str("mod_b");
    let m = [member(b, "a", a_ptr, 0), member(b, "y", long, 64)].concat();
    b.add_type(n, KIND_STRUCT, 2, 16, &m);
    b.add_type(0, KIND_PTR, 0, bb, &[]);
    a
}

/// What pahole leaves when it did not deduplicate (pahole 1.24's module BTF of
/// `udp_tunnel.ko` kept such copies that libbpf's `btf__dedup` merges): a copy of the
/// base's `node` graph (cycle included), two copies of the module's own `mod_a`/`mod_b`
/// cycle, forward declarations of `mod_a` (resolved by name) and of the enum `e_mode`
/// (resolved to the full enum), a copy of the anonymous enum, a struct using the copies,
/// and a kfunc taking them.
fn add_dedup_module(b: &mut BtfBuilder, base: &DedupBase) {
    let node2 = add_node_graph(b, base.int);
    let a1 = add_mod_graph(b, base.int, base.long);
    let a2 = add_mod_graph(b, base.int, base.long);
    let n = b.add_str("mod_a");
    let fwd = b.add_type(n, KIND_FWD, 0, 0, &[]);
    let fwd_ptr = b.add_type(0, KIND_PTR, 0, fwd, &[]);
    let n = b.add_str("e_mode");
    let e_fwd = b.add_type(n, KIND_ENUM, 0, 4, &[]);
    let anon = enum_type(b, "", &[("ANON_X", 1)]);
    let n = b.add_str("mod_holder");
    let m = [
        member(b, "n", node2 + 1, 0),
        member(b, "a", a2 + 1, 64),
        member(b, "f", fwd_ptr, 128),
        member(b, "m", e_fwd, 192),
        member(b, "x", anon, 224),
    ]
    .concat();
    let holder = b.add_type(n, KIND_STRUCT, 5, 32, &m);
    let holder_ptr = b.add_type(0, KIND_PTR, 0, holder, &[]);
    let p = proto(
        b,
        base.int,
        &[("h", holder_ptr), ("a", a1 + 1), ("t", node2 + 2)],
    );
    func(b, "k_mod", p);
    let p = proto(b, base.int, &[("a", fwd_ptr)]);
    func(b, "k_fwd", p);
    // The module defines the struct the base only declares, and has its own copy of the
    // base struct using it: equivalent but for the base FWD (libbpf's
    // hypot_adjust_canon: not merged, the base FWD resolved to the module's struct), and a
    // pointer to the base FWD (then one to the module's struct).
    let n = b.add_str("opaque");
    let m = member(b, "x", base.int, 0);
    let opaque = b.add_type(n, KIND_STRUCT, 1, 4, &m);
    let opaque_ptr = b.add_type(0, KIND_PTR, 0, opaque, &[]);
    let n = b.add_str("holder_b");
    let m = member(b, "p", opaque_ptr, 0);
    let hb = b.add_type(n, KIND_STRUCT, 1, 8, &m);
    let hb_ptr = b.add_type(0, KIND_PTR, 0, hb, &[]);
    let fwd_of_base = b.add_type(0, KIND_PTR, 0, base.opaque_fwd_ptr - 1, &[]);
    let p = proto(
        b,
        base.int,
        &[
            ("h", hb_ptr),
            ("o", fwd_of_base),
            ("q", base.opaque_fwd_ptr),
        ],
    );
    func(b, "k_opaque", p);
}

fn dedup_ids(e: Endian) -> Ids {
    let mut ids = Ids::new(e);
    ids.id("struct", "mod_a");
    ids.id("struct", "node");
    ids.id("struct", "mod_holder");
    ids.id("typedef", "node_t");
    ids.set8(
        "kset_dedup",
        BTF_SET8_KFUNCS,
        &[
            ("k_mod", KF_ACQUIRE, [0; 5]),
            ("k_fwd", 0, [0; 5]),
            ("k_opaque", 0, [0; 5]),
        ],
    );
    ids
}

/// The types named `name` among the own types of `btf`.
fn own_named(btf: &Btf<'_>, name: &str) -> usize {
    btf.own_types_iter()
        .filter(|t| btf.name(t.name_off) == name)
        .count()
}

/// libbpf's struct/union type graph deduplication (`btf_dedup_struct_types`,
/// `btf_dedup_is_equiv`, FWD and enum forward resolution), which pahole output that was not
/// deduplicated needs: a module whose split BTF repeats a base struct graph and holds two
/// identical graphs of its own (plain and `--distill_base`), and the same types as one
/// vmlinux BTF; both byte orders, both ELF classes, against the stock 7.3 tool.
#[test]
fn struct_graph_duplicates_dedup_like_stock_7_3() {
    let Some(stock) = stock_or_skip("struct_graph_duplicates_dedup_like_stock_7_3") else {
        return;
    };
    let dir = tmpdir("gen-btf-dedup");
    for e in [Endian::Little, Endian::Big] {
        let mut b = BtfBuilder::new(e, None);
        let ids = add_dedup_base(&mut b);
        let base = b.finish();
        let parsed = Btf::parse(&base, None).unwrap();
        let mut m = BtfBuilder::new(e, Some(&parsed));
        add_dedup_module(&mut m, &ids);
        let split = m.finish();
        let mut v = BtfBuilder::new(e, None);
        let vids = add_dedup_base(&mut v);
        add_dedup_module(&mut v, &vids);
        let vmlinux = v.finish();
        let basep = write(&dir, &format!("base-{e:?}.btf"), &base);
        let splitp = write(&dir, &format!("mod-{e:?}.BTF.1"), &split);
        let vmp = write(&dir, &format!("vmlinux-{e:?}.BTF.1"), &vmlinux);
        for is64 in [true, false] {
            let tag = format!("dedup-{e:?}-{}", if is64 { 64 } else { 32 });
            let obj = object(is64, e, dedup_ids(e));
            let args = [os("--btf"), os(&splitp), os("-b"), os(&basep)];
            let out = same_as_stock(&stock, &args, &dir, &format!("{tag}-mod"), &obj);
            let dargs = [&[os("--distill_base")], &args[..]].concat();
            same_as_stock(&stock, &dargs, &dir, &format!("{tag}-distill"), &obj);
            let vm = same_as_stock(&stock, &[os("--btf"), os(&vmp)], &dir, &tag, &obj);
            // What both agree on: every copy merged.
            let fin = out.btf.unwrap();
            let btf = Btf::parse(&fin, Some(&parsed)).unwrap();
            assert_eq!(own_named(&btf, "node"), 0, "{tag}: the node copy stays");
            assert_eq!(own_named(&btf, "node_t"), 0, "{tag}: the node_t copy stays");
            assert_eq!(own_named(&btf, "mod_a"), 1, "{tag}: mod_a copies");
            assert_eq!(own_named(&btf, "mod_b"), 1, "{tag}: mod_b copies");
            assert_eq!(own_named(&btf, "e_mode"), 0, "{tag}: the enum fwd stays");
            // Equivalent but for the base's FWD: kept (hypot_adjust_canon).
            assert_eq!(own_named(&btf, "holder_b"), 1, "{tag}: holder_b");
            assert_eq!(own_named(&btf, "opaque"), 1, "{tag}: opaque");
            let fin = vm.btf.unwrap();
            let btf = Btf::parse(&fin, None).unwrap();
            for (name, n) in [("node", 1), ("node_t", 1), ("mod_a", 1), ("e_mode", 1)] {
                assert_eq!(own_named(&btf, name), n, "{tag}: vmlinux {name}");
            }
        }
    }
}

/// The fixture's kfuncs in extended sets (this project's 28-byte entries, patch 0001's
/// macros): every btf2btf case (fastcall, implicit args with and without `_impl` twin,
/// arena by flag, with `base_kfunc` a FUNC only in the base), and `k_plain` in a legacy
/// set too, with the same `KF_*` flags and per-argument flags that are ignored by btf2btf.
fn ext_fixture_ids(e: Endian, base_kfunc: bool) -> Ids {
    let mut xset_a = vec![
        (
            "k_plain",
            KF_ACQUIRE | KF_RET_NULL,
            [KF_PARAM_ACQUIRE, 0, 0, 0, 0],
        ),
        ("k_fast", KF_FASTCALL, [0; 5]),
        (
            "k_implicit",
            KF_IMPLICIT_ARGS | KF_FASTCALL,
            [KF_PARAM_CONST, 0, 0, 0, 0],
        ),
        (
            "k_arena",
            KF_ARENA_RET | KF_ARENA_ARG2,
            [0, KF_PARAM_ARENA, 0, 0, 0],
        ),
    ];
    if base_kfunc {
        xset_a.push(("bpf_base_kfunc", 0, [KF_PARAM_NULLABLE, 0, 0, 0, 0]));
    }
    let mut ids = Ids::new(e);
    ids.id("struct", "mod_obj");
    ids.id("struct", "nothing_here");
    ids.set8("xset_a", BTF_SET8_ARGS_HEADER_FLAGS, &xset_a);
    ids.set8(
        "xset_b",
        BTF_SET8_ARGS_HEADER_FLAGS,
        &[
            ("k_legacy", KF_IMPLICIT_ARGS, [KF_PARAM_RELEASE, 0, 0, 0, 0]),
            ("k_arena2", KF_ARENA_RET | KF_ARENA_ARG2, [0; 5]),
        ],
    );
    ids.set8(
        "lset",
        BTF_SET8_KFUNCS,
        &[("k_plain", KF_ACQUIRE | KF_RET_NULL, [0; 5])],
    );
    ids
}

/// btf2btf reads the `KF_*` flags of extended entries at their 28-byte stride: the
/// patched 7.3 resolve_btfids (patch 0002) and btfids-post give the same OBJ.BTF,
/// OBJ.BTF_ids (and OBJ.BTF.base) for a module (plain and `--distill_base`) and a vmlinux,
/// in both byte orders and ELF classes, with the decl tags and prototypes the flags ask for.
///
/// One deliberate difference: with `--distill_base`, an extended-set entry naming a FUNC
/// of the base (distilled away: no FUNC left to resolve it to) is refused by btfids-post,
/// while the patched tool warns and leaves id 0 (which the patched kernel's registration
/// refuses at load time); without it they agree.
#[test]
fn extended_sets_btf2btf_match_the_patched_resolve_btfids() {
    let stock = match patched_resolve_btfids_73() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("SKIPPED extended_sets_btf2btf_match_the_patched_resolve_btfids: {why}");
            return;
        }
    };
    let dir = tmpdir("gen-btf-ext");
    for e in [Endian::Little, Endian::Big] {
        let (base, split) = split_fixture(e);
        let basep = write(&dir, &format!("vmlinux-{e:?}.btf"), &base);
        let btfp = write(&dir, &format!("obj-{e:?}.BTF.1"), &split);
        let vmp = write(&dir, &format!("vm-{e:?}.BTF.1"), &vmlinux_fixture(e));
        for is64 in [true, false] {
            let tag = format!("{e:?}-{}", if is64 { 64 } else { 32 });
            let obj = object(is64, e, ext_fixture_ids(e, true));
            let args = [os("--btf"), os(&btfp), os("-b"), os(&basep)];
            let out = same_as_stock(&stock, &args, &dir, &tag, &obj);
            let dargs = [&[os("--distill_base")], &args[..]].concat();
            let dtag = format!("{tag}-distill-base-kfunc");
            let s = run_tool_status(&stock, &dargs, &dir, &format!("{dtag}-s"), "obj.ko", &obj);
            let p = run_tool_status(&bin(), &dargs, &dir, &format!("{dtag}-p"), "obj.ko", &obj);
            assert!(
                s.out.ok
                    && s.stderr
                        .contains("WARN: resolve_btfids: unresolved symbol bpf_base_kfunc"),
                "{dtag}: {}",
                s.stderr
            );
            let needle =
                "set 'xset_a': kfunc bpf_base_kfunc: no .kfunc.meta record and no BTF FUNC";
            assert!(
                !p.out.ok && p.stderr.contains(needle),
                "{dtag}: {}",
                p.stderr
            );
            assert_eq!(
                files_in(&p.dir),
                ["obj.ko"],
                "{dtag}: btfids-post wrote files"
            );
            let obj_d = object(is64, e, ext_fixture_ids(e, false));
            let d = same_as_stock(&stock, &dargs, &dir, &format!("{tag}-distill"), &obj_d);
            assert!(d.btf_base.is_some());
            let v = same_as_stock(
                &stock,
                &[os("--btf"), os(&vmp)],
                &dir,
                &format!("{tag}-vm"),
                &obj,
            );
            assert!(v.btf_ids.is_some());
            let b = Btf::parse(&base, None).unwrap();
            let fin = out.btf.unwrap();
            let btf = Btf::parse(&fin, Some(&b)).unwrap();
            let tags = decl_tags(&btf);
            for k in [
                "k_plain",
                "k_fast",
                "k_implicit",
                "k_arena",
                "k_legacy",
                "k_arena2",
            ] {
                assert!(
                    tags.contains(&("bpf_kfunc".into(), k.into(), -1)),
                    "{tag} {k}: {tags:?}"
                );
            }
            assert!(tags.contains(&("bpf_fastcall".into(), "k_fast".into(), -1)));
            assert!(tags.contains(&("bpf_fastcall".into(), "k_implicit_impl".into(), -1)));
            let p = btf.ty(find_func(&btf, "k_implicit").size_type).unwrap();
            assert_eq!(p.vlen(), 1, "{tag}: k_implicit keeps its implicit argument");
            let p = btf.ty(find_func(&btf, "k_legacy").size_type).unwrap();
            assert_eq!(p.vlen(), 1, "{tag}: k_legacy keeps its implicit argument");
        }
    }
}

/// clang and pahole, when both exist.
fn c_toolchain() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| {
        names.iter().find_map(|n| {
            Command::new(n)
                .arg("--version")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|_| PathBuf::from(n))
        })
    };
    Some((find(&["clang", "clang-19"])?, find(&["pahole"])?))
}

fn fixture_c(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gen_btf")
        .join(name)
}

/// `clang -g -O2 -c SRC -o OUT`.
fn cc(clang: &Path, src: &Path, out: &Path) {
    let o = Command::new(clang)
        .args(["-g", "-O2", "-c"])
        .arg(src)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `pahole -J --btf_gen_floats [--btf_base BASE] --btf_encode_detached=OUT OBJ`, as
/// gen-btf.sh runs it (pahole 1.24 flags of scripts/Makefile.btf, without -j).
fn pahole(pahole: &Path, obj: &Path, base: Option<&Path>, out: &Path) {
    let mut c = Command::new(pahole);
    c.args(["-J", "--btf_gen_floats"]);
    if let Some(b) = base {
        c.arg(format!("--btf_base={}", b.display()));
    }
    let o = c
        .arg(format!("--btf_encode_detached={}", out.display()))
        .arg(obj)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "pahole: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn pahole_btf_matches_stock_7_3() {
    let Some(stock) = stock_or_skip("pahole_btf_matches_stock_7_3") else {
        return;
    };
    let Some((clang, pah)) = c_toolchain() else {
        eprintln!("SKIPPED pahole_btf_matches_stock_7_3: clang or pahole not found");
        return;
    };
    let dir = tmpdir("gen-btf-pahole");
    let kobj = dir.join("kfuncs.o");
    cc(&clang, &fixture_c("kfuncs.c"), &kobj);
    let obj = std::fs::read(&kobj).unwrap();
    // vmlinux: the object's own BTF, no base.
    let btf1 = dir.join("kfuncs.BTF.1");
    pahole(&pah, &kobj, None, &btf1);
    same_as_stock(&stock, &[os("--btf"), os(&btf1)], &dir, "vmlinux", &obj);
    // A module: split BTF on a "vmlinux" that has some of its types.
    let bobj = dir.join("base.o");
    cc(&clang, &fixture_c("base.c"), &bobj);
    let base = dir.join("base.BTF");
    pahole(&pah, &bobj, None, &base);
    let split = dir.join("kfuncs.split.BTF.1");
    pahole(&pah, &kobj, Some(&base), &split);
    let args = [os("--btf"), os(&split), os("-b"), os(&base)];
    same_as_stock(&stock, &args, &dir, "module", &obj);
    let dargs = [
        os("--distill_base"),
        os("--btf"),
        os(&split),
        os("-b"),
        os(&base),
    ];
    same_as_stock(&stock, &dargs, &dir, "module-distill", &obj);
}

#[test]
fn patch_btfids_matches_stock_and_refuses_size_mismatch() {
    let dir = tmpdir("gen-btf-patch");
    let e = Endian::Little;
    let ids = fixture_ids(e, |_| {});
    let len = ids.data.len();
    let obj = object(true, e, ids);
    let blob: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    let blobp = write(&dir, "blob", &blob);
    let p = write(&dir, "obj.ko", &obj);
    let r = run(&[os("--patch_btfids"), os(&blobp), os(&p)]);
    assert!(r.ok, "{}", r.stderr);
    let got = std::fs::read(&p).unwrap();
    let elf = btfids_post::elf::ElfFile::parse(&got).unwrap();
    let s = elf.section_by_name(".BTF_ids").unwrap().unwrap();
    assert_eq!(elf.section_data(s).unwrap(), blob.as_slice());
    // Everything but the section is as it was.
    let (a, b) = (s.offset as usize, (s.offset + s.size) as usize);
    assert_eq!(got[..a], obj[..a]);
    assert_eq!(got[b..], obj[b..]);
    // A blob of another size: an error naming file and section, OBJ byte-identical.
    for n in [len - 4, len + 4, 0] {
        let badp = write(&dir, &format!("bad{n}"), &vec![0xaa; n]);
        let before = std::fs::read(&p).unwrap();
        let r = run(&[os("--patch_btfids"), os(&badp), os(&p)]);
        assert!(!r.ok);
        assert!(r.stderr.contains(".BTF_ids"), "{}", r.stderr);
        assert!(r.stderr.contains(&*badp.to_string_lossy()), "{}", r.stderr);
        assert!(r.stderr.contains(&*p.to_string_lossy()), "{}", r.stderr);
        assert_eq!(std::fs::read(&p).unwrap(), before, "OBJ changed");
    }
    // No .BTF_ids section; a missing blob.
    let plain = write(
        &dir,
        "plain.ko",
        &build(true, e, &[sec(".data", vec![1; 8])], &[]),
    );
    let r = run(&[os("--patch_btfids"), os(&blobp), os(&plain)]);
    assert!(
        !r.ok && r.stderr.contains("section .BTF_ids not found"),
        "{}",
        r.stderr
    );
    let r = run(&[os("--patch_btfids"), os(&dir.join("nope")), os(&p)]);
    assert!(!r.ok && r.stderr.contains("nope"), "{}", r.stderr);
    // Same bytes as the stock tool (ELF64 and ELF32, both byte orders).
    let Some(stock) = stock_or_skip("patch_btfids_matches_stock_and_refuses_size_mismatch") else {
        return;
    };
    for e in [Endian::Little, Endian::Big] {
        for is64 in [true, false] {
            let obj = object(is64, e, fixture_ids(e, |_| {}));
            let tag = format!("patch-{e:?}-{is64}");
            let args = [os("--patch_btfids"), os(&blobp)];
            let (s, serr) = run_tool(&stock, &args, &dir, &format!("{tag}-s"), "o.ko", &obj);
            let (m, merr) = run_tool(&bin(), &args, &dir, &format!("{tag}-p"), "o.ko", &obj);
            assert!(s.ok && m.ok, "{serr}{merr}");
            assert!(
                s.obj == m.obj,
                "{tag}: patched OBJ differs from the stock tool's"
            );
            assert_ne!(m.obj, obj);
        }
    }
}

/// The records of two Rust kfuncs (BTF generated by btfids-post).
fn rust_records() -> Vec<MetaRecord<'static>> {
    vec![
        MetaRecord {
            name: "bpf_rust_get",
            flags: KF_ACQUIRE | KF_RET_NULL,
            arg_flags: [0, KF_PARAM_NULLABLE, 0, 0, 0],
            ret: MetaType::new("", "SampleObj", TYPE_POINTER, TYPE_F_MODULE, 16),
            args: vec![
                MetaType::new("id", "u32", TYPE_SCALAR, 0, 4),
                MetaType::new("hint", "struct task_struct", TYPE_POINTER, TYPE_F_CONST, 0),
            ],
            size: 0,
        },
        MetaRecord {
            name: "bpf_rust_put",
            flags: KF_RELEASE | KF_FASTCALL,
            arg_flags: [KF_PARAM_RELEASE, 0, 0, 0, 0],
            ret: MetaType::new("", "void", TYPE_VOID, 0, 0),
            args: vec![MetaType::new(
                "obj",
                "SampleObj",
                TYPE_POINTER,
                TYPE_F_MODULE,
                16,
            )],
            size: 0,
        },
    ]
}

/// A Rust module: an extended set of its two kfuncs, their records, no BTF of its own
/// (pahole writes header-only split BTF for Rust code).
fn rust_module(e: Endian) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (base, _) = split_fixture(e);
    let recs = rust_records();
    let mut ids = Ids::new(e);
    ids.id("struct", "task_struct");
    ids.set8(
        "rust_set",
        BTF_SET8_ARGS_HEADER_FLAGS,
        &[
            ("bpf_rust_put", recs[1].flags, recs[1].arg_flags),
            ("bpf_rust_get", recs[0].flags, recs[0].arg_flags),
        ],
    );
    let meta: Vec<u8> = recs.iter().flat_map(|r| r.write(e)).collect();
    let obj = build(
        true,
        e,
        &[sec(".BTF_ids", ids.data), sec(META_SECTION, meta)],
        &ids.syms,
    );
    let parsed = Btf::parse(&base, None).unwrap();
    let empty = BtfBuilder::new(e, Some(&parsed)).finish();
    (base, empty, obj)
}

#[test]
fn rust_kfuncs_get_btf_and_decl_tags() {
    let dir = tmpdir("gen-btf-rust");
    for e in [Endian::Little, Endian::Big] {
        let (base, empty, obj) = rust_module(e);
        let basep = write(&dir, "vmlinux", &base);
        let btfp = write(&dir, "r.ko.BTF.1", &empty);
        let p = write(&dir, "r.ko", &obj);
        let r = run(&[
            os("-v"),
            os("--btf"),
            os(&btfp),
            os("-b"),
            os(&basep),
            os(&p),
        ]);
        assert!(r.ok, "{}", r.stderr);
        assert_eq!(std::fs::read(&p).unwrap(), obj, "OBJ changed");
        let out = outputs(true, &p);
        let b = Btf::parse(&base, None).unwrap();
        let fin = out.btf.unwrap();
        let btf = Btf::parse(&fin, Some(&b)).unwrap();
        assert_sorted(&btf);
        let tags = decl_tags(&btf);
        assert!(tags.contains(&("bpf_kfunc".into(), "bpf_rust_get".into(), -1)));
        assert!(tags.contains(&("bpf_kfunc".into(), "bpf_rust_put".into(), -1)));
        assert!(tags.contains(&("bpf_fastcall".into(), "bpf_rust_put".into(), -1)));
        assert_eq!(tags.len(), 3, "{tags:?}");
        // The generated pointer to const task_struct is the base's (dedup), the module
        // struct is the module's.
        let get = btf.ty(find_func(&btf, "bpf_rust_get").size_type).unwrap();
        let params: Vec<(u32, u32)> = get.params().collect();
        assert!(
            params[1].1 < b.type_count(),
            "PTR to const task_struct from the base"
        );
        let ret = btf.ty(btf.ty(get.size_type).unwrap().size_type).unwrap();
        assert_eq!(btf.name(ret.name_off), "SampleObj");
        // The extended set holds the final (sorted) ids, sorted, flags moved along.
        let d = out.btf_ids.unwrap();
        let off = 4;
        assert_eq!(e.u32(&d, off), Some(2));
        let entries: Vec<Set8ArgsEntry> = (0..2)
            .map(|i| Set8ArgsEntry::read(&d[off + 8 + i * SET8_ARGS_ENTRY_SIZE..], e).unwrap())
            .collect();
        assert!(entries[0].id < entries[1].id);
        for en in &entries {
            let n = btf.name(btf.ty(en.id).unwrap().name_off);
            let rec = rust_records().into_iter().find(|r| r.name == n).unwrap();
            assert_eq!((en.flags, en.arg_flags), (rec.flags, rec.arg_flags), "{n}");
        }
        // As gen-btf.sh goes on: .BTF added with objcopy, .BTF_ids patched; then `check`.
        if e == Endian::Little {
            gen_btf_embed_and_check(&dir, &basep, &p);
            // Out of tree (--distill_base): .BTF.base embedded too, `check` resolves on it.
            let r = run(&[
                os("--distill_base"),
                os("--btf"),
                os(&btfp),
                os("-b"),
                os(&basep),
                os(&p),
            ]);
            assert!(r.ok, "{}", r.stderr);
            assert!(outputs(true, &p).btf_base.is_some());
            gen_btf_embed_and_check(&dir, &basep, &p);
        }
    }
}

/// `objcopy --add-section .BTF=OBJ.BTF [--add-section .BTF.base=OBJ.BTF.base] OBJ`,
/// `btfids-post --patch_btfids OBJ.BTF_ids OBJ`, then `btfids-post check -b BASE OBJ` must
/// pass (when objcopy exists; `check` resolves on an embedded `.BTF.base`).
fn gen_btf_embed_and_check(dir: &Path, basep: &Path, p: &Path) {
    let objcopy = ["objcopy", "llvm-objcopy", "llvm-objcopy-19"]
        .into_iter()
        .find(|t| Command::new(t).arg("--version").output().is_ok());
    let Some(objcopy) = objcopy else {
        eprintln!("SKIPPED the objcopy part of rust_kfuncs_get_btf_and_decl_tags: no objcopy");
        return;
    };
    let ko = dir.join("embedded.ko");
    std::fs::copy(p, &ko).unwrap();
    let mut btf = p.as_os_str().to_owned();
    btf.push(".BTF");
    let mut ids = p.as_os_str().to_owned();
    ids.push(".BTF_ids");
    let mut base = p.as_os_str().to_owned();
    base.push(".BTF.base");
    let mut sections = vec![(".BTF=", btf)];
    if Path::new(&base).exists() {
        sections.push((".BTF.base=", base));
    }
    for (sec, file) in sections {
        let mut arg = std::ffi::OsString::from(sec);
        arg.push(&file);
        let o = Command::new(objcopy)
            .arg("--add-section")
            .arg(&arg)
            .arg(&ko)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let r = run(&[os("--patch_btfids"), os(&ids), os(&ko)]);
    assert!(r.ok, "{}", r.stderr);
    let c = run(&[os("check"), os("-b"), os(basep), os(&ko)]);
    assert!(c.ok, "check: {}{}", c.stdout, c.stderr);
    // dump names the entries (through the embedded .BTF.base when there is one).
    let d = run(&[os("dump"), os("-b"), os(basep), os(&ko)]);
    assert!(d.ok, "dump: {}", d.stderr);
    assert!(
        d.stdout.contains("bpf_rust_get") && d.stdout.contains("bpf_rust_put"),
        "{}",
        d.stdout
    );
}

/// Split BTF on `base` with a FUNC whose type is the base's `int` (type 1), not a
/// FUNC_PROTO: what a module's BTF looks like split on another vmlinux than pahole's.
fn func_not_proto_btf(e: Endian, base: &[u8]) -> Vec<u8> {
    let b = Btf::parse(base, None).unwrap();
    let mut m = BtfBuilder::new(e, Some(&b));
    func(&mut m, "k_bad", 1);
    m.finish()
}

/// BTF libbpf refuses to load (a FUNC whose type is no FUNC_PROTO) is refused by both
/// tools alike: same exit status, nothing written.
#[test]
fn invalid_btf_is_refused_like_stock() {
    let Some(stock) = stock_or_skip("invalid_btf_is_refused_like_stock") else {
        return;
    };
    let dir = tmpdir("gen-btf-invalid");
    for e in [Endian::Little, Endian::Big] {
        let (base, _) = split_fixture(e);
        let basep = write(&dir, &format!("vmlinux-{e:?}"), &base);
        let btfp = write(
            &dir,
            &format!("bad-{e:?}.BTF.1"),
            &func_not_proto_btf(e, &base),
        );
        let obj = object(true, e, fixture_ids(e, |_| {}));
        let args = [os("--btf"), os(&btfp), os("-b"), os(&basep)];
        let (s, _) = refused_alike(&stock, &args, &dir, &format!("{e:?}"), &obj, "load BTF");
        assert!(s.stderr.contains("is not FUNC_PROTO"), "{}", s.stderr);
    }
}

#[test]
fn errors_write_nothing_and_leave_obj_alone() {
    let dir = tmpdir("gen-btf-errors");
    let e = Endian::Little;
    let (base, split) = split_fixture(e);
    let basep = write(&dir, "vmlinux", &base);
    let btfp = write(&dir, "obj.BTF.1", &split);
    let garbage = write(&dir, "garbage.BTF.1", b"not BTF at all");
    let absent = dir.join("absent.BTF.1");
    let notproto = write(&dir, "notproto.BTF.1", &func_not_proto_btf(e, &base));
    let cases: Vec<(&str, Vec<u8>, Vec<&OsStr>, &str)> = vec![
        (
            "func-not-proto",
            object(true, e, fixture_ids(e, |_| {})),
            vec![os("--btf"), os(&notproto), os("-b"), os(&basep)],
            "FUNC refers to type 1, which is not a FUNC_PROTO",
        ),
        (
            "inconsistent-flags",
            object(
                true,
                e,
                fixture_ids(e, |ids| {
                    ids.set8("kset_c", BTF_SET8_KFUNCS, &[("k_fast", 0, [0; 5])]);
                }),
            ),
            vec![os("--btf"), os(&btfp), os("-b"), os(&basep)],
            "kfunc k_fast has inconsistent flags across BTF ID sets",
        ),
        (
            "arena-not-pointer",
            object(
                true,
                e,
                fixture_ids(e, |ids| {
                    ids.set8(
                        "kset_c",
                        BTF_SET8_KFUNCS,
                        &[("k_other", KF_ARENA_RET, [0; 5])],
                    );
                }),
            ),
            vec![os("--btf"), os(&btfp), os("-b"), os(&basep)],
            "kfunc k_other: arena type is not a pointer",
        ),
        (
            "garbage-btf",
            object(true, e, fixture_ids(e, |_| {})),
            vec![os("--btf"), os(&garbage), os("-b"), os(&basep)],
            "garbage.BTF.1",
        ),
        (
            "missing-btf",
            object(true, e, fixture_ids(e, |_| {})),
            vec![os("--btf"), os(&absent)],
            "absent.BTF.1",
        ),
        (
            "split-without-base",
            object(true, e, fixture_ids(e, |_| {})),
            vec![os("--btf"), os(&btfp)],
            "obj.BTF.1",
        ),
        (
            "not-elf",
            b"definitely not an ELF file".to_vec(),
            vec![os("--btf"), os(&btfp), os("-b"), os(&basep)],
            "not an ELF file",
        ),
        (
            "fatal-warnings",
            object(true, e, fixture_ids(e, |_| {})),
            vec![
                os("--fatal_warnings"),
                os("--btf"),
                os(&btfp),
                os("-b"),
                os(&basep),
            ],
            "WARN: resolve_btfids: unresolved symbol nothing_here",
        ),
        (
            "strict",
            object(true, e, fixture_ids(e, |_| {})),
            vec![os("--strict"), os("--btf"), os(&btfp), os("-b"), os(&basep)],
            "unresolved struct 'nothing_here'",
        ),
    ];
    for (name, obj, args, needle) in cases {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        let p = write(&d, "obj.ko", &obj);
        let r = run(&[args.as_slice(), &[os(&p)]].concat());
        assert!(!r.ok, "{name}: accepted");
        assert!(r.stderr.contains(needle), "{name}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
        assert_eq!(std::fs::read(&p).unwrap(), obj, "{name}: OBJ changed");
        assert_eq!(files_in(&d), ["obj.ko"], "{name}: files written");
    }
}

#[test]
fn fatal_warnings_without_warnings_and_distill_base() {
    let dir = tmpdir("gen-btf-flags");
    let e = Endian::Little;
    let (base, split) = split_fixture(e);
    let basep = write(&dir, "vmlinux", &base);
    let btfp = write(&dir, "obj.BTF.1", &split);
    // A set without problems: --fatal_warnings changes nothing.
    let mut ids = Ids::new(e);
    ids.id("struct", "mod_obj");
    ids.set8("k", BTF_SET8_KFUNCS, &[("k_plain", KF_ACQUIRE, [0; 5])]);
    let obj = object(true, e, ids);
    let p = write(&dir, "obj.ko", &obj);
    let r = run(&[
        os("--fatal_warnings"),
        os("--btf"),
        os(&btfp),
        os("-b"),
        os(&basep),
        os(&p),
    ]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let plain = outputs(true, &p);
    // --distill_base: OBJ.BTF.base, and OBJ.BTF split on it.
    let r = run(&[
        os("--distill_base"),
        os("--btf"),
        os(&btfp),
        os("-b"),
        os(&basep),
        os(&p),
    ]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let d = outputs(true, &p);
    let db = Btf::parse(d.btf_base.as_ref().unwrap(), None).unwrap();
    let ds = Btf::parse(d.btf.as_ref().unwrap(), Some(&db)).unwrap();
    assert!(db.type_count() < Btf::parse(&base, None).unwrap().type_count());
    assert_eq!(db.hdr.hdr_len, 32, "libbpf's 7.x header for BTF it creates");
    assert_sorted(&ds);
    assert!(decl_tags(&ds).contains(&("bpf_kfunc".into(), "k_plain".into(), -1)));
    assert!(d.btf != plain.btf);
    // Without -b there is nothing to distill: the same outputs as without the flag.
    let vm = write(&dir, "vm.BTF.1", &vmlinux_fixture(e));
    let q = write(&dir, "vm.ko", &obj);
    let r = run(&[os("--btf"), os(&vm), os(&q)]);
    assert!(r.ok, "{}", r.stderr);
    let once = outputs(true, &q);
    let r = run(&[os("--distill_base"), os("--btf"), os(&vm), os(&q)]);
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(outputs(true, &q), once);
    assert!(once.btf_base.is_none());
    // Without --btf, --distill_base is refused (the 6.12 flow has nothing to distill).
    let r = run(&[os("--distill_base"), os("-b"), os(&basep), os(&p)]);
    assert!(
        !r.ok && r.stderr.contains("--distill_base needs --btf"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&p).unwrap(), obj);
}

/// A Linux 7.3 kernel tree built by `cargo xtask kernel` with its pre-resolution vmlinux
/// (`.tmp_vmlinux1`, kept by link-vmlinux.sh) and its own (stock) resolve_btfids:
/// `$BTFIDS_KERNEL_TREE`, else the first `~/.cache/kfunc-args/kernel/unpatched-*/linux`.
fn kernel_tree_73() -> Option<(PathBuf, PathBuf)> {
    let trees: Vec<PathBuf> = match std::env::var_os("BTFIDS_KERNEL_TREE") {
        Some(t) => vec![PathBuf::from(t)],
        None => {
            let cache = Path::new(&std::env::var_os("HOME")?).join(".cache/kfunc-args/kernel");
            let mut v: Vec<PathBuf> = std::fs::read_dir(cache)
                .ok()?
                .flatten()
                .filter(|d| d.file_name().to_string_lossy().starts_with("unpatched-"))
                .map(|d| d.path().join("linux"))
                .collect();
            v.sort();
            v
        }
    };
    trees.into_iter().find_map(|t| {
        let tool = t.join("tools/bpf/resolve_btfids/resolve_btfids");
        (t.join(".tmp_vmlinux1").exists() && t.join("vmlinux").exists() && is_73_tool(&tool))
            .then_some((t, tool))
    })
}

/// `pahole -J` as `scripts/Makefile.btf` asks for pahole 1.24 (without `-j`, whose output
/// is not reproducible): the detached BTF gen-btf.sh would hand resolve_btfids.
fn pahole_kernel(pah: &Path, obj: &Path, base: Option<&Path>, out: &Path) -> bool {
    let mut c = Command::new(pah);
    c.args(["-J", "--btf_gen_floats", "--lang_exclude=rust"]);
    if let Some(b) = base {
        c.arg(format!("--btf_base={}", b.display()));
    }
    c.arg(format!("--btf_encode_detached={}", out.display()))
        .arg(obj)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The real thing: the 7.3 vmlinux and every module of a kernel build, their BTF made again
/// by pahole, through the tree's stock resolve_btfids and btfids-post. Modules get back the
/// `.BTF_ids` their object file had before Kbuild patched it, and lose the embedded `.BTF`.
#[test]
fn kernel_build_matches_stock_7_3() {
    let Some((tree, stock)) = kernel_tree_73() else {
        eprintln!(
            "SKIPPED kernel_build_matches_stock_7_3: no built 7.3 kernel tree with .tmp_vmlinux1 \
             (cargo xtask kernel, or BTFIDS_KERNEL_TREE=<tree>)"
        );
        return;
    };
    let Some((_, pah)) = c_toolchain() else {
        eprintln!("SKIPPED kernel_build_matches_stock_7_3: no pahole");
        return;
    };
    let dir = tmpdir("gen-btf-kernel");
    let btf1 = dir.join("vmlinux.BTF.1");
    assert!(pahole_kernel(
        &pah,
        &tree.join(".tmp_vmlinux1"),
        None,
        &btf1
    ));
    let obj = std::fs::read(tree.join(".tmp_vmlinux1")).unwrap();
    let out = same_as_stock(&stock, &[os("--btf"), os(&btf1)], &dir, "vmlinux", &obj);
    let n = Btf::parse(out.btf.as_deref().unwrap(), None)
        .unwrap()
        .own_types_iter()
        .filter(|t| t.kind() == KIND_DECL_TAG)
        .count();
    eprintln!(
        "vmlinux of {}: same OBJ.BTF ({} bytes, {n} decl tags) and OBJ.BTF_ids",
        tree.display(),
        out.btf.as_ref().map_or(0, Vec::len)
    );
    std::fs::remove_dir_all(dir.join("vmlinux-stock")).ok();
    std::fs::remove_dir_all(dir.join("vmlinux-post")).ok();

    let objcopy = ["objcopy", "llvm-objcopy"]
        .into_iter()
        .find(|t| Command::new(t).arg("--version").output().is_ok());
    let Some(objcopy) = objcopy else {
        eprintln!("SKIPPED the modules of kernel_build_matches_stock_7_3: no objcopy");
        return;
    };
    let mut kos = Vec::new();
    let mut stack = vec![tree.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "ko") {
                kos.push(p);
            }
        }
    }
    kos.sort();
    let vmlinux = tree.join("vmlinux");
    for ko in &kos {
        let name = ko.file_name().unwrap().to_string_lossy().into_owned();
        let pre = dir.join(&name);
        let o = Command::new(objcopy)
            .arg("--remove-section=.BTF")
            .arg(ko)
            .arg(&pre)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // The object's own .BTF_ids: the section before resolution.
        let blob = dir.join(format!("{name}.ids"));
        let ok = Command::new(objcopy)
            .args(["-O", "binary", "--only-section=.BTF_ids"])
            .arg(ko.with_extension("o"))
            .arg(&blob)
            .output()
            .is_ok_and(|o| o.status.success());
        if ok && std::fs::metadata(&blob).is_ok_and(|m| m.len() > 0) {
            let r = run(&[os("--patch_btfids"), os(&blob), os(&pre)]);
            assert!(r.ok, "{name}: {}", r.stderr);
        }
        let b1 = dir.join(format!("{name}.BTF.1"));
        assert!(
            pahole_kernel(&pah, &pre, Some(&vmlinux), &b1),
            "pahole {name}"
        );
        let obj = std::fs::read(&pre).unwrap();
        let args = [os("--btf"), os(&b1), os("-b"), os(&vmlinux)];
        let out = same_as_stock(&stock, &args, &dir, &name, &obj);
        let dargs = [
            os("--distill_base"),
            os("--btf"),
            os(&b1),
            os("-b"),
            os(&vmlinux),
        ];
        let d = same_as_stock(&stock, &dargs, &dir, &format!("{name}-distill"), &obj);
        assert!(d.btf_base.is_some());
        eprintln!(
            "{name}: same OBJ.BTF ({} bytes){}; with --distill_base same OBJ.BTF and \
             OBJ.BTF.base ({} bytes)",
            out.btf.as_ref().map_or(0, Vec::len),
            if out.btf_ids.is_some() {
                " and OBJ.BTF_ids"
            } else {
                ""
            },
            d.btf_base.as_ref().map_or(0, Vec::len)
        );
    }
}

/// Mutated inputs (detached BTF, base BTF, object) never make the 7.3 flow panic: each run
/// succeeds or returns an error. `BTFIDS_MUTATE_ROUNDS=N` runs more than 600.
#[test]
fn mutated_inputs_never_panic() {
    let dir = tmpdir("gen-btf-mutate");
    let e = Endian::Little;
    let (base, split) = split_fixture(e);
    let obj = object(true, e, fixture_ids(e, |_| {}));
    let (rbase, rsplit, robj) = rust_module(e);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // The seeds of the `detached` fuzz target (fuzz/fuzz_targets/detached.rs), on request.
    if let Some(seeds) = std::env::var_os("BTFIDS_FUZZ_SEEDS") {
        let seeds = PathBuf::from(seeds);
        std::fs::create_dir_all(&seeds).unwrap();
        let vml = vmlinux_fixture(e);
        for (name, b, s, o) in [
            ("module", &base[..], &split[..], &obj[..]),
            ("vmlinux", &[][..], &vml[..], &obj[..]),
            ("rust", &rbase[..], &rsplit[..], &robj[..]),
        ] {
            let mut seed = Vec::new();
            for part in [b, s] {
                seed.extend_from_slice(&(part.len() as u32).to_le_bytes());
                seed.extend_from_slice(part);
            }
            seed.extend_from_slice(o);
            std::fs::write(seeds.join(name), seed).unwrap();
        }
    }
    let (mut ok, mut err) = (0, 0);
    let rounds: usize = std::env::var("BTFIDS_MUTATE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    for round in 0..rounds {
        let (mut b, mut s, mut o) = if round % 3 == 2 {
            (rbase.clone(), rsplit.clone(), robj.clone())
        } else {
            (base.clone(), split.clone(), obj.clone())
        };
        let target = match round % 5 {
            0..=2 => &mut s,
            3 => &mut o,
            _ => &mut b,
        };
        if target.len() > BTF_HDR_LEN {
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % target.len();
                target[at] = match next() % 4 {
                    0 => 0,
                    1 => 0xff,
                    2 => target[at] ^ (1 << (next() % 8)),
                    _ => next() as u8,
                };
            }
        }
        let basep = write(&dir, "base", &b);
        let btfp = write(&dir, "obj.BTF.1", &s);
        let objp = write(&dir, "obj.ko", &o);
        let opts = btfids_post::Options {
            btf: Some(btfp),
            base: Some(basep),
            distill_base: round % 2 == 1,
            ..Default::default()
        };
        match btfids_post::detached::process(&objp, &opts) {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(e.0.contains('/'), "error names no file: {e}");
                err += 1;
            }
        }
    }
    eprintln!("mutated inputs: {ok} processed, {err} refused");
    assert!(ok > 0 && err > 0);
}

/// `LLVM=` for a tree built with clang: `-<major>` when `clang-<major>` exists (Debian's
/// versioned LLVM, as `cargo xtask kernel` builds), else `1`.
fn llvm_of(tree: &Path) -> Option<String> {
    let conf = std::fs::read_to_string(tree.join("include/config/auto.conf")).ok()?;
    if !conf.lines().any(|l| l == "CONFIG_CC_IS_CLANG=y") {
        return None;
    }
    let ver: u32 = conf
        .lines()
        .find_map(|l| l.strip_prefix("CONFIG_CLANG_VERSION="))?
        .parse()
        .ok()?;
    let major = ver / 10000;
    let versioned = Command::new(format!("clang-{major}"))
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    Some(if versioned {
        format!("-{major}")
    } else {
        "1".into()
    })
}

/// btfids-post as Kbuild's `RESOLVE_BTFIDS` for a real out-of-tree module
/// (`tests/fixtures/gen_btf/kbuild`: plain, fastcall, implicit-args and arena kfuncs):
/// `scripts/gen-btf.sh` runs it with `--distill_base --btf_base vmlinux --btf kt.ko.BTF.1`,
/// objcopies `.BTF` and `.BTF.base` in and calls `--patch_btfids`. The `.ko` must be byte
/// for byte the one the tree's stock resolve_btfids gives (same directory, pahole without
/// `-j`: `KBUILD_BUILD_TIMESTAMP` set).
#[test]
fn kbuild_module_matches_stock_7_3() {
    let Some((tree, stock)) = kernel_tree_73() else {
        eprintln!(
            "SKIPPED kbuild_module_matches_stock_7_3: no built 7.3 kernel tree \
             (cargo xtask kernel, or BTFIDS_KERNEL_TREE=<tree>)"
        );
        return;
    };
    let Some(llvm) = llvm_of(&tree) else {
        eprintln!("SKIPPED kbuild_module_matches_stock_7_3: the tree is not built with clang");
        return;
    };
    let dir = tmpdir("gen-btf-kbuild");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gen_btf/kbuild");
    for f in ["kt.c", "Kbuild"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let make = |tool: &Path, target: &str| {
        let o = Command::new("make")
            .arg("-C")
            .arg(&tree)
            .arg(format!("LLVM={llvm}"))
            .arg(format!("M={}", dir.display()))
            .arg(format!("RESOLVE_BTFIDS={}", tool.display()))
            .arg(target)
            .env("KBUILD_BUILD_TIMESTAMP", "2026-01-01")
            .output()
            .unwrap();
        let log =
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success(),
            "make {target} with {}: {log}",
            tool.display()
        );
        log
    };
    make(&stock, "modules");
    let theirs = std::fs::read(dir.join("kt.ko")).unwrap();
    make(&stock, "clean");
    let log = make(&bin(), "modules");
    let mine = std::fs::read(dir.join("kt.ko")).unwrap();
    assert!(
        mine == theirs,
        "kt.ko differs from the stock tool's build ({} vs {} bytes): {log}",
        mine.len(),
        theirs.len()
    );
    // What the module carries: a distilled base, the kfuncs tagged, the set resolved.
    let elf = btfids_post::elf::ElfFile::parse(&mine).unwrap();
    assert!(elf.section_by_name(".BTF.base").unwrap().is_some());
    let d = run(&[os("dump"), os(&dir.join("kt.ko"))]);
    assert!(d.ok, "{}", d.stderr);
    for k in [
        "bpf_kt_plain",
        "bpf_kt_fast",
        "bpf_kt_implicit",
        "bpf_kt_arena",
    ] {
        assert!(d.stdout.contains(k), "{k}: {}", d.stdout);
    }
    eprintln!(
        "kt.ko ({} bytes) built by Kbuild with btfids-post is the stock tool's",
        mine.len()
    );
}

/// `--btf FILE --in-place` is Linux 6.12's `--btf`: OBJ resolved in place with FILE's BTF,
/// exactly as without `--btf` when OBJ's own `.BTF` is the same; no OBJ.BTF written.
#[test]
fn btf_in_place_is_the_6_12_flow() {
    let dir = tmpdir("gen-btf-in-place");
    let e = Endian::Little;
    let (base, split) = split_fixture(e);
    let basep = write(&dir, "vmlinux", &base);
    let btfp = write(&dir, "obj.BTF.1", &split);
    let ids = fixture_ids(e, |_| {});
    let obj = build(
        true,
        e,
        &[sec(".BTF_ids", ids.data), sec(".BTF", split.clone())],
        &ids.syms,
    );
    let a = write(&dir, "a.ko", &obj);
    let b = write(&dir, "b.ko", &obj);
    let r = run(&[os("-b"), os(&basep), os(&a)]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&[
        os("--btf"),
        os(&btfp),
        os("--in-place"),
        os("-b"),
        os(&basep),
        os(&b),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let (ra, rb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_ne!(ra, obj, "resolved in place");
    assert!(
        ra == rb,
        "--btf --in-place differs from the in-place run on OBJ's own .BTF"
    );
    assert!(!dir.join("b.ko.BTF").exists());
    // --in-place needs --btf.
    let r = run(&[os("--in-place"), os("-b"), os(&basep), os(&a)]);
    assert!(!r.ok);
}

/// Which input of the 7.3 flow a malformed case corrupts.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// OBJ (the ELF with `.BTF_ids` and the symbol table).
    Obj,
    /// The detached BTF (`--btf OBJ.BTF.1`).
    Btf,
    /// The base (`-b vmlinux`).
    Base,
}

/// One malformed input of the 7.3 flow.
struct Bad {
    name: String,
    target: Target,
    bytes: Vec<u8>,
}

/// Rewrite one u32 of a blob in its byte order.
fn put32(b: &mut [u8], at: usize, e: Endian, v: u32) {
    b[at..at + 4].copy_from_slice(&e.u32_bytes(v));
}

/// Rewrite one u64 of a blob in its byte order.
fn put64(b: &mut [u8], at: usize, e: Endian, v: u64) {
    let bytes = match e {
        Endian::Little => v.to_le_bytes(),
        Endian::Big => v.to_be_bytes(),
    };
    b[at..at + 8].copy_from_slice(&bytes);
}

/// The malformed BTF of the corpus, made from a valid (split or base) BTF blob: truncated,
/// a bad header, sections and strings past the end, a type loop, huge counts, type ids
/// past the last type.
fn bad_btf(good: &[u8], e: Endian, base: Option<&[u8]>, target: Target, out: &mut Vec<Bad>) {
    let mut push = |name: String, bytes: Vec<u8>| {
        out.push(Bad {
            name,
            target,
            bytes,
        })
    };
    let tag = format!("{target:?}").to_lowercase();
    for n in [
        0,
        3,
        8,
        BTF_HDR_LEN - 1,
        BTF_HDR_LEN + 5,
        good.len() / 2,
        good.len() - 1,
    ] {
        if n >= good.len() {
            continue;
        }
        push(format!("{tag}-truncated-{n}"), good[..n].to_vec());
    }
    let mut b = good.to_vec();
    b[0] ^= 0xff;
    push(format!("{tag}-bad-magic"), b);
    let mut b = good.to_vec();
    b[2] = 7;
    push(format!("{tag}-bad-version"), b);
    // The header fields: hdr_len, type_off, type_len, str_off, str_len.
    for (field, at, v) in [
        ("hdr-len-huge", 4, 0x7fff_fff0),
        ("hdr-len-short", 4, 8),
        ("type-off-unaligned", 8, 3),
        ("type-len-past-end", 12, 0x0100_0000),
        ("type-len-unaligned", 12, 6),
        ("str-off-past-end", 16, 0x7fff_0000),
        ("str-len-past-end", 20, 0x7fff_0000),
        ("str-len-zero", 20, 0),
    ] {
        if field == "str-len-zero" && e.u32(good, 20).unwrap_or(0) <= 1 {
            continue; // (no strings of its own: an empty string section is valid)
        }
        let mut b = good.to_vec();
        put32(&mut b, at, e, v);
        push(format!("{tag}-{field}"), b);
    }
    // Type and string section overlapping.
    let mut b = good.to_vec();
    put32(&mut b, 16, e, 0);
    push(format!("{tag}-sections-overlap"), b);
    // Types appended to the valid blob: each is one defect of the type section.
    let parsed_base = base.map(|b| Btf::parse(b, None).unwrap());
    let parsed = Btf::parse(good, parsed_base.as_ref()).unwrap();
    let mut add = |name: &str, f: &dyn Fn(&mut BtfBuilder)| {
        let mut bb = BtfBuilder::from_btf(&parsed);
        f(&mut bb);
        push(format!("{tag}-{name}"), bb.finish());
    };
    add("name-off-past-end", &|bb| {
        bb.add_type(0x7fff_0000, KIND_STRUCT, 0, 4, &[]);
    });
    add("type-loop", &|bb| {
        // CONST -> VOLATILE -> CONST: a modifier chain with no end.
        let next = bb.add_type_count();
        bb.add_type(0, KIND_CONST, 0, next + 1, &[]);
        bb.add_type(0, KIND_VOLATILE, 0, next, &[]);
    });
    add("self-typedef", &|bb| {
        let n = bb.add_str("loop_t");
        let next = bb.add_type_count();
        bb.add_type(n, KIND_TYPEDEF, 0, next, &[]);
    });
    add("type-id-past-end", &|bb| {
        bb.add_type(0, KIND_PTR, 0, 0x00ff_ffff, &[]);
    });
    add("unknown-kind", &|bb| {
        bb.add_type(0, 31, 0, 0, &[]);
    });
    // A huge member count: the vlen runs past the end of the type section.
    let mut b = BtfBuilder::from_btf(&parsed);
    let n = b.add_str("huge");
    b.add_type(n, KIND_STRUCT, 0, 4, &[]);
    let mut bytes = b.finish();
    let hdr_len = e.u32(&bytes, 4).unwrap() as usize;
    let type_off = e.u32(&bytes, 8).unwrap() as usize;
    let type_len = e.u32(&bytes, 12).unwrap() as usize;
    let info_at = hdr_len + type_off + type_len - 12 + 4;
    put32(
        &mut bytes,
        info_at,
        e,
        make_info(KIND_STRUCT, 0xffff, false),
    );
    push(format!("{tag}-huge-vlen"), bytes);
}

/// The malformed ELF objects of the corpus, made from a valid OBJ: truncated, wrong class,
/// wrong byte order, section headers and section data past the end, a huge symbol count,
/// symbol names past the string table.
fn bad_obj(good: &[u8], out: &mut Vec<Bad>) {
    let elf = btfids_post::elf::ElfFile::parse(good).unwrap();
    let is64 = good[4] == 2;
    let e = if good[5] == 1 {
        Endian::Little
    } else {
        Endian::Big
    };
    let mut push = |name: &str, bytes: Vec<u8>| {
        out.push(Bad {
            name: format!("obj-{name}"),
            target: Target::Obj,
            bytes,
        })
    };
    for n in [0, 4, 16, 52, 63, good.len() / 2, good.len() - 1] {
        push(&format!("truncated-{n}"), good[..n].to_vec());
    }
    let mut b = good.to_vec();
    b[4] = 3;
    push("bad-class", b);
    let mut b = good.to_vec();
    b[5] = 3 - b[5];
    push("wrong-byte-order", b);
    // e_shoff (ELF64: at 40, 8 bytes; ELF32: at 32, 4 bytes) past the end.
    let mut b = good.to_vec();
    if is64 {
        put64(&mut b, 40, e, 1 << 40);
    } else {
        put32(&mut b, 32, e, 0xffff_0000);
    }
    push("shoff-past-end", b);
    // e_shnum huge (ELF64: at 60; ELF32: at 48).
    let mut b = good.to_vec();
    let at = if is64 { 60 } else { 48 };
    b[at..at + 2].copy_from_slice(&e.u16_bytes(0xfff0));
    push("shnum-huge", b);
    // Section data offsets and sizes past the end.
    let (off_at, size_at, width) = if is64 { (24, 32, 8) } else { (16, 20, 4) };
    for (name, sec, at) in [
        ("btf-ids-offset-past-end", ".BTF_ids", off_at),
        ("btf-ids-size-past-end", ".BTF_ids", size_at),
        ("symtab-size-huge", ".symtab", size_at),
        ("strtab-offset-past-end", ".strtab", off_at),
    ] {
        let Some(s) = elf.section_by_name(sec).unwrap() else {
            continue; // (a module without kfuncs or BTF ids has no .BTF_ids)
        };
        let h = s.hdr_off as usize + at;
        let mut b = good.to_vec();
        if width == 8 {
            put64(&mut b, h, e, 1 << 40);
        } else {
            put32(&mut b, h, e, 0xffff_0000);
        }
        push(name, b);
    }
    // Every symbol's name offset past the string table (read only for `.BTF_ids`).
    if elf.section_by_name(".BTF_ids").unwrap().is_none() {
        return;
    }
    let symtab = elf.section_by_name(".symtab").unwrap().unwrap();
    let (entsize, name_at) = if is64 { (24, 0) } else { (16, 0) };
    let mut b = good.to_vec();
    let start = symtab.offset as usize;
    for i in 1..(symtab.size as usize / entsize) {
        put32(&mut b, start + i * entsize + name_at, e, 0x7fff_0000);
    }
    push("symbol-names-past-strtab", b);
}

/// Run the 7.3 flow on one malformed input: refused (exit status 255), one error naming
/// the bad file, no panic, OBJ unchanged, nothing written.
fn assert_refused(dir: &Path, bad: &Bad, obj: &[u8], btf: &[u8], base: Option<&[u8]>) {
    let d = dir.join(&bad.name);
    std::fs::create_dir_all(&d).unwrap();
    let pick = |t: Target, good: &[u8]| -> Vec<u8> {
        if std::mem::discriminant(&t) == std::mem::discriminant(&bad.target) {
            bad.bytes.clone()
        } else {
            good.to_vec()
        }
    };
    let objb = pick(Target::Obj, obj);
    let p = write(&d, "obj.ko", &objb);
    let btfp = write(&d, "obj.BTF.1", &pick(Target::Btf, btf));
    let mut args = vec![os("--btf").to_owned(), btfp.clone().into_os_string()];
    let mut basep = None;
    if let Some(base) = base {
        let bp = write(&d, "vmlinux", &pick(Target::Base, base));
        args.extend([os("-b").to_owned(), bp.clone().into_os_string()]);
        args.push("--distill_base".into());
        basep = Some(bp);
    }
    args.push(p.clone().into_os_string());
    let before = files_in(&d);
    let a: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let o = Command::new(bin()).args(&a).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    let name = &bad.name;
    assert_eq!(
        o.status.code(),
        Some(255),
        "{name}: accepted or crashed: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    let named = match bad.target {
        Target::Obj => p.clone(),
        Target::Btf => btfp.clone(),
        Target::Base => basep.clone().unwrap(),
    };
    assert!(
        stderr.contains(&*named.to_string_lossy()),
        "{name}: error does not name {}: {stderr}",
        named.display()
    );
    assert_eq!(std::fs::read(&p).unwrap(), objb, "{name}: OBJ changed");
    assert_eq!(files_in(&d), before, "{name}: files written");
    // Every refusal's message, for review: `MALFORMED_SHOW=1 cargo test -p btfids-post --test
    // gen_btf malformed_corpus_7_3 -- --nocapture`.
    if std::env::var_os("MALFORMED_SHOW").is_some() {
        eprintln!(
            "{name}: {}",
            stderr.trim_end().replace(&*d.to_string_lossy(), "DIR")
        );
    }
}

/// The malformed corpus of the 7.3 flow (`--btf OBJ.BTF.1 [-b vmlinux --distill_base]
/// OBJ`): each corruption of OBJ, of the detached BTF and of the base is refused with exit
/// status 255 and an error naming the corrupted file; OBJ is left byte for byte unchanged
/// and no output (OBJ.BTF, OBJ.BTF_ids, OBJ.BTF.base, temporary files) appears. On the
/// synthetic module and vmlinux (both byte orders, ELF64 and ELF32), then on the real 7.3
/// inputs captured from the kernel builds (`BTFIDS_INPUTS`, or the cache), when there are
/// any.
#[test]
fn malformed_corpus_7_3() {
    let dir = tmpdir("gen-btf-malformed");
    let mut total = 0;
    for (is64, e) in [(true, Endian::Little), (false, Endian::Big)] {
        let (base, split) = split_fixture(e);
        let obj = object(is64, e, fixture_ids(e, |_| {}));
        let mut corpus = Vec::new();
        bad_obj(&obj, &mut corpus);
        bad_btf(&split, e, Some(&base), Target::Btf, &mut corpus);
        bad_btf(&base, e, None, Target::Base, &mut corpus);
        let d = dir.join(format!("{e:?}-{}", if is64 { 64 } else { 32 }));
        for bad in &corpus {
            assert_refused(&d, bad, &obj, &split, Some(&base));
        }
        total += corpus.len();
        // vmlinux (no base): the BTF cases again.
        let vmlinux = vmlinux_fixture(e);
        let mut corpus = Vec::new();
        bad_btf(&vmlinux, e, None, Target::Btf, &mut corpus);
        let d = dir.join(format!("{e:?}-{}-vmlinux", if is64 { 64 } else { 32 }));
        for bad in &corpus {
            assert_refused(&d, bad, &obj, &vmlinux, None);
        }
        total += corpus.len();
    }
    // The same corruptions of real 7.3 inputs: the first captured module and its base.
    let mut real = 0;
    for cdir in btfids_post::capture::default_dirs() {
        let Ok(inputs) = btfids_post::capture::read_detached(&cdir) else {
            continue;
        };
        let Some(base) = btfids_post::capture::read(&cdir).ok().and_then(|c| c.base) else {
            continue;
        };
        let with_ids = |p: &Path| {
            let b = std::fs::read(p).unwrap_or_default();
            btfids_post::elf::ElfFile::parse(&b)
                .ok()
                .and_then(|elf| elf.section_by_name(".BTF_ids").ok().flatten().map(|_| ()))
                .is_some()
        };
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let Some(inp) = inputs
            .iter()
            .filter(|i| i.module)
            .max_by_key(|i| (size(&i.btf), with_ids(&i.elf)))
        else {
            continue;
        };
        // Raw BTF (gen-btf.sh gives the tool ELF files holding `.BTF`; it reads both).
        let raw = |p: &Path| -> Vec<u8> {
            let b = std::fs::read(p).unwrap();
            match btfids_post::elf::ElfFile::parse(&b) {
                Ok(elf) => {
                    let s = elf.section_by_name(".BTF").unwrap().unwrap();
                    elf.section_data(s).unwrap().to_vec()
                }
                Err(_) => b,
            }
        };
        let (obj, btf, base) = (std::fs::read(&inp.elf).unwrap(), raw(&inp.btf), raw(&base));
        let e = if obj[5] == 1 {
            Endian::Little
        } else {
            Endian::Big
        };
        let mut corpus = Vec::new();
        bad_obj(&obj, &mut corpus);
        bad_btf(&btf, e, Some(&base), Target::Btf, &mut corpus);
        let d = dir.join(format!("real-{real}"));
        for bad in &corpus {
            assert_refused(&d, bad, &obj, &btf, Some(&base));
        }
        real += corpus.len();
        break;
    }
    if real == 0 {
        eprintln!(
            "SKIPPED malformed_corpus_7_3 on real inputs: no 7.3 capture with a module and \
             its base (cargo xtask kernel makes them)"
        );
    }
    eprintln!(
        "malformed corpus (7.3 flow): {total} synthetic cases, {real} on real inputs, all refused"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
