//! `--arg-decl-tags` (Linux 7.3 flow): the per-argument facts of the kfuncs of extended sets
//! written as BTF decl tags on their FUNCs (`kf_param:<fact>`, component_idx = argument),
//! the representation the RFC weighs against the extended set8.
//!
//! On a synthetic module and vmlinux (both byte orders, ELF64 and ELF32, a module plain and
//! with `--distill_base`): the tags are exactly the facts of the sets' entries, read back
//! from the final BTF both by this crate and (little-endian) by the machine's libbpf, and
//! by the ids of the resolved `OBJ.BTF_ids`; the BTF grows by 16 bytes per tag plus the new
//! strings and nothing else changes size; without the option there is no tag. Refusals: one
//! kfunc with two sets of facts, a fact on an argument the prototype no longer has, the
//! option outside the 7.3 flow. An object without extended sets is written byte for byte as
//! without the option.

mod common;

use btfids_post::btf::*;
use btfids_post::btf2btf::{arg_facts_in_btf, ARG_DECL_TAGS_LINE, DECL_TAG_ARG_PREFIX};
use common::*;
use kfunc_layout::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Base ("vmlinux") type ids the module refers to.
struct Base {
    int: u32,
    u32_: u32,
    obj_ptr: u32,
    dynptr_ptr: u32,
    aux_ptr: u32,
}

fn strukt(b: &mut BtfBuilder, name: &str, member_ty: u32) -> u32 {
    let n = b.add_str(name);
    let m = b.add_str("m");
    b.add_type(n, KIND_STRUCT, 1, 8, &[m, member_ty, 0])
}

fn add_base(b: &mut BtfBuilder) -> Base {
    let (int, _uint, u32_) = add_int_u32(b);
    let obj = strukt(b, "obj", int);
    let obj_ptr = b.add_type(0, KIND_PTR, 0, obj, &[]);
    let d = strukt(b, "bpf_dynptr", int);
    let dynptr_ptr = b.add_type(0, KIND_PTR, 0, d, &[]);
    let a = strukt(b, "bpf_prog_aux", int);
    let aux_ptr = b.add_type(0, KIND_PTR, 0, a, &[]);
    Base {
        int,
        u32_,
        obj_ptr,
        dynptr_ptr,
        aux_ptr,
    }
}

fn add_kfunc(b: &mut BtfBuilder, name: &str, ret: u32, params: &[(&str, u32)]) {
    let mut w = Vec::new();
    for (n, t) in params {
        w.push(b.add_str(n));
        w.push(*t);
    }
    let p = b.add_type(0, KIND_FUNC_PROTO, params.len() as u32, ret, &w);
    let n = b.add_str(name);
    b.add_type(n, KIND_FUNC, FUNC_GLOBAL, p, &[]);
}

fn add_module(b: &mut BtfBuilder, x: &Base) {
    add_kfunc(b, "k_rel", x.int, &[("dst", x.obj_ptr), ("src", x.obj_ptr)]);
    add_kfunc(b, "k_sum", x.int, &[("data", x.obj_ptr), ("len", x.u32_)]);
    add_kfunc(b, "k_dyn", x.int, &[("flags", x.u32_), ("d", x.dynptr_ptr)]);
    add_kfunc(b, "k_opt", x.int, &[("o", x.obj_ptr), ("hint", x.obj_ptr)]);
    add_kfunc(b, "k_plain", x.int, &[("o", x.obj_ptr)]);
    add_kfunc(b, "k_implicit", x.int, &[("a", x.int), ("aux", x.aux_ptr)]);
    add_kfunc(b, "k_leg", x.int, &[("o", x.obj_ptr)]);
}

/// (raw base, raw split module BTF, raw vmlinux BTF with both parts).
fn btfs(e: Endian) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut b = BtfBuilder::new(e, None);
    let ids = add_base(&mut b);
    let base = b.finish();
    let parsed = Btf::parse(&base, None).unwrap();
    let mut m = BtfBuilder::new(e, Some(&parsed));
    add_module(&mut m, &ids);
    let mut v = BtfBuilder::new(e, None);
    let vids = add_base(&mut v);
    add_module(&mut v, &vids);
    (base, m.finish(), v.finish())
}

type Entry = (&'static str, u32, [u32; MAX_ARGS]);

/// The sets: two extended ones (`k_opt` in both, with the same facts; `k_plain` without
/// any; `k_implicit`'s fact on the argument its kfunc keeps), a legacy one (`k_rel` again,
/// no facts: a legacy set says nothing about arguments).
fn sets(xset_b_opt: u32, implicit_arg: usize) -> Vec<(&'static str, u32, Vec<Entry>)> {
    let mut imp = [0; MAX_ARGS];
    imp[implicit_arg] = KF_PARAM_CONST;
    vec![
        (
            "xset_a",
            BTF_SET8_ARGS_HEADER_FLAGS,
            vec![
                ("k_rel", KF_RELEASE, [0, KF_PARAM_RELEASE, 0, 0, 0]),
                ("k_sum", 0, [0, KF_PARAM_SIZE | kf_arg_mem(0), 0, 0, 0]),
                ("k_opt", 0, [0, KF_PARAM_NULLABLE, 0, 0, 0]),
                ("k_plain", 0, [0; MAX_ARGS]),
                ("k_implicit", KF_IMPLICIT_ARGS, imp),
            ],
        ),
        (
            "xset_b",
            BTF_SET8_ARGS_HEADER_FLAGS,
            vec![
                ("k_dyn", 0, [0, KF_PARAM_UNINIT | kf_arg_dynptr(3), 0, 0, 0]),
                ("k_opt", 0, [0, xset_b_opt, 0, 0, 0]),
            ],
        ),
        (
            "lset",
            BTF_SET8_KFUNCS,
            vec![
                ("k_leg", 0, [0; MAX_ARGS]),
                ("k_rel", KF_RELEASE, [0; MAX_ARGS]),
            ],
        ),
    ]
}

fn object(is64: bool, e: Endian, sets: &[(&'static str, u32, Vec<Entry>)]) -> Vec<u8> {
    let mut ids = Ids::new(e);
    ids.id("struct", "obj");
    for (name, header, entries) in sets {
        ids.set8(name, *header, entries);
    }
    build(is64, e, &[sec(".BTF_ids", ids.data)], &ids.syms)
}

/// The tags the fixture's facts make: (value, FUNC, component_idx), sorted.
fn expected_tags() -> Vec<(String, String, i32)> {
    let mut v: Vec<(String, String, i32)> = [
        ("kf_param:release", "k_rel", 1),
        ("kf_param:size", "k_sum", 1),
        ("kf_param:mem=0", "k_sum", 1),
        ("kf_param:nullable", "k_opt", 1),
        ("kf_param:uninit", "k_dyn", 1),
        ("kf_param:dynptr=SKB", "k_dyn", 1),
        ("kf_param:constant", "k_implicit", 0),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
    .collect();
    v.sort();
    v
}

/// Every `kf_param:` decl tag of `btf`'s own types: (value, FUNC name, component_idx), sorted.
fn tags_in(btf: &Btf<'_>) -> Vec<(String, String, i32)> {
    let mut v: Vec<(String, String, i32)> = btf
        .own_types_iter()
        .filter(|t| t.kind() == KIND_DECL_TAG && btf.name(t.name_off).starts_with("kf_param:"))
        .map(|t| {
            let f = btf.ty(t.size_type).unwrap();
            (btf.name(t.name_off), btf.name(f.name_off), t.word(0) as i32)
        })
        .collect();
    v.sort();
    v
}

/// The strings of a BTF's own string section.
fn strings(btf: &Btf<'_>) -> std::collections::BTreeSet<Vec<u8>> {
    btf.own_strings()
        .split(|&c| c == 0)
        .map(<[u8]>::to_vec)
        .collect()
}

/// One flow of the fixture: the arguments (`--btf`, `-b`, `--distill_base`), the base the
/// final BTF is read on (`None`: vmlinux; `Some(None)`: OBJ.BTF.base), a label.
struct Flow<'a> {
    args: Vec<&'a std::ffi::OsStr>,
    base: Option<Option<&'a Path>>,
    label: String,
}

#[test]
fn tags_are_the_facts_of_the_extended_sets_and_read_back() {
    let dir = tmpdir("arg-decl-tags");
    let mut libbpf_checked = 0;
    let mut libbpf_skipped = None;
    for e in [Endian::Little, Endian::Big] {
        let (base, split, vmlinux) = btfs(e);
        let basep = write(&dir, &format!("base-{e:?}"), &base);
        let splitp = write(&dir, &format!("mod-{e:?}.BTF.1"), &split);
        let vmp = write(&dir, &format!("vm-{e:?}.BTF.1"), &vmlinux);
        for is64 in [true, false] {
            let obj = object(is64, e, &sets(KF_PARAM_NULLABLE, 0));
            let flows = [
                Flow {
                    args: vec![os("--btf"), os(&splitp), os("-b"), os(&basep)],
                    base: Some(Some(basep.as_path())),
                    label: format!("{e:?}-{is64}-module"),
                },
                Flow {
                    args: vec![
                        os("--distill_base"),
                        os("--btf"),
                        os(&splitp),
                        os("-b"),
                        os(&basep),
                    ],
                    base: Some(None),
                    label: format!("{e:?}-{is64}-distill"),
                },
                Flow {
                    args: vec![os("--btf"), os(&vmp)],
                    base: None,
                    label: format!("{e:?}-{is64}-vmlinux"),
                },
            ];
            for f in &flows {
                let tag = &f.label;
                let plain =
                    run_tool_status(&bin(), &f.args, &dir, &format!("{tag}-0"), "o.ko", &obj);
                let targs = [&[os("-v"), os("--arg-decl-tags")], &f.args[..]].concat();
                let tagged =
                    run_tool_status(&bin(), &targs, &dir, &format!("{tag}-1"), "o.ko", &obj);
                assert!(plain.out.ok, "{tag}: {}", plain.stderr);
                assert!(tagged.out.ok, "{tag}: {}", tagged.stderr);
                assert_eq!(tagged.out.obj, obj, "{tag}: OBJ changed");
                assert!(
                    tagged.stderr.contains(&format!(
                        "{ARG_DECL_TAGS_LINE}7 tags on 5 kfuncs; 7 entries in extended sets"
                    )),
                    "{tag}: {}",
                    tagged.stderr
                );
                let (p_btf, t_btf) = (plain.out.btf.unwrap(), tagged.out.btf.unwrap());
                let (p_ids, t_ids) = (plain.out.btf_ids.unwrap(), tagged.out.btf_ids.unwrap());
                assert_eq!(p_ids.len(), t_ids.len(), "{tag}: OBJ.BTF_ids size");
                // The base each output is read on.
                let base_raw: Option<Vec<u8>> = match f.base {
                    None => None,
                    Some(Some(p)) => Some(std::fs::read(p).unwrap()),
                    Some(None) => {
                        assert_eq!(
                            plain.out.btf_base, tagged.out.btf_base,
                            "{tag}: the tags changed the distilled base"
                        );
                        tagged.out.btf_base.clone()
                    }
                };
                let base_btf = base_raw.as_deref().map(|b| Btf::parse(b, None).unwrap());
                let pb = Btf::parse(&p_btf, base_btf.as_ref()).unwrap();
                let tb = Btf::parse(&t_btf, base_btf.as_ref())
                    .unwrap_or_else(|err| panic!("{tag}: the tagged BTF does not load: {err}"));
                assert_eq!(tags_in(&pb), vec![], "{tag}: tags without the option");
                assert_eq!(tags_in(&tb), expected_tags(), "{tag}");
                // Size: 16 bytes per tag and the new strings, nothing else.
                assert_eq!(tb.own_count(), pb.own_count() + 7, "{tag}: type count");
                let new_strs: usize = strings(&tb)
                    .difference(&strings(&pb))
                    .map(|s| s.len() + 1)
                    .sum();
                assert_eq!(t_btf.len(), p_btf.len() + 7 * 16 + new_strs, "{tag}: size");
                // Read back: the facts of every entry of the resolved extended sets are the
                // tags on the FUNC its id names.
                let facts = arg_facts_in_btf(&tb).unwrap();
                let objp = tagged.dir.join("o.ko");
                let c = btfids_post::detached::collect(&objp, &obj).unwrap();
                let mut entries = 0;
                for s in c
                    .sets
                    .iter()
                    .filter(|s| s.layout == btfids_post::object::Layout::Extended)
                {
                    for i in 0..s.cnt {
                        let en = s.entry(&t_ids, i, e).unwrap();
                        let words = en.arg_flags().unwrap();
                        let f = tb.ty(en.id()).unwrap();
                        assert_eq!(f.kind(), KIND_FUNC, "{tag}: entry {i} of a set");
                        let got = facts.get(&en.id()).copied().unwrap_or_default();
                        assert_eq!(got, words, "{tag}: {}", tb.name(f.name_off));
                        entries += 1;
                    }
                }
                assert_eq!(entries, 7, "{tag}");
                let by_name: BTreeMap<String, [u32; MAX_ARGS]> = facts
                    .iter()
                    .map(|(id, w)| (tb.name(tb.ty(*id).unwrap().name_off), *w))
                    .collect();
                assert!(!by_name.contains_key("k_leg") && !by_name.contains_key("k_plain"));
                // libbpf reads the same tags (its byte-swapped split BTF is left alone).
                if e == Endian::Little {
                    let tp = tagged.dir.join("o.ko.BTF");
                    let bp = match f.base {
                        None => None,
                        Some(Some(p)) => Some(p.to_path_buf()),
                        Some(None) => Some(tagged.dir.join("o.ko.BTF.base")),
                    };
                    match libbpf_decl_tags(&tp, bp.as_deref(), DECL_TAG_ARG_PREFIX) {
                        Ok(Ok(lines)) => {
                            let mut got: Vec<(String, String, i32)> = lines
                                .iter()
                                .map(|l| {
                                    let v: Vec<&str> = l.split(' ').collect();
                                    (v[0].into(), v[1].into(), v[2].parse().unwrap())
                                })
                                .collect();
                            got.sort();
                            assert_eq!(got, expected_tags(), "{tag}: libbpf");
                            libbpf_checked += 1;
                        }
                        Ok(Err(why)) => panic!("{tag}: libbpf refuses the tagged BTF: {why}"),
                        Err(why) => libbpf_skipped = Some(why),
                    }
                }
            }
        }
    }
    match libbpf_skipped {
        Some(why) if libbpf_checked == 0 => {
            eprintln!("SKIPPED the libbpf part of tags_are_the_facts_of_the_extended_sets_and_read_back: {why}")
        }
        _ => eprintln!("libbpf read the tags of {libbpf_checked} outputs"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_sets_of_facts_and_facts_beyond_the_prototype_are_refused() {
    let dir = tmpdir("arg-decl-tags-refused");
    let e = Endian::Little;
    let (base, split, _) = btfs(e);
    let basep = write(&dir, "base", &base);
    let splitp = write(&dir, "mod.BTF.1", &split);
    let args = [os("--btf"), os(&splitp), os("-b"), os(&basep)];
    let targs = [&[os("--arg-decl-tags")], &args[..]].concat();
    let cases = [
        (
            "two-sets",
            sets(KF_PARAM_NULLABLE | KF_PARAM_RCU, 0),
            "the decl tags of one FUNC hold one set of facts",
        ),
        (
            "implicit",
            sets(KF_PARAM_NULLABLE, 1),
            "kfunc k_implicit: argument 1 has flags KF_PARAM_CONST but its BTF prototype has \
             1 parameter(s)",
        ),
    ];
    for (tag, s, needle) in cases {
        let obj = object(true, e, &s);
        let plain = run_tool_status(&bin(), &args, &dir, &format!("{tag}-0"), "o.ko", &obj);
        assert!(plain.out.ok, "{tag}: without the option: {}", plain.stderr);
        let t = run_tool_status(&bin(), &targs, &dir, &format!("{tag}-1"), "o.ko", &obj);
        assert!(
            !t.out.ok && t.stderr.contains(needle),
            "{tag}: {}",
            t.stderr
        );
        if tag == "two-sets" {
            for part in [
                "kfunc k_opt has argument 1 flags ",
                "KF_PARAM_NULLABLE in set 'xset_a'",
                "KF_PARAM_NULLABLE|KF_PARAM_RCU in set 'xset_b'",
            ] {
                assert!(t.stderr.contains(part), "{tag}: {part}: {}", t.stderr);
            }
        }
        assert_eq!(files_in(&t.dir), ["o.ko"], "{tag}: files written");
    }
    // Only the Linux 7.3 flow writes BTF.
    let obj = object(true, e, &sets(KF_PARAM_NULLABLE, 0));
    let o = write(&dir, "x.ko", &obj);
    for extra in [&[][..], &[os("--in-place"), os("--btf"), os(&splitp)][..]] {
        let a = [
            &[os("--arg-decl-tags"), os("-b"), os(&basep)],
            extra,
            &[os(&o)],
        ]
        .concat();
        let r = run(&a);
        assert!(!r.ok, "{extra:?}: {}", r.stderr);
    }
    assert_eq!(std::fs::read(&o).unwrap(), obj);
    // --patch_btfids ignores it (gen-btf.sh passes RESOLVE_BTFIDS, options and all, to both
    // of its calls).
    let t = run_tool_status(&bin(), &targs, &dir, "patch", "o.ko", &obj);
    assert!(t.out.ok, "{}", t.stderr);
    let ko = t.dir.join("o.ko");
    let blob = t.dir.join("o.ko.BTF_ids");
    let r = run(&[
        os("--arg-decl-tags"),
        os("--patch_btfids"),
        os(&blob),
        os(&ko),
    ]);
    assert!(r.ok, "--arg-decl-tags --patch_btfids: {}", r.stderr);
    let patched = std::fs::read(&ko).unwrap();
    let c = btfids_post::detached::collect(&ko, &patched).unwrap();
    let ids = c.ids.map(|i| i.data.to_vec());
    assert_eq!(ids, t.out.btf_ids, "OBJ's .BTF_ids is not the blob");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The option changes nothing where there is no extended set (or no `.BTF_ids`): OBJ.BTF
/// and OBJ.BTF_ids are the bytes written without it.
#[test]
fn without_extended_sets_the_output_is_unchanged() {
    let dir = tmpdir("arg-decl-tags-none");
    for e in [Endian::Little, Endian::Big] {
        let (base, split, _) = btfs(e);
        let basep = write(&dir, &format!("base-{e:?}"), &base);
        let splitp = write(&dir, &format!("mod-{e:?}.BTF.1"), &split);
        let legacy = sets(KF_PARAM_NULLABLE, 0).split_off(2);
        let obj = object(true, e, &legacy);
        let args = [os("--btf"), os(&splitp), os("-b"), os(&basep)];
        let targs = [&[os("--arg-decl-tags")], &args[..]].concat();
        let a = run_tool_status(&bin(), &args, &dir, &format!("{e:?}-0"), "o.ko", &obj);
        let b = run_tool_status(&bin(), &targs, &dir, &format!("{e:?}-1"), "o.ko", &obj);
        assert!(a.out.ok && b.out.ok, "{}{}", a.stderr, b.stderr);
        assert!(a.out == b.out, "{e:?}: outputs differ");
        assert!(a.out.btf_ids.is_some());
        // No .BTF_ids at all: nothing to tag, and -v still says so.
        let bare = build(true, e, &[sec(".data", vec![0; 8])], &[]);
        let vargs = [&[os("-v")], &targs[..]].concat();
        let a = run_tool_status(&bin(), &args, &dir, &format!("{e:?}-2"), "o.ko", &bare);
        let b = run_tool_status(&bin(), &vargs, &dir, &format!("{e:?}-3"), "o.ko", &bare);
        assert!(a.out.ok && b.out.ok, "{}{}", a.stderr, b.stderr);
        assert!(
            a.out == b.out && a.out.btf_ids.is_none(),
            "{e:?}: no .BTF_ids"
        );
        let line = format!("{ARG_DECL_TAGS_LINE}0 tags on 0 kfuncs; 0 entries in extended sets");
        assert!(b.stderr.contains(&line), "{}", b.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
