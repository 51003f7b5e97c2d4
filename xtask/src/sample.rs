//! `cargo xtask sample [--variant args|legacy|both]`: build the Rust kfunc sample module.
//!
//! Steps: build `kfunc-macros` (the proc-macro, for the host, with the same rustc the
//! kernel uses) and `btfids-post` with cargo; copy `kernel-sample/` to a per-variant build
//! directory under `target/kfunc-sample/<variant>/`; run Kbuild there with
//! `make -C <kernel tree> LLVM=-19 M=<dir> KFUNC_MACROS=<.so> RESOLVE_BTFIDS=<btfids-post>`.
//! Kbuild's module post-link step (`scripts/Makefile.modfinal`) then runs pahole and
//! `$(RESOLVE_BTFIDS) -b vmlinux <ko>`, i.e. btfids-post.
//!
//! Variants:
//! - `args`: patched kernel, btfids-post writes the extended set8 (per-argument flags);
//! - `legacy`: unpatched kernel, `btfids-post --legacy-set8` (function flags only): the
//!   control run;
//! - `compat`: unpatched kernel, extended set8 (what an old kernel sees of a module built
//!   for the new layout): it must refuse the module;
//! - `intree`: patched kernel, the rust series' in-tree `samples/rust/rust_kfunc.ko` as the
//!   kernel build made it (the tree's own resolve_btfids); not built here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The in-tree sample module of the rust series, relative to the kernel tree.
pub const INTREE_KO: &str = "samples/rust/rust_kfunc.ko";

/// Which kernel and which set8 layout a build targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Patched kernel, extended set8 with per-argument flags.
    Args,
    /// Unpatched kernel, legacy set8 (function flags only).
    Legacy,
    /// Unpatched kernel, extended set8: a module built for the patched kernel loaded on an
    /// old one, which must refuse it (`register_btf_kfunc_id_set` fails, insmod fails).
    Compat,
    /// Patched kernel, the in-tree sample (`samples/rust/rust_kfunc.ko`, rust series) as
    /// the kernel build made it, BTF by the tree's own resolve_btfids: nothing is built here.
    Intree,
}

impl Variant {
    /// The name used on command lines, in paths and by the selftest runner.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Args => "args",
            Variant::Legacy => "legacy",
            Variant::Compat => "compat",
            Variant::Intree => "intree",
        }
    }
}

/// The sample builds a `--variant` value stands for: `both` is args and legacy, `all` adds
/// compat and intree.
pub fn variants(v: crate::flags::SampleVariants) -> Vec<Variant> {
    use crate::flags::SampleVariants as V;
    match v {
        V::Args => vec![Variant::Args],
        V::Legacy => vec![Variant::Legacy],
        V::Compat => vec![Variant::Compat],
        V::Both => vec![Variant::Args, Variant::Legacy],
        V::Intree => vec![Variant::Intree],
        V::All => vec![
            Variant::Args,
            Variant::Legacy,
            Variant::Compat,
            Variant::Intree,
        ],
    }
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::kernel::repo_root().join("target"))
}

/// The built kernel tree (with `vmlinux`, `arch/x86/boot/bzImage`) for `variant`.
///
/// `KFUNC_KERNEL_ARGS` / `KFUNC_KERNEL_LEGACY` name a tree explicitly; otherwise
/// `kernel::ensure_kernel` builds or reuses the cached tree of `cargo xtask kernel`.
pub fn kernel_tree(variant: Variant) -> Result<PathBuf, String> {
    let var = match variant {
        Variant::Args | Variant::Intree => "KFUNC_KERNEL_ARGS",
        Variant::Legacy | Variant::Compat => "KFUNC_KERNEL_LEGACY",
    };
    let tree = match std::env::var_os(var) {
        Some(p) => PathBuf::from(p),
        None => default_tree(variant)?,
    };
    for f in ["vmlinux", "arch/x86/boot/bzImage", ".config"] {
        if !tree.join(f).is_file() {
            return Err(format!(
                "kernel tree {} for variant {} has no {f} (not built?)",
                tree.display(),
                variant.name()
            ));
        }
    }
    Ok(tree)
}

/// The tree `cargo xtask kernel` builds (and caches) for `variant`.
fn default_tree(variant: Variant) -> Result<PathBuf, String> {
    let kv = match variant {
        Variant::Args | Variant::Intree => crate::kernel::Variant::Patched,
        Variant::Legacy | Variant::Compat => crate::kernel::Variant::Unpatched,
    };
    Ok(crate::kernel::ensure_kernel(kv)?.tree)
}

/// The kernel's rustc version line (`CONFIG_RUSTC_VERSION_TEXT`), from its `.config`.
fn kernel_rustc(tree: &Path) -> Result<String, String> {
    let cfg = fs::read_to_string(tree.join(".config"))
        .map_err(|e| format!("{}/.config: {e}", tree.display()))?;
    cfg.lines()
        .find_map(|l| l.strip_prefix("CONFIG_RUSTC_VERSION_TEXT="))
        .map(|s| s.trim_matches('"').to_string())
        .ok_or_else(|| {
            format!(
                "{}/.config has no CONFIG_RUSTC_VERSION_TEXT",
                tree.display()
            )
        })
}

/// Host tools: (`libkfunc_macros.so`, `btfids-post`), built in release mode with cargo.
///
/// The proc-macro must be built by the rustc that builds the module: the versions are
/// compared with the kernel's `.config`.
pub fn build_host_tools(tree: &Path) -> Result<(PathBuf, PathBuf), String> {
    let want = kernel_rustc(tree)?;
    let out = Command::new("rustc")
        .arg("--version")
        .current_dir(crate::kernel::repo_root())
        .output()
        .map_err(|e| format!("rustc --version: {e}"))?;
    let have = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if have != want {
        return Err(format!(
            "the kernel {} was configured with `{want}` but cargo's rustc is `{have}`: \
             the proc-macro must be built by the kernel's rustc",
            tree.display()
        ));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    crate::deps::run_visible(
        Command::new(cargo)
            .args([
                "build",
                "--release",
                "-p",
                "kfunc-macros",
                "-p",
                "btfids-post",
            ])
            .current_dir(crate::kernel::repo_root()),
        "cargo build --release -p kfunc-macros -p btfids-post",
    )?;
    let rel = target_dir().join("release");
    let so = rel.join("libkfunc_macros.so");
    let post = rel.join("btfids-post");
    for p in [&so, &post] {
        if !p.is_file() {
            return Err(format!("cargo did not produce {}", p.display()));
        }
    }
    Ok((so, post))
}

fn copy_if_changed(from: &Path, to: &Path) -> Result<(), String> {
    let new = fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    if fs::read(to).ok().as_deref() == Some(&new[..]) {
        return Ok(()); // keep the mtime: make stays incremental
    }
    fs::write(to, new).map_err(|e| format!("{}: {e}", to.display()))
}

/// Build `kfunc_sample.ko` for `variant` against `tree`; returns the module's path.
/// [`Variant::Intree`]: the tree's `samples/rust/rust_kfunc.ko`, which its build made.
pub fn build_sample(variant: Variant, tree: &Path) -> Result<PathBuf, String> {
    if variant == Variant::Intree {
        let ko = tree.join(INTREE_KO);
        return if ko.is_file() {
            Ok(ko)
        } else {
            Err(format!(
                "{} is missing: the kernel {} was not built with the rust series \
                 (CONFIG_SAMPLE_RUST_KFUNC=m, kernel/config.patched)",
                ko.display(),
                tree.display()
            ))
        };
    }
    let (so, post) = build_host_tools(tree)?;
    let src = crate::kernel::repo_root().join("kernel-sample");
    let dir = target_dir().join("kfunc-sample").join(variant.name());
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for f in ["Kbuild", "kfunc_sample.rs"] {
        copy_if_changed(&src.join(f), &dir.join(f))?;
    }
    // A new btfids-post, proc-macro or kernel must redo the module's link and post-link
    // step; Kbuild only tracks the sources.
    let stamp = dir.join(".inputs");
    let inputs = format!(
        "{}\n{}\n{}\n",
        fingerprint(&so)?,
        fingerprint(&post)?,
        fingerprint(&tree.join("vmlinux"))?
    );
    if fs::read_to_string(&stamp).ok().as_deref() != Some(&inputs) {
        for f in ["kfunc_sample.o", "kfunc_sample.ko"] {
            let _ = fs::remove_file(dir.join(f));
        }
    }
    let resolve = match variant {
        Variant::Args | Variant::Compat | Variant::Intree => post.display().to_string(),
        Variant::Legacy => format!("{} --legacy-set8", post.display()),
    };
    let mut make = Command::new("make");
    make.arg("-C")
        .arg(tree)
        .arg(crate::kernel::LLVM)
        // The kernel's Rust lints (safety comments, ...) through clippy-driver.
        .arg("CLIPPY=1")
        .arg(format!("M={}", dir.display()))
        .arg(format!("KFUNC_MACROS={}", so.display()))
        .arg(format!("RESOLVE_BTFIDS={resolve}"))
        .arg("modules")
        .env("LIBCLANG_PATH", crate::kernel::LIBCLANG_PATH);
    crate::deps::run_filtered(
        &mut make,
        &format!(
            "building kernel-sample ({}) against {}",
            variant.name(),
            tree.display()
        ),
    )?;
    fs::write(&stamp, inputs).map_err(|e| format!("{}: {e}", stamp.display()))?;
    let ko = dir.join("kfunc_sample.ko");
    if !ko.is_file() {
        return Err(format!("Kbuild did not produce {}", ko.display()));
    }
    Ok(ko)
}

/// Size and modification time of `p`, enough to notice a rebuilt file.
fn fingerprint(p: &Path) -> Result<String, String> {
    let m = fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let t = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok(format!("{} {} {t}", p.display(), m.len()))
}

/// `cargo xtask sample [--variant args|legacy|both]` (default `both`).
pub fn run(f: &crate::flags::Sample) -> Result<(), String> {
    for variant in variants(f.variant) {
        let tree = kernel_tree(variant)?;
        let ko = build_sample(variant, &tree)?;
        println!("sample: {} -> {}", variant.name(), ko.display());
    }
    Ok(())
}
