//! Synthetic inputs built by the test: extended sets in the Linux 7.3 flow against the
//! patched 7.3 resolve_btfids (every class and byte order); the Linux 6.12 in-place mode
//! against a Linux 6.12 resolve_btfids when one exists (7.3 tools no longer resolve in
//! place: that comparison is skipped with them), and against itself: extended sets, BTF
//! generation for Rust kfuncs, record cross-checks, idempotence, and a corpus of
//! malformed inputs. The 7.3 flow's other comparisons are in `tests/gen_btf.rs`.

mod common;

use btfids_post::btf::*;
use common::*;
use kfunc_layout::*;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Base BTF ("vmlinux") as raw BTF.
fn base_btf(e: Endian) -> Vec<u8> {
    let mut b = BtfBuilder::new(e, None);
    let n = b.add_str("int");
    let int = b.add_type(n, KIND_INT, 0, 4, &[(1 << 24) | 32]);
    let n = b.add_str("unsigned int");
    let uint = b.add_type(n, KIND_INT, 0, 4, &[32]);
    let n = b.add_str("u32");
    b.add_type(n, KIND_TYPEDEF, 0, uint, &[]);
    let n = b.add_str("long long unsigned int");
    let ull = b.add_type(n, KIND_INT, 0, 8, &[64]);
    let n = b.add_str("u64");
    b.add_type(n, KIND_TYPEDEF, 0, ull, &[]);
    let n = b.add_str("task_struct");
    let pid = b.add_str("pid");
    let ts = b.add_type(n, KIND_STRUCT, 1, 8, &[pid, int, 0]);
    let p = b.add_type(0, KIND_PTR, 0, ts, &[]);
    let t = b.add_str("t");
    let proto = b.add_type(0, KIND_FUNC_PROTO, 1, int, &[t, p]);
    let n = b.add_str("bpf_c_kfunc");
    b.add_type(n, KIND_FUNC, FUNC_GLOBAL, proto, &[]);
    let n = b.add_str("task_struct");
    b.add_type(n, KIND_STRUCT, 0, 8, &[]); // a second task_struct: "multiple IDs"
    let n = b.add_str("u_thing");
    b.add_type(n, KIND_UNION, 0, 4, &[]);
    let n = b.add_str("pid_t");
    b.add_type(n, KIND_TYPEDEF, 0, int, &[]);
    b.finish()
}

/// Split BTF of a C module on top of `base`.
fn split_btf(base: &Btf<'_>) -> Vec<u8> {
    let mut b = BtfBuilder::new(base.endian, Some(base));
    let n = b.add_str("mod_struct");
    b.add_type(n, KIND_STRUCT, 0, 4, &[]);
    let proto = b.add_type(0, KIND_FUNC_PROTO, 0, 0, &[]);
    let n = b.add_str("mod_func");
    b.add_type(n, KIND_FUNC, FUNC_GLOBAL, proto, &[]);
    let n = b.add_str("bpf_c_kfunc");
    b.add_type(n, KIND_FUNC, FUNC_GLOBAL, proto, &[]);
    b.finish()
}

/// A C module: legacy sets only, split BTF with FUNCs.
fn c_module(is64: bool, e: Endian, base: &Btf<'_>) -> Vec<u8> {
    c_module_with(is64, e, base, Vec::new())
}

fn c_module_with(is64: bool, e: Endian, base: &Btf<'_>, extra: Vec<Sec>) -> Vec<u8> {
    let mut ids = Ids::new(e);
    ids.id("struct", "task_struct");
    ids.id("struct", "mod_struct");
    ids.id("union", "u_thing");
    ids.id("typedef", "pid_t");
    ids.id("func", "mod_func");
    ids.id("struct", "nothing_like_this");
    ids.set("myset", &["mod_func", "bpf_c_kfunc"]);
    ids.set8(
        "lset",
        BTF_SET8_KFUNCS,
        &[
            ("mod_func", KF_ACQUIRE | KF_RET_NULL, [0; 5]),
            ("bpf_c_kfunc", KF_RCU, [0; 5]),
        ],
    );
    ids.id("func", "mod_func");
    ids_module(is64, base, ids, extra)
}

fn rust_records() -> Vec<MetaRecord<'static>> {
    vec![
        MetaRecord {
            name: "bpf_rust_a",
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
            name: "bpf_rust_b",
            flags: KF_RELEASE,
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
        MetaRecord {
            name: "bpf_rust_c",
            flags: 0,
            arg_flags: [0, KF_PARAM_SIZE | kf_arg_mem(0), 0, 0, 0],
            ret: MetaType::new("", "u64", TYPE_SCALAR, 0, 8),
            args: vec![
                MetaType::new("p", "void", TYPE_POINTER, 0, 0),
                MetaType::new("n", "u32", TYPE_SCALAR, 0, 4),
            ],
            size: 0,
        },
    ]
}

/// A Rust module: an extended set (two Rust kfuncs and a C one), a legacy set, records,
/// and the empty split BTF pahole writes for Rust code.
fn rust_module(
    e: Endian,
    base: &Btf<'_>,
    records: &[MetaRecord<'_>],
    tweak: impl FnOnce(&mut Ids),
) -> Vec<u8> {
    let mut ids = Ids::new(e);
    ids.id("struct", "task_struct");
    ids.id("struct", "SampleObj");
    let r = records;
    ids.set8(
        "rset",
        BTF_SET8_ARGS_HEADER_FLAGS,
        &[
            ("bpf_rust_b", r[1].flags, r[1].arg_flags),
            ("bpf_c_kfunc", KF_RCU, [0; 5]),
            ("bpf_rust_a", r[0].flags, r[0].arg_flags),
            ("bpf_rust_c", r[2].flags, r[2].arg_flags),
        ],
    );
    ids.set8("lset", BTF_SET8_KFUNCS, &[("bpf_c_kfunc", KF_RCU, [0; 5])]);
    tweak(&mut ids);
    let meta: Vec<u8> = records.iter().flat_map(|r| r.write(e)).collect();
    let empty = BtfBuilder::new(e, Some(base)).finish();
    let secs = vec![
        sec(".BTF_ids", ids.data),
        sec(".BTF", empty),
        sec(META_SECTION, meta),
    ];
    build(true, e, &secs, &ids.syms)
}

/// An ELF of the given class and `base`'s byte order: `ids` as `.BTF_ids`, the C module's
/// split BTF as `.BTF`, then `extra` sections.
fn ids_module(is64: bool, base: &Btf<'_>, ids: Ids, extra: Vec<Sec>) -> Vec<u8> {
    let mut secs = vec![sec(".BTF_ids", ids.data), sec(".BTF", split_btf(base))];
    secs.extend(extra);
    build(is64, base.endian, &secs, &ids.syms)
}

/// The base BTF of byte order `e` written to `dir/name`: (raw bytes, path).
fn base_file(dir: &Path, name: &str, e: Endian) -> (Vec<u8>, PathBuf) {
    let bytes = base_btf(e);
    let path = write(dir, name, &bytes);
    (bytes, path)
}

/// A test's scratch directory, with the base BTF of byte order `e` written in it as `base`.
struct Fixture {
    dir: PathBuf,
    e: Endian,
    base_bytes: Vec<u8>,
    basep: PathBuf,
}

impl Fixture {
    fn new(tag: &str, e: Endian) -> Self {
        let dir = tmpdir(tag);
        let (base_bytes, basep) = base_file(&dir, "base", e);
        Fixture {
            dir,
            e,
            base_bytes,
            basep,
        }
    }
    /// The base BTF, parsed.
    fn base(&self) -> Btf<'_> {
        Btf::parse(&self.base_bytes, None).unwrap()
    }
}

/// `btfids-post -b BASE FILE`.
fn resolve(basep: &Path, p: &Path) -> Run {
    run(&[os("-b"), os(basep), os(p)])
}

/// `btfids-post check -b BASE FILE`.
fn check(basep: &Path, p: &Path) -> Run {
    run(&[os("check"), os("-b"), os(basep), os(p)])
}

/// The data of section `name` of a parsed ELF.
fn section<'a>(elf: &btfids_post::elf::ElfFile<'a>, name: &str) -> &'a [u8] {
    elf.section_data(elf.section_by_name(name).unwrap().unwrap())
        .unwrap()
}

/// Run btfids-post again with `args` + `p`: it must succeed and leave `p` as `once`.
fn assert_second_run_no_op(args: &[&OsStr], p: &Path, once: &[u8]) {
    let r = run(&[args, &[os(p)]].concat());
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(
        std::fs::read(p).unwrap(),
        once,
        "second {args:?} run changed the file"
    );
}

/// Run btfids-post with `args` + `p`: it must succeed. Returns the new contents of `p`.
fn resolved(args: &[&OsStr], p: &Path) -> Vec<u8> {
    let r = run(&[args, &[os(p)]].concat());
    assert!(r.ok, "{}", r.stderr);
    std::fs::read(p).unwrap()
}

/// Resolving `p` again changes nothing, and `check` passes.
fn assert_settled(basep: &Path, p: &Path, once: &[u8]) {
    assert_second_run_no_op(&[os("-b"), os(basep)], p, once);
    let c = check(basep, p);
    assert!(c.ok, "{}{}", c.stdout, c.stderr);
}

/// What a Linux 6.12 resolve_btfids and btfids-post's in-place mode made of two copies of
/// one input.
struct Both {
    elf: Vec<u8>,
    stock_out: Vec<u8>,
    post_out: Vec<u8>,
    stock_stderr: String,
    post_stderr: String,
}

/// Write `elf` twice (`dir/{tag}-a.ko`, `dir/{tag}-b.ko`), run `stock ARGS a` (a Linux 6.12
/// tool: in place) and `btfids-post ARGS b`; both must succeed.
fn run_both(stock: &Path, args: &[&OsStr], dir: &Path, tag: &str, elf: Vec<u8>) -> Both {
    let a = write(dir, &format!("{tag}-a.ko"), &elf);
    let b = write(dir, &format!("{tag}-b.ko"), &elf);
    let so = std::process::Command::new(stock)
        .args(args)
        .arg(&a)
        .output()
        .unwrap();
    let stock_stderr = String::from_utf8_lossy(&so.stderr).into_owned();
    assert!(
        so.status.success(),
        "{tag}: {} failed: {stock_stderr}",
        stock.display()
    );
    // 6.12 resolves in place with --btf too; btfids-post needs --in-place for that (its
    // --btf alone is the Linux 7.3 flow).
    let in_place: &[&OsStr] = if args.contains(&os("--btf")) {
        &[os("--in-place")]
    } else {
        &[]
    };
    let mine = run(&[in_place, args, &[os(&b)]].concat());
    assert!(mine.ok, "{tag}: {}", mine.stderr);
    Both {
        elf,
        stock_out: std::fs::read(&a).unwrap(),
        post_out: std::fs::read(&b).unwrap(),
        stock_stderr,
        post_stderr: mine.stderr,
    }
}

/// The Linux 6.12 in-place mode (`btfids-post [-b BASE] ELF`, `--btf FILE --in-place`)
/// against a Linux 6.12 resolve_btfids, which resolves in place too. Linux 7.3's tool has
/// no such mode (it writes OBJ.BTF and OBJ.BTF_ids): with only 7.3 tools this is skipped;
/// `tests/gen_btf.rs` compares the 7.3 flow.
#[test]
fn differential_against_stock_resolve_btfids() {
    let Some(stock) = stock_resolve_btfids() else {
        eprintln!(
            "SKIPPED differential_against_stock_resolve_btfids: no Linux 6.12 resolve_btfids \
             (this compares the 6.12 in-place mode; Linux 7.3's tool has none, and is passed \
             over; set RESOLVE_BTFIDS to a 6.12 tool)"
        );
        return;
    };
    let dir = tmpdir("diff");
    let mut compared = 0;
    for e in [Endian::Little, Endian::Big] {
        let (base_bytes, basep) = base_file(&dir, &format!("base-{e:?}"), e);
        let base = Btf::parse(&base_bytes, None).unwrap();
        for is64 in [true, false] {
            let tag = format!("{e:?}-{is64}");
            let r = run_both(
                &stock,
                &[os("-b"), os(&basep)],
                &dir,
                &tag,
                c_module(is64, e, &base),
            );
            assert_ne!(r.stock_out, r.elf, "stock tool changed nothing?");
            assert!(
                r.stock_out == r.post_out,
                "output differs from resolve_btfids for {e:?} ELF64={is64}"
            );
            assert_eq!(r.post_stderr, r.stock_stderr, "warnings differ");
            compared += 1;
        }
    }
    assert_eq!(compared, 4);
    // --btf: BTF taken from another file (here a copy of the module).
    let e = Endian::Little;
    let (base_bytes, basep) = base_file(&dir, "base-btf", e);
    let base = Btf::parse(&base_bytes, None).unwrap();
    let elf = c_module(true, e, &base);
    let src = write(&dir, "btf-src.ko", &elf);
    let args = [os("--btf"), os(&src), os("-b"), os(&basep)];
    let r = run_both(&stock, &args, &dir, "btf", elf);
    assert!(r.stock_out == r.post_out, "--btf output differs");
    // .BTF.base (distilled base BTF in the module): used as the base, no -b.
    let mut ids = Ids::new(e);
    ids.id("struct", "task_struct");
    ids.id("func", "mod_func");
    ids.set8(
        "lset",
        BTF_SET8_KFUNCS,
        &[("mod_func", 0, [0; 5]), ("bpf_c_kfunc", KF_RCU, [0; 5])],
    );
    let elf = ids_module(true, &base, ids, vec![sec(".BTF.base", base_bytes.clone())]);
    let r = run_both(&stock, &[], &dir, "bb", elf);
    assert_ne!(r.stock_out, r.elf);
    assert!(r.stock_out == r.post_out, ".BTF.base output differs");
}

/// A C module's `.BTF_ids` with two extended sets (the macros of patch 0001) and a legacy
/// kfunc set8, no records: `mod_func` and `bpf_c_kfunc` in all three with the same `KF_*`
/// flags (7.3's resolve_btfids refuses a kfunc whose flags differ between sets), listed in
/// an order the sort changes; the per-argument flags of an entry may differ between sets
/// (nothing compares them); one unresolved id. `tweak` adds to it.
fn c_ext_ids(e: Endian, tweak: impl FnOnce(&mut Ids)) -> Ids {
    let acq = KF_ACQUIRE | KF_RET_NULL;
    let mut ids = Ids::new(e);
    ids.id("struct", "mod_struct");
    ids.set8(
        "xset",
        BTF_SET8_ARGS_HEADER_FLAGS,
        &[
            ("mod_func", acq, [KF_PARAM_ACQUIRE, 0, 0, 0, KF_PARAM_STR]),
            (
                "bpf_c_kfunc",
                KF_RELEASE,
                [KF_PARAM_RELEASE, KF_PARAM_NULLABLE, 0, 0, 0],
            ),
        ],
    );
    ids.id("func", "nothing_here");
    ids.set8(
        "xset2",
        BTF_SET8_ARGS_HEADER_FLAGS,
        &[
            ("mod_func", acq, [KF_PARAM_ACQUIRE, KF_PARAM_CONST, 0, 0, 0]),
            ("bpf_c_kfunc", KF_RELEASE, [KF_PARAM_RELEASE, 0, 0, 0, 0]),
        ],
    );
    ids.set8(
        "lset",
        BTF_SET8_KFUNCS,
        &[
            ("mod_func", acq, [0; 5]),
            ("bpf_c_kfunc", KF_RELEASE, [0; 5]),
        ],
    );
    tweak(&mut ids);
    ids
}

/// The object of the Linux 7.3 flow: `ids` as `.BTF_ids` and a symbol table (its BTF is in
/// the detached file gen-btf.sh passes with `--btf`).
fn ids_object(is64: bool, e: Endian, ids: Ids) -> Vec<u8> {
    build(is64, e, &[sec(".BTF_ids", ids.data)], &ids.syms)
}

/// The extended sets of a resolved `OBJ.BTF_ids` (`ids` laid out as [`c_ext_ids`] laid it
/// out) read back through the final BTF: each sorted by id, and every entry still carries
/// the flags and per-argument flags it was declared with.
fn assert_ext_sets_moved_with_their_flags(ids: &Ids, blob: &[u8], btf: &Btf<'_>) {
    let e = ids.e;
    let mut seen = 0;
    for s in ids
        .syms
        .iter()
        .filter(|s| s.name.starts_with("__BTF_ID__kfunc_args__"))
    {
        let off = s.value as usize;
        let header = e.u32(&ids.data, off + 4).unwrap();
        if header & BTF_SET8_KFUNC_ARGS == 0 {
            continue;
        }
        let n = (s.size as usize - 8) / SET8_ARGS_ENTRY_SIZE;
        let read = |d: &[u8]| -> Vec<Set8ArgsEntry> {
            (0..n)
                .map(|i| Set8ArgsEntry::read(&d[off + 8 + i * SET8_ARGS_ENTRY_SIZE..], e).unwrap())
                .collect()
        };
        assert_eq!(e.u32(blob, off), Some(n as u32), "{}: cnt", s.name);
        assert_eq!(e.u32(blob, off + 4), Some(header), "{}: header", s.name);
        let before = read(&ids.data);
        let after = read(blob);
        assert!(
            after.windows(2).all(|w| w[0].id < w[1].id),
            "{}: not sorted: {after:?}",
            s.name
        );
        // Declared: (name of the entry's symbol, flags, arg flags); resolved: by the FUNC
        // name the id has in the final BTF.
        for (i, b) in before.iter().enumerate() {
            let at = (off + 8 + i * SET8_ARGS_ENTRY_SIZE) as u64;
            let sym = ids.syms.iter().find(|x| x.value == at).unwrap();
            let fname = sym.name.strip_prefix("__BTF_ID__func__").unwrap();
            let fname = &fname[..fname.rfind("__").unwrap()];
            let a = after
                .iter()
                .find(|a| btf.ty(a.id).is_some_and(|t| btf.name(t.name_off) == fname))
                .unwrap_or_else(|| panic!("{}: no entry for {fname}: {after:?}", s.name));
            assert_eq!(
                (a.flags, a.arg_flags),
                (b.flags, b.arg_flags),
                "{}: {fname}",
                s.name
            );
        }
        seen += 1;
    }
    assert!(seen > 0, "no extended set");
}

/// Extended sets in the Linux 7.3 flow (`--btf OBJ.BTF.1 -b vmlinux OBJ`, and with
/// `--distill_base`), against the patched 7.3 resolve_btfids (patch 0002 teaches it the
/// 28-byte entries): OBJ.BTF_ids, OBJ.BTF, OBJ.BTF.base, stderr and exit status identical
/// in both byte orders and ELF classes. A kfunc whose `KF_*` flags differ between two sets
/// (an extended and a legacy one, or two extended ones) is refused by both alike: failing
/// exit status, the same message, nothing written.
#[test]
fn extended_sets_match_the_patched_resolve_btfids() {
    let stock = match patched_resolve_btfids_73() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("SKIPPED extended_sets_match_the_patched_resolve_btfids: {why}");
            return;
        }
    };
    let dir = tmpdir("diff-ext");
    for e in [Endian::Little, Endian::Big] {
        let (base_bytes, basep) = base_file(&dir, &format!("base-{e:?}"), e);
        let base = Btf::parse(&base_bytes, None).unwrap();
        let btfp = write(&dir, &format!("mod-{e:?}.BTF.1"), &split_btf(&base));
        let args = [os("--btf"), os(&btfp), os("-b"), os(&basep)];
        let dargs = [&[os("--distill_base")], &args[..]].concat();
        for is64 in [true, false] {
            let tag = format!("{e:?}-{}", if is64 { 64 } else { 32 });
            let ids = c_ext_ids(e, |_| {});
            let obj = ids_object(is64, e, c_ext_ids(e, |_| {}));
            let out = same_as_stock(&stock, &args, &dir, &tag, &obj);
            let blob = out.btf_ids.expect("OBJ.BTF_ids");
            assert_ne!(blob, ids.data, "{tag}: nothing resolved");
            let fin = out.btf.expect("OBJ.BTF");
            let btf = Btf::parse(&fin, Some(&base)).unwrap();
            assert_ext_sets_moved_with_their_flags(&ids, &blob, &btf);
            // Out-of-tree modules: the same with a distilled base.
            let d = same_as_stock(&stock, &dargs, &dir, &format!("{tag}-distill"), &obj);
            assert!(d.btf_base.is_some(), "{tag}: no OBJ.BTF.base");
            let dbase = d.btf_base.unwrap();
            let dbase = Btf::parse(&dbase, None).unwrap();
            let fin = d.btf.unwrap();
            let btf = Btf::parse(&fin, Some(&dbase)).unwrap();
            assert_ext_sets_moved_with_their_flags(&ids, d.btf_ids.as_ref().unwrap(), &btf);

            // Inconsistent flags: mod_func is KF_ACQUIRE|KF_RET_NULL in the extended sets;
            // a further set, legacy or extended, gives it other flags.
            let lbad = |ids: &mut Ids| {
                ids.set8(
                    "lbad",
                    BTF_SET8_KFUNCS,
                    &[("mod_func", KF_SLEEPABLE, [0; 5])],
                )
            };
            let xbad = |ids: &mut Ids| {
                let entries = [("mod_func", KF_ACQUIRE, [KF_PARAM_ACQUIRE, 0, 0, 0, 0])];
                ids.set8("xbad", BTF_SET8_ARGS_HEADER_FLAGS, &entries)
            };
            let acq = KF_ACQUIRE | KF_RET_NULL;
            for (kind, obj, other) in [
                (
                    "legacy",
                    ids_object(is64, e, c_ext_ids(e, lbad)),
                    KF_SLEEPABLE,
                ),
                (
                    "extended",
                    ids_object(is64, e, c_ext_ids(e, xbad)),
                    KF_ACQUIRE,
                ),
            ] {
                let needle = format!(
                    "ERROR: resolve_btfids: kfunc mod_func has inconsistent flags across BTF ID \
                     sets: {acq:#x} != {other:#x}"
                );
                for (variant, a) in [("", &args[..]), ("-distill", &dargs[..])] {
                    let tag = format!("{tag}-inconsistent-{kind}{variant}");
                    refused_alike(&stock, a, &dir, &tag, &obj, &needle);
                }
            }
            // An extended set whose size is not a header and whole 28-byte entries.
            let odd = ids_object(
                is64,
                e,
                c_ext_ids(e, |ids| {
                    ids.set8(
                        "odd",
                        BTF_SET8_ARGS_HEADER_FLAGS,
                        &[("mod_func", KF_ACQUIRE | KF_RET_NULL, [0; 5])],
                    );
                    let s = ids
                        .syms
                        .iter_mut()
                        .find(|s| s.name == "__BTF_ID__kfunc_args__odd")
                        .unwrap();
                    s.size -= 4;
                }),
            );
            refused_alike(
                &stock,
                &args,
                &dir,
                &format!("{tag}-odd"),
                &odd,
                "is not a header and",
            );
        }
    }
}

#[test]
fn c_module_resolves_and_second_run_is_a_no_op() {
    for e in [Endian::Little, Endian::Big] {
        let f = Fixture::new(&format!("c-{e:?}"), e);
        let base = f.base();
        let p = write(&f.dir, "m.ko", &c_module(true, e, &base));
        let r = resolve(&f.basep, &p);
        assert!(r.ok, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("WARN: resolve_btfids: unresolved symbol nothing_like_this"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("WARN: multiple IDs found for 'task_struct'"),
            "{}",
            r.stderr
        );
        let once = std::fs::read(&p).unwrap();
        assert_settled(&f.basep, &p, &once);
        // --strict refuses the unresolved name and leaves the file alone.
        let fresh = c_module(true, e, &base);
        let p2 = write(&f.dir, "m2.ko", &fresh);
        let r = run(&[os("--strict"), os("-b"), os(&f.basep), os(&p2)]);
        assert!(!r.ok);
        assert!(r.stderr.contains("nothing_like_this"), "{}", r.stderr);
        assert_eq!(std::fs::read(&p2).unwrap(), fresh);
        // check on the unprocessed file lists problems.
        let c = check(&f.basep, &p2);
        assert!(!c.ok);
        assert!(c.stdout.contains("mod_func"), "{}", c.stdout);
    }
}

/// Find a FUNC by name; return (id, proto).
fn func<'a>(btf: &Btf<'a>, name: &str) -> Option<(u32, Type<'a>)> {
    btf.all_types()
        .find(|t| t.kind() == KIND_FUNC && btf.name(t.name_off) == name)
        .map(|t| (t.id, btf.ty(t.size_type).unwrap()))
}

#[test]
fn rust_module_gets_btf_and_extended_set() {
    for e in [Endian::Little, Endian::Big] {
        let f = Fixture::new(&format!("rust-{e:?}"), e);
        let base = f.base();
        let recs = rust_records();
        let input = rust_module(e, &base, &recs, |_| {});
        let p = write(&f.dir, "r.ko", &input);
        let out = resolved(&[os("-v"), os("--strict"), os("-b"), os(&f.basep)], &p);
        let elf = btfids_post::elf::ElfFile::parse(&out).unwrap();
        let raw = section(&elf, ".BTF");
        let btf = Btf::parse(raw, Some(&base)).unwrap();
        assert!(btf.own_count() > 0);
        // FUNC + FUNC_PROTO with parameter names and base types.
        let (a_id, a) = func(&btf, "bpf_rust_a").expect("FUNC bpf_rust_a");
        assert!(a_id >= base.type_count(), "generated in the split BTF");
        let params: Vec<(u32, u32)> = a.params().collect();
        assert_eq!(
            params.iter().map(|p| btf.name(p.0)).collect::<Vec<_>>(),
            ["id", "hint"]
        );
        let id_ty = btf.ty(params[0].1).unwrap();
        assert_eq!(
            (id_ty.kind(), btf.name(id_ty.name_off)),
            (KIND_TYPEDEF, "u32".into())
        );
        let hint = btf.ty(params[1].1).unwrap();
        assert_eq!(hint.kind(), KIND_PTR);
        let c = btf.ty(hint.size_type).unwrap();
        assert_eq!(c.kind(), KIND_CONST);
        let ts = btf.ty(c.size_type).unwrap();
        assert_eq!(
            (ts.kind(), btf.name(ts.name_off)),
            (KIND_STRUCT, "task_struct".into())
        );
        assert!(ts.id < base.type_count());
        let ret = btf.ty(btf.ty(a.size_type).unwrap().size_type).unwrap();
        assert_eq!(
            (
                ret.kind(),
                btf.name(ret.name_off),
                ret.size_type,
                ret.vlen()
            ),
            (KIND_STRUCT, "SampleObj".into(), 16, 0)
        );
        assert_eq!(
            btf.own_types_iter()
                .filter(|t| t.kind() == KIND_STRUCT && btf.name(t.name_off) == "SampleObj")
                .count(),
            1,
            "module struct created once"
        );
        let (_, b) = func(&btf, "bpf_rust_b").unwrap();
        assert_eq!(b.size_type, 0, "void return");
        let (_, cproto) = func(&btf, "bpf_rust_c").unwrap();
        let cp: Vec<(u32, u32)> = cproto.params().collect();
        assert_eq!(btf.ty(cp[0].1).unwrap().size_type, 0, "void *");
        // Extended set: sorted by id, flags and arg flags moved along, matching records.
        let d = section(&elf, ".BTF_ids");
        // rset is after two 4-byte ids
        let off = 8;
        assert_eq!(e.u32(d, off), Some(4));
        assert_eq!(e.u32(d, off + 4), Some(BTF_SET8_ARGS_HEADER_FLAGS));
        let entries: Vec<Set8ArgsEntry> = (0..4)
            .map(|i| Set8ArgsEntry::read(&d[off + 8 + i * SET8_ARGS_ENTRY_SIZE..], e).unwrap())
            .collect();
        assert!(
            entries.windows(2).all(|w| w[0].id < w[1].id),
            "sorted: {entries:?}"
        );
        for en in &entries {
            let t = btf.ty(en.id).unwrap();
            let name = btf.name(t.name_off);
            match recs.iter().find(|r| r.name == name) {
                Some(r) => assert_eq!((en.flags, en.arg_flags), (r.flags, r.arg_flags), "{name}"),
                None => assert_eq!((name.as_str(), en.flags), ("bpf_c_kfunc", KF_RCU)),
            }
        }
        // The struct id list resolved to base and module types.
        assert_eq!(e.u32(d, 4), Some(ret.id));
        // Second run: nothing changes; check passes; dump names everything.
        assert_settled(&f.basep, &p, &out);
        let j = run(&[os("dump"), os("--json"), os("-b"), os(&f.basep), os(&p)]);
        assert!(j.ok, "{}", j.stderr);
        let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
        let rset = v
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "rset")
            .unwrap();
        let a = rset["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "bpf_rust_a")
            .unwrap();
        assert_eq!(a["args"][1]["name"], "hint");
        assert_eq!(a["args"][1]["decoded"], "KF_PARAM_NULLABLE");
        assert_eq!(a["flags_decoded"], "KF_ACQUIRE|KF_RET_NULL");
    }
}

#[test]
fn legacy_set8_mode_and_idempotence() {
    let f = Fixture::new("legacy", Endian::Little);
    let (e, base) = (f.e, f.base());
    let recs = rust_records();
    let p = write(&f.dir, "r.ko", &rust_module(e, &base, &recs, |_| {}));
    let out = resolved(&[os("--legacy-set8"), os("-b"), os(&f.basep)], &p);
    let elf = btfids_post::elf::ElfFile::parse(&out).unwrap();
    let d = section(&elf, ".BTF_ids");
    let off = 8;
    assert_eq!(e.u32(d, off), Some(4));
    assert_eq!(e.u32(d, off + 4), Some(BTF_SET8_KFUNCS));
    let pairs: Vec<(u32, u32)> = (0..4)
        .map(|i| {
            (
                e.u32(d, off + 8 + 8 * i).unwrap(),
                e.u32(d, off + 12 + 8 * i).unwrap(),
            )
        })
        .collect();
    assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0), "{pairs:?}");
    assert!(d[off + 8 + 32..off + 8 + 4 * SET8_ARGS_ENTRY_SIZE]
        .iter()
        .all(|&b| b == 0));
    assert_second_run_no_op(&[os("--legacy-set8"), os("-b"), os(&f.basep)], &p, &out);
    let d = run(&[os("dump"), os("-b"), os(&f.basep), os(&p)]);
    assert!(d.stdout.contains("rset (Converted)"), "{}", d.stdout);
}

/// Write `bytes` to `dir/name` and resolve it against `basep`: it must fail with an error
/// containing `needle` and leave the file as written.
fn refused(dir: &Path, basep: &Path, name: &str, bytes: &[u8], needle: &str) {
    let p = write(dir, name, bytes);
    let r = resolve(basep, &p);
    assert!(!r.ok, "{name}: accepted");
    assert!(r.stderr.contains(needle), "{name}: {}", r.stderr);
    assert_eq!(
        std::fs::read(&p).unwrap(),
        bytes,
        "{name}: file changed on error"
    );
}

#[test]
fn record_mismatches_are_errors_naming_kfunc_and_argument() {
    let f = Fixture::new("mismatch", Endian::Little);
    let (e, base) = (f.e, f.base());
    let recs = rust_records();
    let mut bad = rust_records();
    bad[0].arg_flags[1] = 0; // record says: hint not nullable; the set says nullable
    let input = rust_module(e, &base, &bad, |_| {});
    // Put the set's flags back to the good ones: rebuild with good flags and bad records.
    let good_set = rust_module(e, &base, &recs, |_| {});
    let elf_bad = btfids_post::elf::ElfFile::parse(&input).unwrap();
    let elf_good = btfids_post::elf::ElfFile::parse(&good_set).unwrap();
    let sb = elf_bad.section_by_name(".BTF_ids").unwrap().unwrap().offset as usize;
    let sg = elf_good.section_by_name(".BTF_ids").unwrap().unwrap();
    let mut mixed = input.clone();
    mixed[sb..sb + sg.size as usize].copy_from_slice(elf_good.section_data(sg).unwrap());
    refused(
        &f.dir,
        &f.basep,
        "r.ko",
        &mixed,
        "kfunc bpf_rust_a: argument 1 (hint)",
    );
    // A record that disagrees with a FUNC that exists (mod_func takes no argument).
    let rec = MetaRecord {
        name: "mod_func",
        flags: 0,
        arg_flags: [0; 5],
        ret: MetaType::new("", "void", TYPE_VOID, 0, 0),
        args: vec![MetaType::new("x", "u32", TYPE_SCALAR, 0, 4)],
        size: 0,
    };
    let input = c_module_with(true, e, &base, vec![sec(META_SECTION, rec.write(e))]);
    refused(
        &f.dir,
        &f.basep,
        "c.ko",
        &input,
        "kfunc mod_func: BTF FUNC_PROTO has 0 arguments, the .kfunc.meta record 1",
    );
    // A Rust kfunc named like a vmlinux FUNC.
    let rec = MetaRecord {
        name: "bpf_c_kfunc",
        ..rec
    };
    let input = rust_module(
        e,
        &base,
        &[recs[0].clone(), recs[1].clone(), recs[2].clone(), rec],
        |_| {},
    );
    let needle = "kfunc bpf_c_kfunc: the base BTF already has a FUNC";
    refused(&f.dir, &f.basep, "clash.ko", &input, needle);
    // Unknown per-argument bits in an extended set entry.
    let input = rust_module(e, &base, &recs, |ids| {
        let entries = [("bpf_c_kfunc", 0, [0, 0, 1 << 30, 0, 0])];
        ids.set8("bits", BTF_SET8_ARGS_HEADER_FLAGS, &entries);
    });
    let needle = "set 'bits': kfunc bpf_c_kfunc: argument 2: arg_flags[2] has unknown bits";
    refused(&f.dir, &f.basep, "bits.ko", &input, needle);
    // An extended-set entry with neither record nor FUNC.
    let input = rust_module(e, &base, &recs, |ids| {
        let entries = [("bpf_ghost", 0, [0; 5])];
        ids.set8("xset", BTF_SET8_ARGS_HEADER_FLAGS, &entries);
    });
    let needle = "kfunc bpf_ghost: no .kfunc.meta record and no BTF FUNC";
    refused(&f.dir, &f.basep, "r2.ko", &input, needle);
}

/// Entries no symbol covers keep whatever they hold; huge values must not break the sort
/// (found by the `pipeline` fuzz target: main.c's `*a - *b` is not a total order).
#[test]
fn garbage_in_uncovered_entries_sorts_without_panic() {
    let f = Fixture::new("garbage", Endian::Little);
    let (e, base) = (f.e, f.base());
    let vals = [
        0x7fff_ffffu32,
        0x8000_0001,
        1,
        0xffff_fff0,
        5,
        0x4000_0000,
        0xc000_0000,
        0x8000_0000,
        7,
    ];
    let mut ids = Ids::new(e);
    ids.syms
        .push(sym("__BTF_ID__set__g", 0, 0, 4 + 4 * vals.len() as u64));
    ids.word(0);
    for v in vals {
        ids.word(v);
    }
    let b = ids_module(true, &base, ids, Vec::new());
    let p = write(&f.dir, "g.ko", &b);
    let out = resolved(&[os("-b"), os(&f.basep)], &p);
    let elf = btfids_post::elf::ElfFile::parse(&out).unwrap();
    let d = section(&elf, ".BTF_ids");
    let got: Vec<i32> = (0..vals.len())
        .map(|i| e.u32(d, 4 + 4 * i).unwrap() as i32)
        .collect();
    assert!(got.windows(2).all(|w| w[0] <= w[1]), "{got:?}");
}

/// Malformed inputs: each gives an error naming what is wrong, and the file is unchanged.
#[test]
fn malformed_corpus() {
    let f = Fixture::new("bad", Endian::Little);
    let (e, base) = (f.e, f.base());
    let good = c_module(true, e, &base);
    let elf = btfids_post::elf::ElfFile::parse(&good).unwrap();
    let ids_off = elf.section_by_name(".BTF_ids").unwrap().unwrap().offset as usize;
    let btf_off = elf.section_by_name(".BTF").unwrap().unwrap().offset as usize;
    let mut cases: Vec<(String, Vec<u8>, &str)> = Vec::new();
    for n in [0, 3, 16, 40, 64, 100, good.len() / 2, good.len() - 1] {
        cases.push((format!("truncated-{n}"), good[..n].to_vec(), ""));
    }
    let mut b = good.clone();
    b[4] = 3;
    cases.push(("bad-class".into(), b, "class"));
    let mut b = good.clone();
    b[5] = 2; // claims big-endian: offsets become nonsense
    cases.push(("wrong-endian".into(), b, ""));
    let mut b = good.clone();
    b[btf_off + 20..btf_off + 24].copy_from_slice(&0x7fff_0000u32.to_le_bytes()); // str_len
    cases.push(("btf-bad-str-len".into(), b, ".BTF"));
    let mut b = good.clone();
    b[btf_off + 8..btf_off + 12].copy_from_slice(&3u32.to_le_bytes()); // type_off unaligned
    cases.push(("btf-bad-type-off".into(), b, ".BTF"));
    let mut b = good.clone();
    b[btf_off] = 0;
    cases.push(("btf-bad-magic".into(), b, ".BTF"));
    // Missing .BTF: rename the section ".BTF" to ".BTX".
    let shstr = elf
        .sections
        .iter()
        .find(|s| s.name == b".shstrtab")
        .unwrap();
    let sh = &good[shstr.offset as usize..(shstr.offset + shstr.size) as usize];
    let pos = sh.windows(5).position(|w| w == b".BTF\0").unwrap();
    let mut b = good.clone();
    b[shstr.offset as usize + pos + 3] = b'X';
    cases.push(("missing-btf".into(), b, ".BTF"));
    // Duplicate .BTF_ids: rename .BTF to .BTF_ids? Different length; build one instead.
    let mut ids = Ids::new(e);
    ids.id("func", "mod_func");
    let dup = build(
        true,
        e,
        &[
            sec(".BTF_ids", ids.data.clone()),
            sec(".BTF_ids", ids.data.clone()),
            sec(".BTF", split_btf(&base)),
        ],
        &ids.syms,
    );
    cases.push((
        "duplicate-section".into(),
        dup,
        "duplicate section .BTF_ids",
    ));
    // Duplicate set symbol.
    let mut ids = Ids::new(e);
    ids.set("s", &["mod_func"]);
    ids.syms.push(sym("__BTF_ID__set__s", 0, 0, 8));
    let b = ids_module(true, &base, ids, Vec::new());
    cases.push(("duplicate-set".into(), b, "duplicate set 's'"));
    // A set whose count overflows the section.
    let mut ids = Ids::new(e);
    ids.set8("big", BTF_SET8_KFUNCS, &[("mod_func", 0, [0; 5])]);
    ids.syms[0].size = 0x1_0000_0008;
    let b = ids_module(true, &base, ids, Vec::new());
    cases.push(("set-count-overflow".into(), b, "set 'big'"));
    // Extended set of a size that is not whole entries.
    let mut ids = Ids::new(e);
    ids.set8(
        "odd",
        BTF_SET8_ARGS_HEADER_FLAGS,
        &[("mod_func", 0, [0; 5])],
    );
    ids.syms[0].size -= 4;
    let b = ids_module(true, &base, ids, Vec::new());
    cases.push(("extended-set-odd-size".into(), b, "set 'odd'"));
    // Unknown extended set version.
    let mut ids = Ids::new(e);
    ids.set8(
        "v9",
        BTF_SET8_KFUNCS | BTF_SET8_KFUNC_ARGS | (9 << BTF_SET8_VERSION_SHIFT),
        &[("mod_func", 0, [0; 5])],
    );
    let b = ids_module(true, &base, ids, Vec::new());
    cases.push(("extended-set-version".into(), b, "set 'v9'"));
    // Unsupported prefix and an unparsable name.
    let mut ids = Ids::new(e);
    ids.id("func", "mod_func");
    ids.syms.push(sym("__BTF_ID__bogus__x__1", 0, 0, 4));
    let b = ids_module(true, &base, ids, Vec::new());
    cases.push(("unsupported-prefix".into(), b, "__BTF_ID__bogus__x__1"));
    let mut ids2 = Ids::new(e);
    ids2.id("func", "mod_func");
    ids2.syms[0].name = "__BTF_ID__func__nounderscore".into();
    let b = ids_module(true, &base, ids2, Vec::new());
    cases.push(("unparsable-name".into(), b, "__BTF_ID__func__nounderscore"));
    // A symbol outside the section.
    let mut ids = Ids::new(e);
    ids.id("func", "mod_func");
    ids.syms[0].value = 4096;
    let b = ids_module(true, &base, ids, Vec::new());
    cases.push(("symbol-out-of-bounds".into(), b, "out of bounds"));
    // Section data beyond the end of the file.
    let mut b = good.clone();
    let h = elf.section_by_name(".BTF_ids").unwrap().unwrap().hdr_off as usize;
    b[h + 32..h + 40].copy_from_slice(&(1u64 << 40).to_le_bytes());
    cases.push(("section-beyond-eof".into(), b, ".BTF_ids"));
    // A bad .kfunc.meta record.
    let mut recs = rust_records();
    recs[0].arg_flags[4] = KF_PARAM_NULLABLE; // flag on an argument it does not have
    let b = rust_module(e, &base, &recs, |_| {});
    cases.push(("bad-record".into(), b, ".kfunc.meta"));
    let _ = ids_off;

    for (name, bytes, needle) in &cases {
        let p = write(&f.dir, &format!("{name}.ko"), bytes);
        let r = resolve(&f.basep, &p);
        assert!(!r.ok, "{name}: accepted");
        assert!(
            r.stderr.contains(&*p.to_string_lossy()),
            "{name}: error does not name the file: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(needle),
            "{name}: error lacks '{needle}': {}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
        assert_eq!(&std::fs::read(&p).unwrap(), bytes, "{name}: file changed");
    }
}
