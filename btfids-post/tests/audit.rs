//! `btfids-post audit`: on a synthetic vmlinux and module (resolved by btfids-post first),
//! and, when a kernel build exists, on the test kernel's vmlinux.

mod common;

use btfids_post::btf::*;
use common::*;
use kfunc_layout::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The synthetic kfuncs: (name, [(param, type)]) with types "obj" (struct task_struct *),
/// "mem" (void *), "u32", "u64".
const KFUNCS: &[(&str, &[(&str, &str)])] = &[
    ("k_release", &[("p", "obj")]),
    ("k_mem", &[("buf__nullable", "mem"), ("len__sz", "u32")]),
    ("k_two", &[("dst", "obj"), ("src", "obj")]),
    (
        "k_rcu",
        &[("t", "obj"), ("hint__nullable", "obj"), ("n__k", "u64")],
    ),
    ("k_plain", &[("x", "u32")]),
    ("k_get", &[("t", "obj"), ("n", "u32")]),
    ("k_dup", &[("ptr", "obj"), ("ptr__nullable", "obj")]),
];

fn base_btf(e: Endian) -> Vec<u8> {
    let mut b = BtfBuilder::new(e, None);
    let n = b.add_str("unsigned int");
    let uint = b.add_type(n, KIND_INT, 0, 4, &[32]);
    let n = b.add_str("u32");
    let u32t = b.add_type(n, KIND_TYPEDEF, 0, uint, &[]);
    let n = b.add_str("long long unsigned int");
    let ull = b.add_type(n, KIND_INT, 0, 8, &[64]);
    let n = b.add_str("u64");
    let u64t = b.add_type(n, KIND_TYPEDEF, 0, ull, &[]);
    let n = b.add_str("task_struct");
    let ts = b.add_type(n, KIND_STRUCT, 0, 8, &[]);
    let pts = b.add_type(0, KIND_PTR, 0, ts, &[]);
    let pvoid = b.add_type(0, KIND_PTR, 0, 0, &[]);
    for (f, params) in KFUNCS {
        let mut words = Vec::new();
        for (pn, pt) in *params {
            words.push(b.add_str(pn));
            words.push(match *pt {
                "obj" => pts,
                "mem" => pvoid,
                "u32" => u32t,
                "u64" => u64t,
                _ => unreachable!(),
            });
        }
        // k_get returns struct task_struct *, the others u32.
        let ret = if *f == "k_get" { pts } else { u32t };
        let proto = b.add_type(0, KIND_FUNC_PROTO, params.len() as u32, ret, &words);
        let n = b.add_str(f);
        b.add_type(n, KIND_FUNC, FUNC_GLOBAL, proto, &[]);
    }
    b.finish()
}

fn vmlinux(e: Endian) -> Vec<u8> {
    let mut ids = Ids::new(e);
    ids.set8(
        "kset",
        BTF_SET8_KFUNCS,
        &[
            ("k_release", KF_RELEASE, [0; 5]),
            ("k_mem", 0, [0; 5]),
            ("k_two", KF_RELEASE, [0; 5]),
            ("k_rcu", KF_RCU, [0; 5]),
            ("k_get", KF_ACQUIRE | KF_RET_NULL, [0; 5]),
            ("k_dup", 0, [0; 5]),
        ],
    );
    // A set8 that is not a kfunc set: its entries are not kfuncs.
    ids.set8("other", 0, &[("k_plain", 0, [0; 5])]);
    let secs = vec![sec(".BTF_ids", ids.data), sec(".BTF", base_btf(e))];
    build(true, e, &secs, &ids.syms)
}

fn module(e: Endian, base: &Btf<'_>) -> Vec<u8> {
    let mut b = BtfBuilder::new(base.endian, Some(base));
    let n = b.add_str("len");
    let l = b.add_str("buf");
    // k_mod(void *buf, u32 len): the module's own copy of the prototype, plain names.
    let proto = b.add_type(0, KIND_FUNC_PROTO, 2, 2, &[l, 7, n, 2]);
    let f = b.add_str("k_mod");
    b.add_type(f, KIND_FUNC, FUNC_GLOBAL, proto, &[]);
    let mut ids = Ids::new(e);
    ids.set8(
        "mset",
        BTF_SET8_ARGS_HEADER_FLAGS,
        &[(
            "k_mod",
            0,
            [KF_PARAM_NULLABLE, KF_PARAM_SIZE | kf_arg_mem(0), 0, 0, 0],
        )],
    );
    let secs = vec![sec(".BTF_ids", ids.data), sec(".BTF", b.finish())];
    build(true, e, &secs, &ids.syms)
}

fn arg(k: &Value, i: usize) -> &Value {
    &k["args"][i]
}

fn kfunc<'a>(a: &'a Value, name: &str) -> &'a Value {
    a["kfuncs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the audit"))
}

#[test]
fn synthetic_vmlinux_and_module() {
    let d = tmpdir("audit");
    let e = Endian::Little;
    let v = d.join("vmlinux");
    std::fs::write(&v, vmlinux(e)).unwrap();
    let r = run(&[os(&v)]);
    assert!(r.ok, "resolve vmlinux: {}", r.stderr);
    let vbytes = std::fs::read(&v).unwrap();
    let raw = btfids_post::io::btf_bytes(&v, &vbytes, ".BTF").unwrap();
    let base = Btf::parse(raw, None).unwrap();
    let m = d.join("m.ko");
    std::fs::write(&m, module(e, &base)).unwrap();
    let r = run(&[os("-b"), os(&v), os(&m)]);
    assert!(r.ok, "resolve module: {}", r.stderr);

    let r = run(&[os("audit"), os("--json"), os(&v), os(&m)]);
    assert!(r.ok, "audit: {}", r.stderr);
    let a: Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = a["kfuncs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    // Exactly the entries of the KFUNCS sets (k_plain is only in a non-kfunc set8).
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "k_dup",
            "k_get",
            "k_mem",
            "k_mod",
            "k_rcu",
            "k_release",
            "k_two"
        ]
    );

    // Parameter names and suffixes come from the BTF FUNC_PROTO.
    for (f, params) in KFUNCS.iter().filter(|(f, _)| *f != "k_plain") {
        let k = kfunc(&a, f);
        assert_eq!(k["args"].as_array().unwrap().len(), params.len(), "{f}");
        for (i, (pn, pt)) in params.iter().enumerate() {
            assert_eq!(arg(k, i)["name"], *pn, "{f} arg{i}");
            assert_eq!(
                arg(k, i)["pointer"],
                matches!(*pt, "obj" | "mem"),
                "{f} {pn}"
            );
        }
    }
    let k = kfunc(&a, "k_mem");
    assert_eq!(arg(k, 0)["from_suffix"], KF_PARAM_NULLABLE);
    assert_eq!(arg(k, 1)["from_suffix"], KF_PARAM_SIZE | kf_arg_mem(0));
    assert_eq!(arg(k, 1)["plain_name"], "len");
    assert_eq!(k["uses_suffixes"], true);

    let k = kfunc(&a, "k_release");
    assert_eq!(k["flags"], KF_RELEASE);
    assert_eq!(arg(k, 0)["from_func_flags"], KF_PARAM_RELEASE);
    assert_eq!(k["uses_suffixes"], false);

    let k = kfunc(&a, "k_two");
    assert_eq!(k["release_ambiguous"], true);
    assert_eq!(arg(k, 1)["release_candidate"], true);

    let k = kfunc(&a, "k_rcu");
    assert_eq!(arg(k, 0)["from_func_flags"], KF_PARAM_RCU);
    assert_eq!(arg(k, 1)["from_suffix"], KF_PARAM_NULLABLE);
    assert_eq!(arg(k, 1)["ctype"], "struct task_struct *");
    assert_eq!(arg(k, 2)["from_suffix"], KF_PARAM_CONST);
    assert_eq!(arg(k, 2)["from_func_flags"], 0);

    // KF_ACQUIRE: the argument of the returned type is the acquire source.
    let k = kfunc(&a, "k_get");
    assert_eq!(arg(k, 0)["from_func_flags"], KF_PARAM_ACQUIRE);
    assert_eq!(arg(k, 1)["from_func_flags"], 0);

    // Dropping the suffix of ptr__nullable would give two parameters named ptr.
    let k = kfunc(&a, "k_dup");
    assert!(arg(k, 1)["notes"][0]
        .as_str()
        .unwrap()
        .contains("collides with arg0"));
    assert_eq!(arg(k, 0)["notes"].as_array().unwrap().len(), 0);

    // The module's extended set: declared flags are shown, types come from the base.
    let k = kfunc(&a, "k_mod");
    assert_eq!(k["layout"], "Extended");
    assert_eq!(arg(k, 0)["declared"], KF_PARAM_NULLABLE);
    assert_eq!(arg(k, 1)["declared"], KF_PARAM_SIZE | kf_arg_mem(0));
    assert_eq!(arg(k, 1)["ctype"], "u32");

    let s = &a["summary"];
    assert_eq!(s["objects"], 2);
    assert_eq!(s["kfunc_sets"], 2);
    assert_eq!(s["extended_sets"], 1);
    assert_eq!(s["kfuncs"], 7);
    assert_eq!(s["name_collisions"], 1);
    assert_eq!(s["acquire_source"], 1);
    assert_eq!(s["kfuncs_with_suffixes"], 3);
    assert_eq!(s["suffixes"]["__sz"], 1);
    assert_eq!(s["func_flags"]["KF_RELEASE"], 2);
    assert_eq!(s["release_single"], 1);
    assert_eq!(s["release_ambiguous"], 1);

    // The text form says the same.
    let r = run(&[os("audit"), os(&v), os(&m)]);
    assert!(r.ok);
    assert!(
        r.stdout
            .contains("len__sz: u32  [__sz -> len]  => KF_PARAM_SIZE|KF_PARAM_MEM(0)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("7 distinct kfuncs"), "{}", r.stdout);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_input_is_a_clear_error() {
    let d = tmpdir("audit-bad");
    let missing = d.join("no-such-vmlinux");
    let r = run(&[os("audit"), os(&missing)]);
    assert!(!r.ok);
    assert!(r.stderr.contains("no-such-vmlinux"), "{}", r.stderr);
    let r = run(&[os("audit")]);
    assert!(!r.ok);
    assert!(r.stderr.contains("usage"), "{}", r.stderr);
    // A kfunc set whose ELF has no .BTF: the error names the file and the section.
    let mut ids = Ids::new(Endian::Little);
    ids.set8("kset", BTF_SET8_KFUNCS, &[("k_plain", 0, [0; 5])]);
    let f = d.join("nobtf.o");
    let bytes = build(
        true,
        Endian::Little,
        &[sec(".BTF_ids", ids.data)],
        &ids.syms,
    );
    std::fs::write(&f, &bytes).unwrap();
    let r = run(&[os("audit"), os(&f)]);
    assert!(!r.ok);
    assert!(
        r.stderr.contains("nobtf.o") && r.stderr.contains(".BTF"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&f).unwrap(), bytes, "input left unchanged");
    let _ = std::fs::remove_dir_all(&d);
}

/// A built test kernel: `$KFUNC_AUDIT_VMLINUX`, else any cached build of this project.
fn test_kernel_vmlinux() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("KFUNC_AUDIT_VMLINUX") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var("HOME").ok()?;
    let root = Path::new(&home).join(".cache/kfunc-args/kernel");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("stamp").exists() && p.join("linux/vmlinux").exists())
        .collect();
    dirs.sort();
    dirs.first().map(|p| p.join("linux/vmlinux"))
}

#[test]
fn test_kernel_vmlinux_against_its_source() {
    let Some(v) = test_kernel_vmlinux() else {
        println!("SKIP: no built test kernel (cargo xtask kernel, or KFUNC_AUDIT_VMLINUX=...)");
        return;
    };
    let tree = v.parent().unwrap();
    let r = run(&[os("audit"), os("--json"), os(&v)]);
    assert!(r.ok, "audit {}: {}", v.display(), r.stderr);
    let a: Value = serde_json::from_str(&r.stdout).unwrap();
    let kfuncs = a["kfuncs"].as_array().unwrap();
    assert!(!kfuncs.is_empty(), "a BPF kernel has kfuncs");
    // Cross-check with the source: every kfunc is named in a BTF_ID_FLAGS(func, ...) line
    // and every suffixed parameter name appears in the source.
    let out = std::process::Command::new("grep")
        .args([
            "-rhoE",
            "--include=*.c",
            r"BTF_ID_FLAGS\(func, *[A-Za-z0-9_]+",
        ])
        .args(["kernel", "net", "fs", "mm", "drivers", "security", "lib"])
        .current_dir(tree)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    let declared: std::collections::HashSet<&str> = listed
        .lines()
        .filter_map(|l| l.rsplit([',', ' ']).next())
        .collect();
    let mut suffixed = 0;
    let mut via_macro = 0;
    for k in kfuncs {
        let name = k["name"].as_str().unwrap();
        if !declared.contains(name) {
            // Sets built by macros (XDP_METADATA_KFUNC_xxx) name the kfunc elsewhere.
            let st = std::process::Command::new("grep")
                .args(["-rqw", "--include=*.[ch]", name, "kernel", "net", "include"])
                .current_dir(tree)
                .status()
                .unwrap();
            assert!(
                st.success(),
                "{name} is not in the source of {}",
                tree.display()
            );
            via_macro += 1;
        }
        for g in k["args"].as_array().unwrap() {
            if g["suffix"].is_string() {
                suffixed += 1;
                let pn = g["name"].as_str().unwrap();
                let st = std::process::Command::new("grep")
                    .args(["-rqw", "--include=*.c", pn, "kernel", "net", "fs"])
                    .current_dir(tree)
                    .status()
                    .unwrap();
                assert!(st.success(), "{name}: parameter {pn} not in the source");
            }
        }
    }
    println!(
        "audit of {}: {} entries, {} suffixed parameters, {} kfuncs declared through macros",
        v.display(),
        kfuncs.len(),
        suffixed,
        via_macro
    );
    assert!(suffixed > 0, "6.12 has suffixed kfunc parameters");
}
