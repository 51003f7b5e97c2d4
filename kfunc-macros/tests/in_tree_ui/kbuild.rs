//! The in-tree build of the macros, made on the host the way Kbuild makes it: the files the
//! first patch of `patches/rust/` adds under `rust/macros/` (read from the patch), and 7.3's
//! vendored `proc-macro2`, `quote` and `syn` (`rust/` of a 7.3 source tree, never crates.io)
//! compiled with the flags of the tree's `rust/Makefile`.
//!
//! What differs from Kbuild, none of it reaching a diagnostic: the crate root is a wrapper
//! holding only the lines the patch adds to `rust/macros/lib.rs` (the `kfunc` module and the
//! two entry points), not the kernel's other macros; the tree's `include/generated/rustc_cfg`
//! (`CONFIG_*` cfgs, which the kfunc sources do not test) and its host linker flags are not
//! passed; no dep-info is written.

#[path = "../../../kfunc-layout/tests/common/patch.rs"]
mod patch;

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The vendored crates, as `rust/<dir>` and crate name.
const VENDORED: &[(&str, &str)] = &[
    ("proc-macro2", "proc_macro2"),
    ("quote", "quote"),
    ("syn", "syn"),
];

/// The tarball `cargo xtask kernel` fetches, under `$HOME`, and its top directory.
const TARBALL_IN_CACHE: &str = ".cache/kfunc-args/src/deb/usr/src/linux-source-7.3.tar.xz";
const TOP: &str = "linux-source-7.3";

/// The parts of 7.3's `rust/Makefile` that [`build_rlibs`] and [`build`] follow
/// (flags written out below). A tree whose Makefile lacks one of them is refused, so that a
/// change of the kernel's recipe cannot go unnoticed.
const MAKEFILE_RECIPE: &[&str] = &[
    "proc_macro2-cfgs := \\\n    feature=\"proc-macro\" \\\n    wrap_proc_macro \\\n    \
     $(if $(call rustc-min-version,108800),proc_macro_span_file proc_macro_span_location)\n",
    "proc_macro2-flags := \\\n    --cap-lints=allow \\\n    $(call cfgs-to-flags,$(proc_macro2-cfgs))\n",
    "quote-cfgs := \\\n    feature=\"proc-macro\"\n",
    "quote-skip_flags := \\\n    --edition=2021\n",
    "quote-flags := \\\n    --edition=2018 \\\n    --cap-lints=allow \\\n    --extern proc_macro2 \\\n    \
     $(call cfgs-to-flags,$(quote-cfgs))\n",
    "syn-cfgs := \\\n    feature=\"clone-impls\" \\\n    feature=\"derive\" \\\n    feature=\"full\" \\\n    \
     feature=\"parsing\" \\\n    feature=\"printing\" \\\n    feature=\"proc-macro\" \\\n    \
     feature=\"visit\" \\\n    feature=\"visit-mut\"\n",
    "syn-flags := \\\n    --cap-lints=allow \\\n    --extern proc_macro2 \\\n    --extern quote \\\n    \
     $(call cfgs-to-flags,$(syn-cfgs))\n",
    "\t\t$(filter-out $(skip_flags),$(rust_common_flags) $(rustc_target_flags)) \\\n\
     \t\t--emit=dep-info=$(depfile) --emit=link=$@ --crate-type rlib -O \\\n",
    "\t$(if $(skip_clippy),$(RUSTC),$(RUSTC_OR_CLIPPY)) $(rust_common_flags) $(rustc_target_flags) \\\n",
    "\t\t--emit=dep-info=$(depfile) --emit=link=$@ --extern proc_macro \\\n\
     \t\t--crate-type proc-macro -L$(objtree)/$(obj)/host \\\n",
    "$(obj)/$(libmacros_name): private rustc_target_flags = \\\n    \
     --extern proc_macro2 --extern quote --extern syn\n",
];

/// Whether the tree's top Makefile is of Linux 7.3.
fn is_7_3(tree: &Path) -> bool {
    fs::read_to_string(tree.join("Makefile")).is_ok_and(|m| {
        m.lines().any(|l| l.trim() == "VERSION = 7")
            && m.lines().any(|l| l.trim() == "PATCHLEVEL = 3")
    })
}

fn has_vendored(tree: &Path) -> bool {
    is_7_3(tree)
        && tree.join("rust/Makefile").exists()
        && VENDORED
            .iter()
            .all(|(d, _)| tree.join("rust").join(d).join("lib.rs").exists())
}

/// A 7.3 tree with `rust/{proc-macro2,quote,syn}` and the Makefiles: `$KFUNC_KERNEL_TREE`
/// (what `cargo xtask test` sets), a cached kernel tree (`~/.cache/kfunc-args/kernel/*/linux`,
/// unpatched first), or those files extracted from the cached `linux-source-7.3` tarball
/// into `scratch/src`; `Err` says why there is none. Neither series touches these files
/// (checked by [`series_leave_vendored_alone`]), so any 7.3 tree has the same.
pub fn kernel_tree(scratch: &Path) -> Result<PathBuf, String> {
    let mut candidates = Vec::new();
    if let Some(t) = std::env::var_os("KFUNC_KERNEL_TREE") {
        candidates.push(PathBuf::from(t));
    }
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let mut cached: Vec<PathBuf> = fs::read_dir(home.join(".cache/kfunc-args/kernel"))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("linux")))
                .collect()
        })
        .unwrap_or_default();
    cached.sort();
    cached.sort_by_key(|p| !p.to_string_lossy().contains("/unpatched-"));
    candidates.extend(cached);
    if let Some(t) = candidates.into_iter().find(|t| has_vendored(t)) {
        return Ok(t);
    }
    let tarball = home.join(TARBALL_IN_CACHE);
    let Ok(meta) = fs::metadata(&tarball) else {
        return Err(format!(
            "no 7.3 kernel tree with rust/syn (KFUNC_KERNEL_TREE, ~/.cache/kfunc-args/kernel/*/linux) \
             and no {} (run `cargo xtask kernel`, which fetches linux-source-7.3)",
            tarball.display()
        ));
    };
    let dir = scratch.join("src");
    let key = format!(
        "{} {:?} {}",
        tarball.display(),
        meta.modified().ok(),
        meta.len()
    );
    cached_dir(&dir, &key, |out| {
        let mut tar = Command::new("nice");
        tar.args(["-n", "19", "tar", "-xJf"])
            .arg(&tarball)
            .arg("-C")
            .arg(out)
            .arg(format!("{TOP}/Makefile"))
            .arg(format!("{TOP}/rust/Makefile"));
        for (d, _) in VENDORED {
            tar.arg(format!("{TOP}/rust/{d}"));
        }
        let st = tar.status().map_err(|e| format!("tar: {e}"))?;
        if !st.success() || !has_vendored(&out.join(TOP)) {
            return Err(format!(
                "tar -xJf {} did not give rust/{{proc-macro2,quote,syn}} ({st})",
                tarball.display()
            ));
        }
        Ok(())
    })?;
    Ok(dir.join(TOP))
}

/// No patch of either series touches the vendored crates or `rust/Makefile`: the tree the
/// crates come from may be patched or not.
pub fn series_leave_vendored_alone(repo: &Path) -> Result<(), String> {
    for dir in ["patches", "patches/rust"] {
        for p in patch::patch_files(&repo.join(dir)) {
            let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            for (path, _) in patch::sections(&text) {
                let vendored = VENDORED
                    .iter()
                    .any(|(d, _)| path.starts_with(&format!("rust/{d}/")));
                if vendored || path == "rust/Makefile" {
                    return Err(format!("{} changes {path}", p.display()));
                }
            }
        }
    }
    Ok(())
}

/// The rustc the tests run (`$RUSTC`, else `rustc` from `PATH`, as Cargo's own).
pub fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string())
}

/// `rustc -vV`: part of every build key.
fn rustc_version() -> Result<String, String> {
    let out = Command::new(rustc())
        .arg("-vV")
        .output()
        .map_err(|e| format!("{}: {e}", rustc()))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// rustc's minor version (`1.95.0` -> 95).
fn rustc_minor(version: &str) -> Option<u32> {
    let release = version.lines().find_map(|l| l.strip_prefix("release: "))?;
    release.split('.').nth(1)?.parse().ok()
}

/// `rust_common_flags` of the tree's top Makefile, as its words.
fn rust_common_flags(tree: &Path) -> Result<Vec<String>, String> {
    let text = fs::read_to_string(tree.join("Makefile")).map_err(|e| format!("Makefile: {e}"))?;
    let mut lines = text.lines();
    let first = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("export rust_common_flags := "))
        .ok_or("Makefile: no `export rust_common_flags := `")?;
    let mut words = String::from(first);
    let mut more = first.ends_with('\\');
    while more {
        let l = lines
            .next()
            .ok_or("Makefile: rust_common_flags unterminated")?;
        more = l.ends_with('\\');
        words.push(' ');
        words.push_str(l);
    }
    Ok(words
        .split_whitespace()
        .filter(|w| *w != "\\")
        .map(String::from)
        .collect())
}

fn fingerprint(parts: &[&[u8]]) -> String {
    let mut h = DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

/// Every file under `dir`, sorted, as (relative path, bytes).
fn files_under(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let p = e.map_err(|e| e.to_string())?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((
                    rel,
                    fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?,
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Run `cmd` at the lowest priority; its stderr (warnings) on success.
fn run(mut cmd: Command, what: &str) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| format!("{what}: {shown}: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(format!("{what} failed ({}): {shown}\n{stderr}", out.status));
    }
    Ok(stderr)
}

/// `--cfg X` for each of `cfgs` (Kbuild's `cfgs-to-flags`).
fn cfg(c: &mut Command, cfgs: &[&str]) {
    for x in cfgs {
        c.arg("--cfg").arg(x);
    }
}

fn niced_rustc() -> Command {
    let mut c = Command::new("nice");
    c.args(["-n", "19"]).arg(rustc());
    // Kbuild exports it for every rustc it runs (rust_common_flags has `-Z` flags).
    c.env("RUSTC_BOOTSTRAP", "1");
    c
}

/// `dir` made by `make` unless it holds `key` already: built in a directory of this process
/// and renamed into place, so that a concurrent run never sees half of it. Whether it was
/// built.
fn cached_dir(
    dir: &Path,
    key: &str,
    make: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<bool, String> {
    let has_key = || fs::read_to_string(dir.join("key")).ok().as_deref() == Some(key);
    if has_key() {
        return Ok(false);
    }
    let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    make(&tmp)?;
    fs::write(tmp.join("key"), key).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let _ = fs::remove_dir_all(dir);
    if fs::rename(&tmp, dir).is_err() {
        // Another run put its build there meanwhile: fine if it is of the same inputs.
        let _ = fs::remove_dir_all(&tmp);
        if !has_key() {
            return Err(format!(
                "{}: could not put the build in place",
                dir.display()
            ));
        }
    }
    Ok(true)
}

/// What was built, for the report.
pub struct Built {
    /// `libmacros.so`: the in-tree `#[kfunc]` and `kfunc_set!`.
    pub macros: PathBuf,
    /// Whether the rlibs or the macro crate were (re)built rather than reused.
    pub rebuilt: bool,
    /// Warnings of the macro crate's build (rust_common_flags' lints), if any.
    pub warnings: String,
}

/// The three `host/lib*.rlib` of Kbuild (`cmd_rustc_procmacrolibrary`), in `scratch/host`;
/// reused while the sources, the Makefiles and rustc are the same. Returns the directory
/// and whether it built them.
fn build_rlibs(tree: &Path, scratch: &Path, version: &str) -> Result<(PathBuf, bool), String> {
    let makefile = fs::read_to_string(tree.join("rust/Makefile"))
        .map_err(|e| format!("{}/rust/Makefile: {e}", tree.display()))?;
    for part in MAKEFILE_RECIPE {
        if !makefile.contains(part) {
            return Err(format!(
                "{}/rust/Makefile builds the vendored crates or the macros otherwise than \
                 tests/in_tree_ui/kbuild.rs does (it lacks {part:?}): update MAKEFILE_RECIPE \
                 and the flags after it",
                tree.display()
            ));
        }
    }
    let common = rust_common_flags(tree)?;
    let span_cfgs = rustc_minor(version).is_some_and(|m| m >= 88);
    let mut sources = Vec::new();
    for (d, _) in VENDORED {
        sources.extend(files_under(&tree.join("rust").join(d))?);
    }
    let mut key_parts: Vec<&[u8]> = vec![version.as_bytes(), makefile.as_bytes()];
    let common_text = common.join(" ");
    key_parts.push(common_text.as_bytes());
    for (p, b) in &sources {
        key_parts.push(p.as_bytes());
        key_parts.push(b);
    }
    let key = fingerprint(&key_parts);
    let host = scratch.join("host");
    let built = cached_dir(&host, &key, |out| {
        for (dir, name) in VENDORED {
            let mut c = niced_rustc();
            // $(filter-out $(skip_flags),$(rust_common_flags) $(rustc_target_flags))
            let skip: &[&str] = if *name == "quote" {
                &["--edition=2021"]
            } else {
                &[]
            };
            c.args(common.iter().filter(|f| !skip.contains(&f.as_str())));
            match *name {
                "proc_macro2" => {
                    c.arg("--cap-lints=allow");
                    cfg(&mut c, &["feature=\"proc-macro\"", "wrap_proc_macro"]);
                    if span_cfgs {
                        cfg(
                            &mut c,
                            &["proc_macro_span_file", "proc_macro_span_location"],
                        );
                    }
                }
                "quote" => {
                    c.args([
                        "--edition=2018",
                        "--cap-lints=allow",
                        "--extern",
                        "proc_macro2",
                    ]);
                    cfg(&mut c, &["feature=\"proc-macro\""]);
                }
                _ => {
                    c.args([
                        "--cap-lints=allow",
                        "--extern",
                        "proc_macro2",
                        "--extern",
                        "quote",
                    ]);
                    let features = [
                        "clone-impls",
                        "derive",
                        "full",
                        "parsing",
                        "printing",
                        "proc-macro",
                        "visit",
                        "visit-mut",
                    ];
                    let cfgs = features.map(|f| format!("feature=\"{f}\""));
                    cfg(&mut c, &cfgs.each_ref().map(String::as_str));
                }
            }
            c.arg(format!(
                "--emit=link={}",
                out.join(format!("lib{name}.rlib")).display()
            ))
            .args(["--crate-type", "rlib", "-O"])
            .arg("--out-dir")
            .arg(out)
            .arg(format!("-L{}", out.display()))
            .args(["--crate-name", name])
            .arg(tree.join("rust").join(dir).join("lib.rs"));
            run(c, &format!("building the vendored {name}"))?;
        }
        Ok(())
    })?;
    Ok((host, built))
}

/// The files of the in-tree module as the first rust patch adds them (`kfunc.rs`,
/// `kfunc/*.rs`, relative to `rust/macros/`), and the lines it adds to `rust/macros/lib.rs`.
pub fn patch_sources(repo: &Path) -> Result<(Vec<(String, String)>, String), String> {
    let first = patch::patch_files(&repo.join("patches/rust"))
        .into_iter()
        .next()
        .ok_or("no rust patch")?;
    let name = first.file_name().unwrap().to_string_lossy().into_owned();
    let text = fs::read_to_string(&first).map_err(|e| format!("{}: {e}", first.display()))?;
    let mut files = Vec::new();
    let mut lib_lines = None;
    for (path, lines) in patch::sections(&text) {
        if let Some(rel) = path.strip_prefix("rust/macros/") {
            if rel == "kfunc.rs" || rel.starts_with("kfunc/") {
                let content = patch::new_file_content(&lines, &format!("{name}: {path}"));
                files.push((rel.to_string(), content));
            } else if rel == "lib.rs" {
                if lines
                    .iter()
                    .any(|l| l.starts_with('-') && !l.starts_with("---"))
                {
                    return Err(format!("{name} removes lines of {path}: not handled here"));
                }
                let added: Vec<&str> = lines
                    .iter()
                    .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
                    .map(|l| &l[1..])
                    .collect();
                lib_lines = Some(added.join("\n") + "\n");
            }
        }
    }
    let lib = lib_lines.ok_or_else(|| format!("{name} does not change rust/macros/lib.rs"))?;
    for want in [
        "mod kfunc;",
        "#[proc_macro_attribute]\npub fn kfunc(",
        "#[proc_macro]\npub fn kfunc_set(",
    ] {
        if !lib.contains(want) {
            return Err(format!(
                "{name}: rust/macros/lib.rs gets no {want:?}; the wrapper expects it"
            ));
        }
    }
    if !files.iter().any(|(p, _)| p == "kfunc.rs") {
        return Err(format!("{name} adds no rust/macros/kfunc.rs"));
    }
    Ok((files, lib))
}

/// The crate root: what the patch adds to `rust/macros/lib.rs`, after the `use` it relies on.
fn wrapper(lib_lines: &str) -> String {
    format!(
        "// SPDX-License-Identifier: GPL-2.0

//! `#[kfunc]` and `kfunc_set!` as `rust/macros/lib.rs` declares them with the rust series
//! applied: the lines its first patch adds to that file, without the kernel's other macros.
//! Written by kfunc-macros/tests/in_tree_ui/kbuild.rs; do not edit.

use proc_macro::TokenStream;

{lib_lines}"
    )
}

/// Build (or reuse) the in-tree macro crate, `libmacros.so`, from the patches of `repo` and
/// the vendored crates of `tree`, under `scratch`.
pub fn build(repo: &Path, tree: &Path, scratch: &Path) -> Result<Built, String> {
    series_leave_vendored_alone(repo)?;
    let version = rustc_version()?;
    let (host, rebuilt_rlibs) = build_rlibs(tree, scratch, &version)?;
    let (files, lib_lines) = patch_sources(repo)?;
    let root = wrapper(&lib_lines);
    let common = rust_common_flags(tree)?;
    let rlib_key = fs::read_to_string(host.join("key")).unwrap_or_default();
    let mut key_parts: Vec<&[u8]> = vec![rlib_key.as_bytes(), root.as_bytes()];
    for (p, t) in &files {
        key_parts.push(p.as_bytes());
        key_parts.push(t.as_bytes());
    }
    let key = fingerprint(&key_parts);
    let dir = scratch.join("macros");
    let so_name = format!("libmacros.{}", std::env::consts::DLL_EXTENSION);
    let built = cached_dir(&dir, &key, |out| {
        let src = out.join("src");
        fs::create_dir_all(src.join("kfunc")).map_err(|e| format!("{}: {e}", src.display()))?;
        for (p, t) in &files {
            fs::write(src.join(p), t).map_err(|e| format!("{p}: {e}"))?;
        }
        fs::write(src.join("lib.rs"), &root).map_err(|e| format!("lib.rs: {e}"))?;
        let mut c = niced_rustc();
        c.args(&common)
            .args([
                "--extern",
                "proc_macro2",
                "--extern",
                "quote",
                "--extern",
                "syn",
            ])
            .arg(format!("--emit=link={}", out.join(&so_name).display()))
            .args(["--extern", "proc_macro", "--crate-type", "proc-macro"])
            .arg(format!("-L{}", host.display()))
            .args(["--crate-name", "macros"])
            .arg(src.join("lib.rs"));
        let warnings = run(c, "building the in-tree macros")?;
        fs::write(out.join("warnings"), warnings).map_err(|e| e.to_string())
    })?;
    Ok(Built {
        macros: dir.join(so_name),
        rebuilt: built || rebuilt_rlibs,
        warnings: fs::read_to_string(dir.join("warnings")).unwrap_or_default(),
    })
}
