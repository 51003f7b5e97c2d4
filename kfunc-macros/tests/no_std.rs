//! Kernel mode: the expansion of `#[kfunc]` + `kfunc_set!` compiles in a `#![no_std]` crate
//! with only `core` (no other `--extern` than the proc-macro), `-C panic=abort`, and the
//! kernel's flags (`--cfg MODULE`, its lint levels, `-D warnings`), for both editions the
//! kernel may use. The object's `.BTF_ids` and `.kfunc.meta` are then checked.

use kfunc_layout::{MetaRecord, META_SECTION, SET8_ARGS_ENTRY_SIZE, SET8_HEADER_SIZE};
mod common;

use common::{assert_exported, endian, proc_macro_so, symbol};
use object::{Object, ObjectSection, ObjectSymbol};
use std::process::Command;

#[test]
fn kernel_mode_expansion_compiles_no_std() {
    let Some(so) = proc_macro_so() else {
        eprintln!(
            "SKIPPED: no libkfunc_macros-*.so next to the test binary (not a cargo test run?)"
        );
        return;
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/no_std_module.rs"
    );
    let dir = std::env::temp_dir().join(format!("kfunc-no-std-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for edition in ["2021", "2024"] {
        let obj = dir.join(format!("module-{edition}.o"));
        let out = Command::new(&rustc)
            .args([
                "--edition",
                edition,
                "--crate-type=lib",
                "--crate-name=sample",
                "--emit=obj",
            ])
            .args([
                "-C",
                "panic=abort",
                "-C",
                "opt-level=2",
                "-C",
                "relocation-model=static",
            ])
            .args(["--cfg", "MODULE"])
            .args([
                "-Dunsafe_op_in_unsafe_fn",
                "-Dnon_ascii_idents",
                "-Wmissing_docs",
            ])
            .args(["-Wrust_2018_idioms", "-Wunreachable_pub", "-Dwarnings"])
            .arg("--extern")
            .arg(format!("kfunc_macros={}", so.display()))
            .arg("-o")
            .arg(&obj)
            .arg(fixture)
            .output()
            .expect("run rustc");
        assert!(
            out.status.success(),
            "edition {edition}: rustc failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "warnings: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        let data = std::fs::read(&obj).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let e = endian(&file);
        let set = symbol(&file, "__BTF_ID__kfunc_args__SAMPLE_KFUNCS");
        assert_eq!(
            set.size() as usize,
            SET8_HEADER_SIZE + 3 * SET8_ARGS_ENTRY_SIZE
        );
        let entries = file
            .symbols()
            .filter(|s| {
                s.name()
                    .is_ok_and(|n| n.starts_with("__BTF_ID__func__bpf_sample_"))
            })
            .count();
        assert_eq!(entries, 3);
        // A relocatable object keeps one `.kfunc.meta` section per record.
        let mut names = Vec::new();
        for sec in file.sections().filter(|s| s.name() == Ok(META_SECTION)) {
            let d = sec.data().unwrap();
            for r in MetaRecord::read_all(d, e).expect("records decode") {
                names.push(r.name.to_string());
            }
        }
        names.sort();
        assert_eq!(
            names,
            ["bpf_sample_get", "bpf_sample_put", "bpf_sample_sum"]
        );
        for f in ["bpf_sample_get", "bpf_sample_put", "bpf_sample_sum"] {
            assert_exported(&file, f);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
