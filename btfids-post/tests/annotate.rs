//! `btfids-post annotate`: the facts of a module's extended set8, read from the ELF, written
//! into (and checked against) the C header bpftool prints from its BTF.
//!
//! A synthetic object always: its `.BTF_ids` resolved by the tool, then the header annotated
//! and checked, and edited headers refused. With the Rust sample module of `cargo xtask
//! sample` (`target/kfunc-sample/args/kfunc_sample.ko`), the kernel tree it was built against
//! (`KFUNC_KERNEL_TREE`) and the bpftool `cargo xtask selftests` builds
//! (`~/.cache/kfunc-args/bpftool/*/out/bpftool`), also the real thing: bpftool prints every
//! kfunc of the module and the annotations agree with its set8 (`SKIPPED` without them).

mod common;

use btfids_post::btf::*;
use common::*;
use kfunc_layout::*;
use std::path::{Path, PathBuf};

/// An object with its own BTF (`int`, `u32`, `struct obj`, three kfunc FUNCs with named
/// parameters, one plain function) and an extended kfunc set holding the three kfuncs.
fn object(e: Endian) -> Vec<u8> {
    let mut b = BtfBuilder::new(e, None);
    let n = b.add_str("unsigned int");
    let uint = b.add_type(n, KIND_INT, 0, 4, &[32]);
    let n = b.add_str("u32");
    let u32t = b.add_type(n, KIND_TYPEDEF, 0, uint, &[]);
    let n = b.add_str("obj");
    let obj = b.add_type(n, KIND_STRUCT, 0, 8, &[]);
    let pobj = b.add_type(0, KIND_PTR, 0, obj, &[]);
    let (o, h, d, l) = (
        b.add_str("o"),
        b.add_str("hint"),
        b.add_str("data"),
        b.add_str("len"),
    );
    let p1 = b.add_type(0, KIND_FUNC_PROTO, 2, u32t, &[o, pobj, h, pobj]);
    let n = b.add_str("bpf_t_ref");
    b.add_type(n, KIND_FUNC, FUNC_GLOBAL, p1, &[]);
    let p2 = b.add_type(0, KIND_FUNC_PROTO, 1, pobj, &[o, pobj]);
    let n = b.add_str("bpf_t_get");
    b.add_type(n, KIND_FUNC, FUNC_GLOBAL, p2, &[]);
    let p3 = b.add_type(0, KIND_FUNC_PROTO, 2, u32t, &[d, pobj, l, u32t]);
    let n = b.add_str("bpf_t_sum");
    b.add_type(n, KIND_FUNC, FUNC_GLOBAL, p3, &[]);
    let n = b.add_str("plain_func");
    b.add_type(n, KIND_FUNC, FUNC_GLOBAL, p3, &[]);
    let btf = b.finish();

    let mut ids = Ids::new(e);
    ids.set8(
        "tset",
        BTF_SET8_ARGS_HEADER_FLAGS,
        &[
            (
                "bpf_t_sum",
                0,
                [KF_PARAM_NULLABLE, KF_PARAM_SIZE | kf_arg_mem(0), 0, 0, 0],
            ),
            ("bpf_t_ref", 0, [0, KF_PARAM_NULLABLE, 0, 0, 0]),
            (
                "bpf_t_get",
                KF_ACQUIRE | KF_RET_NULL,
                [KF_PARAM_ACQUIRE, 0, 0, 0, 0],
            ),
        ],
    );
    build(
        true,
        e,
        &[sec(".BTF_ids", ids.data), sec(".BTF", btf)],
        &ids.syms,
    )
}

/// What bpftool prints for [`object`]'s kfuncs (names sorted), with a vmlinux kfunc that is
/// not in the object's sets.
const HEADER: &str = "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n\
struct obj {\n\tlong: 64;\n};\n\n\
/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n\
extern struct obj *bpf_t_get(struct obj *o) __weak __ksym;\n\
extern u32 bpf_t_ref(struct obj *o, struct obj *hint) __weak __ksym;\n\
extern u32 bpf_t_sum(struct obj *data, u32 len) __weak __ksym;\n\
extern void bpf_vmlinux_one(struct obj *p) __weak __ksym;\n\
#endif\n\n#endif /* __VMLINUX_H__ */\n";

fn resolved_object(dir: &Path) -> PathBuf {
    let elf = write(dir, "t.o", &object(Endian::Little));
    let r = run(&[os(&elf)]);
    assert!(r.ok, "resolve: {}", r.stderr);
    elf
}

#[test]
fn annotates_from_the_extended_set8_and_checks() {
    let dir = tmpdir("annotate");
    let elf = resolved_object(&dir);
    let raw = write(&dir, "raw.h", HEADER.as_bytes());
    let out = dir.join("ann.h");
    let r = run(&[os("annotate"), os(&raw), os(&elf), os("-o"), os(&out)]);
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("3 kfuncs of t.o, 3 prototypes, 4 parameters and 1 functions annotated"),
        "{}",
        r.stderr
    );
    let ann = std::fs::read_to_string(&out).unwrap();
    for want in [
        "extern struct obj *bpf_t_get(struct obj *o /* acquire */) __weak __ksym; /* flags: acquire, ret_null */\n",
        "extern u32 bpf_t_ref(struct obj *o, struct obj *hint /* nullable */) __weak __ksym;\n",
        "extern u32 bpf_t_sum(struct obj *data /* nullable */, u32 len /* size(of = data) */) __weak __ksym;\n",
        "extern void bpf_vmlinux_one(struct obj *p) __weak __ksym;\n",
    ] {
        assert!(ann.contains(want), "missing {want:?} in\n{ann}");
    }
    // Standard input gives the same.
    let piped = std::process::Command::new(bin())
        .args([os("annotate"), os("-"), os(&elf)])
        .stdin(std::fs::File::open(&raw).unwrap())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&piped.stdout), ann);

    let r = run(&[os("annotate"), os("--check"), os(&out), os(&elf)]);
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    // Every disagreement fails the check, naming the kfunc.
    for (from, to, who) in [
        (" /* nullable */) __weak", ") __weak", "bpf_t_ref"),
        (
            "len /* size(of = data) */",
            "len /* constant */",
            "bpf_t_sum",
        ),
        (
            " /* flags: acquire, ret_null */",
            " /* flags: acquire */",
            "bpf_t_get",
        ),
        (
            "struct obj *p)",
            "struct obj *p /* nullable */)",
            "bpf_vmlinux_one",
        ),
    ] {
        let bad = write(&dir, "bad.h", ann.replacen(from, to, 1).as_bytes());
        let r = run(&[os("annotate"), os("--check"), os(&bad), os(&elf)]);
        assert!(!r.ok, "{from} -> {to} passed the check");
        assert!(r.stdout.contains(&format!("{who}:")), "{}", r.stdout);
    }
    // The raw header is not annotated: refused by the check.
    let r = run(&[os("annotate"), os("--check"), os(&raw), os(&elf)]);
    assert!(!r.ok && r.stdout.contains("banner"), "{}", r.stdout);
    // A kfunc of the set that bpftool did not print (no bpf_kfunc decl tag): refused.
    let missing = write(
        &dir,
        "missing.h",
        HEADER
            .replace(
                "extern u32 bpf_t_ref(struct obj *o, struct obj *hint) __weak __ksym;\n",
                "",
            )
            .as_bytes(),
    );
    let r = run(&[os("annotate"), os(&missing), os(&elf)]);
    assert!(
        !r.ok && r.stderr.contains("bpf_t_ref: no prototype"),
        "{}",
        r.stderr
    );
}

/// `~/.cache/kfunc-args/bpftool/<version>/out/bpftool`, newest version first.
fn cached_bpftool() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let dir = Path::new(&home).join(".cache/kfunc-args/bpftool");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path().join("out/bpftool"))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v.pop()
}

#[test]
fn sample_module_every_kfunc_printed_and_annotated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let ko = target.join("kfunc-sample/args/kfunc_sample.ko");
    let tree = std::env::var_os("KFUNC_KERNEL_TREE").map(PathBuf::from);
    let (Some(tree), Some(bpftool), true) = (tree, cached_bpftool(), ko.is_file()) else {
        println!(
            "SKIPPED sample_module_every_kfunc_printed_and_annotated: needs {} (cargo xtask \
             sample), KFUNC_KERNEL_TREE and bpftool (cargo xtask selftests)",
            ko.display()
        );
        return;
    };
    let dir = tmpdir("annotate-sample");
    let raw = std::process::Command::new(&bpftool)
        .arg("-B")
        .arg(tree.join("vmlinux"))
        .args(["btf", "dump", "file"])
        .arg(&ko)
        .args(["format", "c"])
        .output()
        .unwrap();
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    let raw = write(&dir, "raw.h", &raw.stdout);
    // Every kfunc of the module's sets: the dump's entries.
    let d = run(&[os("dump"), os("--json"), os(&ko)]);
    assert!(d.ok, "{}", d.stderr);
    let sets: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
    let names: Vec<String> = sets
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["entries"].as_array().unwrap().iter())
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 20, "{names:?}");
    let text = std::fs::read_to_string(&raw).unwrap();
    for n in &names {
        assert!(
            text.lines().any(
                |l| l.starts_with("extern ") && l.contains(&format!(" {n}("))
                    || l.contains(&format!("*{n}("))
            ),
            "bpftool printed no prototype for {n}"
        );
    }
    let out = dir.join("ann.h");
    let r = run(&[os("annotate"), os(&raw), os(&ko), os("-o"), os(&out)]);
    assert!(r.ok, "{}", r.stderr);
    let ann = std::fs::read_to_string(&out).unwrap();
    assert!(
        ann.contains("struct SampleObj *hint /* nullable */) __weak __ksym;"),
        "bpf_sample_refcount's hint is not annotated nullable"
    );
    let r = run(&[os("annotate"), os("--check"), os(&out), os(&ko)]);
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    let bad = write(
        &dir,
        "bad.h",
        ann.replacen("src /* release */", "src", 1).as_bytes(),
    );
    let r = run(&[os("annotate"), os("--check"), os(&bad), os(&ko)]);
    assert!(
        !r.ok && r.stdout.contains("bpf_sample_transfer:"),
        "{}",
        r.stdout
    );
    println!(
        "annotate: {} kfuncs of kfunc_sample.ko printed by bpftool and annotated",
        names.len()
    );
}
