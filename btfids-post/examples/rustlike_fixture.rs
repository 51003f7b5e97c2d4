//! Make a "Rust-like" module from the `kfunc_ext` C fixture module (captured before
//! resolution): its `.BTF` becomes the 24-byte empty split BTF pahole writes for Rust code,
//! and `.kfunc.meta` records (kfunc-layout's encoding) describe its four kfuncs. Used to
//! check, in a VM, that the kernel loads a module whose BTF btfids-post generated.
//!
//! `cargo run -p btfids-post --example rustlike_fixture -- IN.ko VMLINUX OUT.ko`
//! (needs `llvm-objcopy`).

use btfids_post::btf::{Btf, BtfBuilder};
use kfunc_layout::*;
use std::process::{Command, ExitCode};

fn t(name: &'static str, ty: &'static str, kind: u8, tflags: u8, size: u32) -> MetaType<'static> {
    MetaType {
        name,
        type_name: ty,
        kind,
        tflags,
        size,
    }
}

fn main() -> ExitCode {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [input, vmlinux, out] = &a[..] else {
        eprintln!("usage: rustlike_fixture IN.ko VMLINUX OUT.ko");
        return ExitCode::from(2);
    };
    let e = Endian::Little;
    let vm = std::fs::read(vmlinux).expect("read vmlinux");
    let raw = btfids_post::io::btf_bytes(std::path::Path::new(vmlinux), &vm, ".BTF")
        .expect("vmlinux .BTF");
    let base = Btf::parse(raw, None).expect("vmlinux BTF");
    let empty = BtfBuilder::new(e, Some(&base)).finish();
    let obj = |name| t(name, "ext_obj", TYPE_POINTER, TYPE_F_MODULE, 8);
    let recs = [
        MetaRecord {
            name: "bpf_ext_get",
            flags: KF_ACQUIRE | KF_RET_NULL,
            arg_flags: [0; 5],
            ret: obj(""),
            args: vec![t("id", "u32", TYPE_SCALAR, 0, 4)],
            size: 0,
        },
        MetaRecord {
            name: "bpf_ext_put",
            flags: KF_RELEASE,
            arg_flags: [KF_PARAM_RELEASE, 0, 0, 0, 0],
            ret: t("", "void", TYPE_VOID, 0, 0),
            args: vec![obj("obj")],
            size: 0,
        },
        MetaRecord {
            name: "bpf_ext_read",
            flags: 0,
            arg_flags: [0, KF_PARAM_NULLABLE, 0, 0, 0],
            ret: t("", "u64", TYPE_SCALAR, 0, 8),
            args: vec![obj("obj"), obj("hint")],
            size: 0,
        },
        MetaRecord {
            name: "bpf_ext_fill",
            flags: 0,
            arg_flags: [0, KF_PARAM_SIZE | kf_arg_mem(0), 0, 0, 0],
            ret: t("", "int", TYPE_SCALAR, TYPE_F_SIGNED, 4),
            args: vec![
                t("mem", "void", TYPE_POINTER, 0, 0),
                t("len", "u32", TYPE_SCALAR, 0, 4),
            ],
            size: 0,
        },
    ];
    let meta: Vec<u8> = recs.iter().flat_map(|r| r.write(e)).collect();
    let dir = std::env::temp_dir();
    let (bp, mp) = (dir.join("rustlike.btf"), dir.join("rustlike.meta"));
    std::fs::write(&bp, empty).unwrap();
    std::fs::write(&mp, meta).unwrap();
    let st = Command::new("llvm-objcopy")
        .arg(format!("--update-section=.BTF={}", bp.display()))
        .arg(format!("--add-section={}={}", META_SECTION, mp.display()))
        .arg(input)
        .arg(out)
        .status()
        .expect("run llvm-objcopy");
    if st.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
