//! Kernel mode, for real: builds `tests/kmod/kfunc_try.rs` as an out-of-tree module of a
//! built 7.3 Rust kernel tree (`make LLVM=-19 M=... modules`, the kernel's own rustc flags,
//! lints and objtool), with `--extern kfunc_macros=<this test run's proc-macro>` in
//! `rustflags-y`, then checks the `.ko`: set symbols in `.BTF_ids`, records in
//! `.kfunc.meta`, exported kfunc symbols.
//!
//! The tree is `$KFUNC_KERNEL_TREE`, else the newest patched tree `cargo xtask kernel`
//! built; without a built tree the test is skipped (and says so). The tree needs the BPF
//! bindings of the series (patch 5: `btf_kfunc_id_set`, `register_btf_kfunc_id_set`). 7.3
//! needs LLVM 17 or newer: clang-19 (`LLVM=-19`) and its libclang for bindgen. The stock
//! resolve_btfids knows only 8-byte set8 pairs (`btfids-post` is the tool for these sets),
//! so `RESOLVE_BTFIDS` is `tests/kmod/noop-resolve-btfids.sh`, which resolves nothing but
//! writes the `.BTF` file 7.3's `scripts/gen-btf.sh` wants.

mod common;

use common::{assert_exported, endian, proc_macro_so, symbol};
use kfunc_layout::{
    kf_arg_mem, KF_ACQUIRE, KF_PARAM_ACQUIRE, KF_PARAM_NULLABLE, KF_PARAM_RELEASE, KF_PARAM_SIZE,
    KF_PARAM_STR, KF_RELEASE, KF_RET_NULL,
};
use kfunc_layout::{
    MetaRecord, Set8ArgsEntry, META_SECTION, SET8_ARGS_ENTRY_SIZE, SET8_HEADER_SIZE,
};
use object::{Object, ObjectSection, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `$KFUNC_KERNEL_TREE`, else the newest finished patched tree of `cargo xtask kernel`
/// (`~/.cache/kfunc-args/kernel/patched-<hash>/linux`, no `.lock` beside it), else the old
/// manual location; it must be a built Rust kernel tree with the series' BPF bindings.
fn kernel_tree() -> Result<PathBuf, String> {
    let home = PathBuf::from(std::env::var_os("HOME").ok_or("no HOME")?);
    let tree = match std::env::var_os("KFUNC_KERNEL_TREE") {
        Some(t) => PathBuf::from(t),
        None => std::fs::read_dir(home.join(".cache/kfunc-args/kernel"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("patched-") && !n.ends_with(".lock"))
                    && !p.with_extension("lock").exists()
            })
            .map(|p| p.join("linux"))
            .filter(|t| t.join("Module.symvers").exists())
            .max_by_key(|t| {
                std::fs::metadata(t.join("Module.symvers"))
                    .and_then(|m| m.modified())
                    .ok()
            })
            .unwrap_or_else(|| home.join(".cache/kfunc-args/manual/unpatched")),
    };
    for f in [
        "Module.symvers",
        "rust/libkernel.rmeta",
        "rust/bindings/bindings_generated.rs",
    ] {
        if !tree.join(f).exists() {
            return Err(format!(
                "{} has no {f} (not a built Rust kernel tree)",
                tree.display()
            ));
        }
    }
    let bindings = std::fs::read_to_string(tree.join("rust/bindings/bindings_generated.rs"))
        .map_err(|e| format!("read bindings: {e}"))?;
    if !bindings.contains("pub struct btf_kfunc_id_set") {
        return Err(format!(
            "{} has no BPF bindings (`btf_kfunc_id_set`: patch 5 of the series)",
            tree.display()
        ));
    }
    Ok(tree)
}

#[test]
fn out_of_tree_module_builds_with_the_macros() {
    let tree = match kernel_tree() {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIPPED: {why}; set KFUNC_KERNEL_TREE to a built 7.3 tree");
            return;
        }
    };
    let Some(so) = proc_macro_so() else {
        eprintln!("SKIPPED: no libkfunc_macros-*.so next to the test binary");
        return;
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kmod");
    let dir = std::env::temp_dir().join(format!("kfunc-kmod-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(src.join("kfunc_try.rs"), dir.join("kfunc_try.rs")).unwrap();
    let kbuild = std::fs::read_to_string(src.join("Kbuild.in")).unwrap();
    std::fs::write(
        dir.join("Kbuild"),
        format!(
            "{kbuild}rustflags-y += --extern kfunc_macros={}\n",
            so.display()
        ),
    )
    .unwrap();
    let out = Command::new("make")
        .arg("-C")
        .arg(&tree)
        .arg("LLVM=-19")
        .arg(format!(
            "RESOLVE_BTFIDS={}",
            src.join("noop-resolve-btfids.sh").display()
        ))
        .arg(format!("M={}", dir.display()))
        .arg("modules")
        .env("LIBCLANG_PATH", "/usr/lib/llvm-19/lib")
        .output()
        .expect("run make");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "module build failed:\n{stderr}");
    // pahole's notes about Rust DWARF are expected; anything from rustc is not.
    let rustc_noise: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("die__process_class") && !l.trim().is_empty())
        .collect();
    assert!(
        rustc_noise.is_empty(),
        "warnings in the module build:\n{}",
        rustc_noise.join("\n")
    );

    let data = std::fs::read(dir.join("kfunc_try.ko")).expect("kfunc_try.ko");
    let file = object::File::parse(&*data).unwrap();
    let e = endian(&file);
    let meta = file
        .section_by_name(META_SECTION)
        .expect("meta section")
        .data()
        .unwrap();
    let recs = MetaRecord::read_all(meta, e).expect("records");
    let flags = |n: &str| {
        let r = recs
            .iter()
            .find(|r| r.name == n)
            .unwrap_or_else(|| panic!("record {n}"));
        (r.flags, r.arg_flags)
    };
    // Written by hand from the attributes in tests/kmod/kfunc_try.rs.
    let want = [
        (
            "bpf_try_get",
            KF_ACQUIRE | KF_RET_NULL,
            [KF_PARAM_ACQUIRE, KF_PARAM_NULLABLE, 0, 0, 0],
        ),
        ("bpf_try_put", KF_RELEASE, [KF_PARAM_RELEASE, 0, 0, 0, 0]),
        (
            "bpf_try_len",
            0,
            [0, KF_PARAM_SIZE | kf_arg_mem(0), KF_PARAM_STR, 0, 0],
        ),
    ];
    assert_eq!(recs.len(), want.len());
    let ids = file.section_by_name(".BTF_ids").expect(".BTF_ids");
    let ids_data = ids.data().unwrap();
    let set = symbol(&file, "__BTF_ID__kfunc_args__TRY_KFUNCS");
    assert_eq!(
        set.size() as usize,
        SET8_HEADER_SIZE + want.len() * SET8_ARGS_ENTRY_SIZE
    );
    let base = (set.address() - ids.address()) as usize;
    for (i, (name, f, a)) in want.iter().enumerate() {
        assert_eq!(flags(name), (*f, *a), "{name}");
        let off = base + SET8_HEADER_SIZE + i * SET8_ARGS_ENTRY_SIZE;
        let entry = Set8ArgsEntry::read(&ids_data[off..off + SET8_ARGS_ENTRY_SIZE], e).unwrap();
        assert_eq!((entry.flags, entry.arg_flags), (*f, *a), "{name} set entry");
        assert_exported(&file, name);
    }
    std::fs::remove_dir_all(&dir).ok();
}
