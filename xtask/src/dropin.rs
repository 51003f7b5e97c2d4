//! `cargo xtask dropin [--no-vm] [--config test|selftests]`: btfids-post as Kbuild's
//! `RESOLVE_BTFIDS` for a whole kernel, compared with the stock tool on every input.
//!
//! 1. The patched tree of `cargo xtask kernel` ([`kernel::ensure_kernel`]) is copied
//!    (`cp -a`) to `~/.cache/kfunc-args/kernel/dropin-<key>/linux` and [`EXTRA_CONFIG`]
//!    is merged in, so that the kernel also has in-tree modules (TCP congestion controls,
//!    foo-over-UDP, conntrack and NAT: four of them with kfunc sets; a Rust sample module);
//!    `<key>` hashes the patched tree's path and the extra config.
//! 2. vmlinux, bzImage and every `.ko` are deleted and `make bzImage modules
//!    RESOLVE_BTFIDS=<wrapper>` links them again. The wrapper ([`WRAPPER`]) is what Kbuild
//!    runs as its resolver: it copies its input, runs the stock
//!    `tools/bpf/resolve_btfids` on the copy, then btfids-post on the file Kbuild links
//!    (btfids-post's result is what the kernel and modules get), and compares `.BTF_ids`
//!    (and `.BTF`) of the two results, byte for byte; for `--patch_btfids` it patches a
//!    copy of the ELF with the stock tool and compares the whole files. The out-of-tree
//!    C modules of this repository (kernel/ctest, its parity modules, selftests/cmod) are
//!    built the same way. Comparing two separate builds instead would not work: pahole
//!    1.24 runs with `-j`, whose BTF type order is not reproducible (scripts/Makefile.btf
//!    says so), so the ids differ between builds.
//! 3. A table lists every object the resolver saw; every vmlinux/`.ko` of the build must
//!    be in it, with identical sections, and every ELF given a `.BTF_ids` blob must have
//!    been patched identically.
//! 4. Unless `--no-vm`: the btfids-post-linked bzImage boots in the VM and runs the
//!    selftests on it: the Rust sample's BPF selftests (`selftests/`, variant args, with
//!    the sample module built against this tree), `kernel/ctest/run.sh` and
//!    `kernel/ctest/parity/run.sh` (both also given the unpatched kernel of
//!    `cargo xtask kernel`, their reference for legacy behaviour).
//!
//! `--config selftests` does steps 1-3 on the unpatched kernel of the BPF selftests' config
//! instead (the one `cargo xtask progs` builds and tests first). Its cached tree, objects
//! included, is copied to `~/.cache/kfunc-args/kernel/dropin-selftests-<key>/linux`
//! (`<key>` hashes the cached tree's path, which holds the hash of its inputs); vmlinux and
//! every in-tree module are linked again through the wrapper with the
//! `KBUILD_BUILD_TIMESTAMP` the tree was built with (its stamp says which; with it pahole
//! 1.24 runs without `-j`, as in the cached build). The copy rebuilds the host tools,
//! objtool and resolve_btfids among them, from the same sources: their dependency files
//! name the cached tree's absolute paths. Then the selftests' test modules
//! (`tools/testing/selftests/bpf/test_kmods/` with its own Makefile: `bpf_testmod.ko` and
//! the four others `cargo xtask progs` loads) are built out of tree, so with
//! `--distill_base`, through the wrapper too. No VM step: the comparison is the point. The
//! summary lines are recorded as `dropin-selftests` for `cargo xtask figures`.

use crate::flags::DropinConfig;
use crate::kernel::{self, Flavor, Variant};
use crate::selftests;
use crate::vm::{self, VmSpec};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Options merged over the patched kernel's config: in-tree modules for the comparison.
pub const EXTRA_CONFIG: &[&str] = &[
    "CONFIG_TCP_CONG_ADVANCED=y",
    "CONFIG_TCP_CONG_BBR=m",
    "CONFIG_TCP_CONG_DCTCP=m",
    "CONFIG_TCP_CONG_WESTWOOD=m",
    "CONFIG_NET_FOU=m",
    "CONFIG_NETFILTER=y",
    "CONFIG_NF_CONNTRACK=m",
    "CONFIG_NF_NAT=m",
    "CONFIG_SAMPLES=y",
    "CONFIG_SAMPLES_RUST=y",
    "CONFIG_SAMPLE_RUST_MINIMAL=m",
];

/// The directories of this repository's out-of-tree C modules, built both ways (every
/// module their `Kbuild` lists).
const OOT_DIRS: &[&str] = &["kernel/ctest", "kernel/ctest/parity", "selftests/cmod"];

/// The `RESOLVE_BTFIDS` wrapper, for 7.3's `scripts/gen-btf.sh`, which calls the resolver
/// twice per object: `[-b vmlinux] [flags] --btf OBJ.BTF.1 OBJ` (OBJ is only read; the
/// outputs are the blobs OBJ.BTF, OBJ.BTF_ids and, with `--distill_base`, OBJ.BTF.base),
/// then `--patch_btfids OBJ.BTF_ids OBJ`. For the first call btfids-post runs on the real
/// files (its blobs are what Kbuild embeds) and the stock tool on copies of OBJ and
/// OBJ.BTF.1 with the same arguments; one line per object goes to `$DROPIN_DIR/compare.tsv`:
/// `path, stock rc, btfids-post rc, .BTF_ids size, .BTF_ids same, .BTF (and .BTF.base)
/// same`. For the second call btfids-post patches OBJ (what Kbuild keeps) and the stock
/// tool a copy of OBJ taken before, with the same `.BTF_ids` blob; the whole files are
/// compared and one line goes to `$DROPIN_DIR/patch.tsv`: `path, stock rc, btfids-post rc,
/// same|DIFF`. The inputs of an object that differs are kept (`resolve.*`, `patched.*`).
pub const WRAPPER: &str = r#"#!/bin/sh
# RESOLVE_BTFIDS wrapper of `cargo xtask dropin` (generated by xtask/src/dropin.rs).
set -u
: "${DROPIN_POST:?}" "${DROPIN_STOCK:?}" "${DROPIN_DIR:?}"
for a in "$@"; do
	case "$a" in --patch_btfids | --patch_btfids=*)
		for obj do :; done
		case "$obj" in /*) abs=$obj ;; *) abs=$PWD/$obj ;; esac
		tmp=$(mktemp -d "$DROPIN_DIR/patched.XXXXXX")
		cp "$obj" "$tmp/stock" || exit 1
		"$DROPIN_POST" "$@"
		prc=$?
		n=$#
		for a do
			shift
			n=$((n - 1))
			[ "$n" = 0 ] && a=$tmp/stock
			set -- "$@" "$a"
		done
		"$DROPIN_STOCK" "$@" >"$tmp/stock.out" 2>&1
		src=$?
		if cmp -s "$tmp/stock" "$obj"; then same=same; else same=DIFF; fi
		printf '%s\t%s\t%s\t%s\n' "$abs" "$src" "$prc" "$same" >>"$DROPIN_DIR/patch.tsv"
		if [ "$same" = same ] && [ "$src" = "$prc" ]; then rm -rf "$tmp"; else echo "$abs" >"$tmp/what"; fi
		exit $prc
		;;
	esac
done
elf=
btf=
prev=
for a in "$@"; do
	case "$prev" in
	--btf) btf=$a; prev=; continue ;;
	skip) prev=; continue ;;
	esac
	case "$a" in --btf) prev=--btf ;; -b | --btf_base) prev=skip ;; -*) ;; *) elf=$a ;; esac
done
[ -n "$elf" ] && [ -n "$btf" ] || { echo "dropin wrapper: no ELF or --btf in: $*" >&2; exit 2; }
case "$elf" in /*) abs=$elf ;; *) abs=$PWD/$elf ;; esac
"$DROPIN_POST" "$@"
prc=$?
tmp=$(mktemp -d "$DROPIN_DIR/resolve.XXXXXX")
cp "$elf" "$tmp/stock" && cp "$btf" "$tmp/stock.BTF.1" || exit 1
for a do
	shift
	case "$a" in "$elf") a=$tmp/stock ;; "$btf") a=$tmp/stock.BTF.1 ;; esac
	set -- "$@" "$a"
done
"$DROPIN_STOCK" "$@" >"$tmp/stock.out" 2>&1
src=$?
same() {
	if [ ! -e "$1" ] && [ ! -e "$2" ]; then echo absent
	elif cmp -s "$1" "$2"; then echo same
	else echo DIFF; fi
}
size=absent
[ -e "$tmp/stock.BTF_ids" ] && size=$(wc -c <"$tmp/stock.BTF_ids")
ids=$(same "$tmp/stock.BTF_ids" "$elf.BTF_ids")
btf_same=$(same "$tmp/stock.BTF" "$elf.BTF")
[ "$(same "$tmp/stock.BTF.base" "$elf.BTF.base")" = DIFF ] && btf_same=DIFF
printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$abs" "$src" "$prc" "$size" "$ids" "$btf_same" >>"$DROPIN_DIR/compare.tsv"
if [ "$ids" != DIFF ] && [ "$btf_same" != DIFF ] && [ "$src" = "$prc" ]; then rm -rf "$tmp"; else echo "$abs" >"$tmp/what"; fi
exit $prc
"#;

/// FNV-1a over length-prefixed parts, as 16 hex digits.
fn fnv(parts: &[&[u8]]) -> String {
    let mut h = kernel::Fnv::new();
    for p in parts {
        h.write(&(p.len() as u64).to_le_bytes());
        h.write(p);
    }
    format!("{:016x}", h.0)
}

fn make(tree: &Path) -> Command {
    let mut c = Command::new("make");
    c.arg("-C").arg(tree).arg(kernel::LLVM);
    c.env("LIBCLANG_PATH", kernel::LIBCLANG_PATH);
    c
}

fn jobs() -> String {
    format!(
        "-j{}",
        std::thread::available_parallelism().map_or(1, |n| n.get()) + 1
    )
}

/// Every `.ko` under `dir`, relative paths, sorted.
fn find_kos(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    for e in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let Ok(e) = e else { continue };
        let Ok(ft) = e.file_type() else { continue };
        let name = e.file_name();
        if ft.is_dir() && !ft.is_symlink() {
            if name == ".git" || name == "btfids-inputs" {
                continue;
            }
            find_kos(&e.path(), &rel.join(&name), out)?;
        } else if ft.is_file() && e.path().extension().is_some_and(|x| x == "ko") {
            out.push(rel.join(&name));
        }
    }
    out.sort();
    Ok(())
}

fn tree_objects(tree: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let mut kos = Vec::new();
    find_kos(tree, Path::new(""), &mut kos)?;
    // gen-btf.sh hands the resolver .tmp_vmlinux1, whose BTF is linked into vmlinux.
    let mut v = vec![("vmlinux".to_string(), tree.join(".tmp_vmlinux1"))];
    v.extend(
        kos.into_iter()
            .map(|k| (k.display().to_string(), tree.join(k))),
    );
    Ok(v)
}

fn remove_outputs(tree: &Path) -> Result<(), String> {
    let mut kos = Vec::new();
    find_kos(tree, Path::new(""), &mut kos)?;
    for k in kos {
        fs::remove_file(tree.join(&k)).map_err(|e| format!("{}: {e}", k.display()))?;
    }
    for f in ["vmlinux", "vmlinux.unstripped", "arch/x86/boot/bzImage"] {
        let _ = fs::remove_file(tree.join(f));
    }
    Ok(())
}

/// Copy the built tree `src` (objects and all, times kept: Kbuild then relinks only what
/// is deleted) to `<dir>/linux`, once (`copied.ok`).
fn copy_tree(src: &Path, dir: &Path, log: &Path) -> Result<PathBuf, String> {
    let tree = dir.join("linux");
    if dir.join("copied.ok").exists() {
        eprintln!("dropin: the copy {} is there (copied.ok)", tree.display());
    } else {
        let _ = fs::remove_dir_all(&tree);
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        eprintln!(
            "dropin: copying {} to {} (cp -a)",
            src.display(),
            tree.display()
        );
        let t = Instant::now();
        crate::deps::run_logged(
            Command::new("cp").arg("-a").arg(src).arg(&tree),
            &format!("cp -a {}", src.display()),
            log,
        )?;
        eprintln!("dropin: copied in {:.0} s", t.elapsed().as_secs_f64());
        // The capture wrapper's saved inputs belong to the source tree's build.
        let _ = fs::remove_dir_all(tree.join("btfids-inputs"));
        fs::write(dir.join("copied.ok"), b"").map_err(|e| e.to_string())?;
    }
    Ok(tree)
}

/// Build (or reuse) the drop-in tree: a copy of the patched tree with [`EXTRA_CONFIG`].
fn prepare_tree(patched: &kernel::KernelTree, dir: &Path, log: &Path) -> Result<PathBuf, String> {
    let tree = copy_tree(&patched.tree, dir, log)?;
    if !dir.join("configured.ok").exists() {
        let frag = dir.join("extra.config");
        fs::write(&frag, EXTRA_CONFIG.join("\n") + "\n").map_err(|e| e.to_string())?;
        crate::deps::run_logged(
            Command::new(tree.join("scripts/kconfig/merge_config.sh"))
                .current_dir(&tree)
                .arg("-m")
                .arg(".config")
                .arg(&frag),
            "merge the extra config",
            log,
        )?;
        crate::deps::run_logged(make(&tree).arg("olddefconfig"), "make olddefconfig", log)?;
        let cfg = fs::read_to_string(tree.join(".config")).map_err(|e| e.to_string())?;
        let missing: Vec<&&str> = EXTRA_CONFIG
            .iter()
            .filter(|o| !cfg.lines().any(|l| l.trim() == **o))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{}/.config: olddefconfig dropped {missing:?}",
                tree.display()
            ));
        }
        fs::write(dir.join("configured.ok"), b"").map_err(|e| e.to_string())?;
    }
    Ok(tree)
}

/// `make bzImage modules` through the wrapper, with `KBUILD_BUILD_TIMESTAMP=timestamp` if
/// given; returns the wall time.
fn build_tree(
    tree: &Path,
    wrapper: &Wrapper,
    log: &Path,
    timestamp: Option<&str>,
) -> Result<Duration, String> {
    let t = Instant::now();
    let mut c = make(tree);
    c.arg(jobs()).args(["bzImage", "modules"]);
    if let Some(ts) = timestamp {
        c.env("KBUILD_BUILD_TIMESTAMP", ts);
    }
    wrapper.apply(&mut c);
    eprintln!(
        "dropin: make bzImage modules RESOLVE_BTFIDS={} (log {})",
        wrapper.script.display(),
        log.display()
    );
    crate::deps::run_logged(&mut c, "make bzImage modules", log)?;
    eprintln!("dropin: built in {:.0} s", t.elapsed().as_secs_f64());
    Ok(t.elapsed())
}

/// The wrapper and what it needs.
struct Wrapper {
    script: PathBuf,
    post: PathBuf,
    stock: PathBuf,
    dir: PathBuf,
}

impl Wrapper {
    fn apply(&self, c: &mut Command) {
        c.arg(format!("RESOLVE_BTFIDS={}", self.script.display()))
            .env("DROPIN_POST", &self.post)
            .env("DROPIN_STOCK", &self.stock)
            .env("DROPIN_DIR", &self.dir);
    }
}

/// Build the out-of-tree C modules of [`OOT_DIRS`] against `tree` through the wrapper, each
/// in a copy under `out`; returns every `.ko` built.
fn build_oot(
    tree: &Path,
    wrapper: &Wrapper,
    out: &Path,
    log: &Path,
) -> Result<Vec<PathBuf>, String> {
    let root = kernel::repo_root();
    let mut v = Vec::new();
    for src in OOT_DIRS {
        let d = out.join(src.replace('/', "_"));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for e in fs::read_dir(root.join(src)).map_err(|e| format!("{src}: {e}"))? {
            let p = e.map_err(|e| e.to_string())?.path();
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_file() && (n == "Kbuild" || n.ends_with(".c") || n.ends_with(".h")) {
                fs::copy(&p, d.join(&n)).map_err(|e| format!("{}: {e}", p.display()))?;
            }
        }
        let mut c = make(tree);
        c.arg(format!("M={}", d.display())).arg("modules");
        wrapper.apply(&mut c);
        crate::deps::run_logged(&mut c, &format!("out-of-tree modules {src}"), log)?;
        let mut kos = Vec::new();
        find_kos(&d, Path::new(""), &mut kos)?;
        if kos.is_empty() {
            return Err(format!("{src}: no module built in {}", d.display()));
        }
        v.extend(kos.into_iter().map(|k| d.join(k)));
    }
    Ok(v)
}

/// One line of the wrapper's `compare.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The object (absolute path as the wrapper saw it).
    pub object: String,
    /// Exit status of the stock tool on the copy.
    pub stock_rc: String,
    /// Exit status of btfids-post.
    pub post_rc: String,
    /// `.BTF_ids` size after the stock tool, or `absent`.
    pub ids_size: String,
    /// `same`, `DIFF` or `absent` (in neither).
    pub ids: String,
    /// The same for `.BTF`.
    pub btf: String,
}

impl Row {
    /// Same results from both tools.
    pub fn ok(&self) -> bool {
        self.stock_rc == self.post_rc && self.ids != "DIFF" && self.btf != "DIFF"
    }
}

/// Parse `compare.tsv`.
pub fn parse_tsv(text: &str) -> Result<Vec<Row>, String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            match f[..] {
                [o, s, p, n, i, b] => Ok(Row {
                    object: o.into(),
                    stock_rc: s.into(),
                    post_rc: p.into(),
                    ids_size: n.into(),
                    ids: i.into(),
                    btf: b.into(),
                }),
                _ => Err(format!("compare.tsv: bad line {l:?}")),
            }
        })
        .collect()
}

/// One line of the wrapper's `patch.tsv` (a `--patch_btfids` run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchRow {
    /// The ELF patched (absolute path as the wrapper saw it).
    pub object: String,
    /// Exit status of the stock tool on the copy.
    pub stock_rc: String,
    /// Exit status of btfids-post.
    pub post_rc: String,
    /// `same` or `DIFF`: the whole files after the two runs.
    pub elf: String,
}

impl PatchRow {
    /// Same results from both tools.
    pub fn ok(&self) -> bool {
        self.stock_rc == self.post_rc && self.elf == "same"
    }
}

/// Parse `patch.tsv`.
pub fn parse_patch_tsv(text: &str) -> Result<Vec<PatchRow>, String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split('\t').collect::<Vec<_>>()[..] {
            [o, s, p, e] => Ok(PatchRow {
                object: o.into(),
                stock_rc: s.into(),
                post_rc: p.into(),
                elf: e.into(),
            }),
            _ => Err(format!("patch.tsv: bad line {l:?}")),
        })
        .collect()
}

/// The ELF `--patch_btfids` must have been run on for each object given a `.BTF_ids`
/// blob: the module itself, or for `.tmp_vmlinux1` the `vmlinux.unstripped` that
/// `scripts/link-vmlinux.sh` links with its BTF.
pub fn patch_targets(rows: &[Row]) -> Vec<PathBuf> {
    rows.iter()
        .filter(|r| r.ids != "absent")
        .map(|r| {
            let p = Path::new(&r.object);
            if p.file_name().is_some_and(|n| n == ".tmp_vmlinux1") {
                p.with_file_name("vmlinux.unstripped")
            } else {
                p.to_path_buf()
            }
        })
        .collect()
}

fn print_table(rows: &[Row], strip: &[&Path]) {
    println!(
        "\n{:<44} {:>9} {:>6} {:>6}  {:<9} {:<9}",
        "object", ".BTF_ids", "stock", "post", ".BTF_ids", ".BTF"
    );
    println!(
        "{:<44} {:>9} {:>6} {:>6}  {:<9} {:<9}",
        "", "bytes", "rc", "rc", "", ""
    );
    for r in rows {
        let mut name = r.object.as_str();
        for p in strip {
            if let Some(rest) = Path::new(name)
                .strip_prefix(p)
                .ok()
                .and_then(|x| x.to_str())
            {
                name = rest;
            }
        }
        println!(
            "{:<44} {:>9} {:>6} {:>6}  {:<9} {:<9}",
            name, r.ids_size, r.stock_rc, r.post_rc, r.ids, r.btf
        );
    }
}

/// Build the Rust sample against `tree` (as `sample::build_sample` does, in a directory
/// of this command) and run the BPF selftests of `selftests/` in the VM.
fn vm_selftests(tree: &Path, work: &Path) -> Result<(u32, u32, u32), String> {
    let (so, post) = crate::sample::build_host_tools(tree)?;
    let dir = work.join("sample");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for f in ["Kbuild", "kfunc_sample.rs"] {
        let src = kernel::repo_root().join("kernel-sample").join(f);
        fs::copy(&src, dir.join(f)).map_err(|e| format!("{}: {e}", src.display()))?;
    }
    crate::deps::run_logged(
        make(tree)
            .arg(format!("M={}", dir.display()))
            .arg(format!("KFUNC_MACROS={}", so.display()))
            .arg(format!("RESOLVE_BTFIDS={}", post.display()))
            .arg("modules"),
        "building kernel-sample against the drop-in tree",
        &work.join("sample.log"),
    )?;
    let objs = selftests::build_bpf_objects(&work.join("bpf"))?;
    let runner = selftests::build_runner(work)?;
    let mut files = vec![(runner, "/runner".to_string())];
    let mut tests = Vec::new();
    for o in &objs {
        let name = o.file_name().unwrap().to_string_lossy().to_string();
        files.push((o.clone(), format!("/progs/{name}")));
        if name != "stats.bpf.o" {
            tests.push(format!("/progs/{name}"));
        }
    }
    let spec = VmSpec {
        kernel: tree.join("arch/x86/boot/bzImage"),
        modules: vec![dir.join("kfunc_sample.ko")],
        files,
        command: format!(
            "/runner --variant args --module kfunc_sample --stats /progs/stats.bpf.o {}",
            tests.join(" ")
        ),
        work_dir: work.join("vm"),
        timeout: Duration::from_secs(300),
        memory_mib: 512,
        cpus: 1,
        echo: false,
        progress: None,
    };
    let o = vm::run_vm(&spec)?;
    for l in o.console.lines().filter(|l| l.starts_with("TEST ")) {
        println!("  {l}");
    }
    o.verdict()?;
    selftests::parse_summary(&o.console).ok_or_else(|| "the runner printed no summary".into())
}

/// Run a shell test script with `tree`; returns its last line and whether it passed.
fn run_script(
    path: &str,
    tree: &Path,
    unpatched: &Path,
    out: &Path,
    envs: &[(&str, PathBuf)],
) -> Result<(bool, String), String> {
    let p = kernel::repo_root().join(path);
    let o = Command::new("sh")
        .arg(&p)
        .arg(tree)
        .arg(unpatched)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_os_str())))
        .env("OUT", out)
        .output()
        .map_err(|e| format!("{}: {e}", p.display()))?;
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    fs::write(out.with_extension("log"), &text).map_err(|e| e.to_string())?;
    for l in text.lines().filter(|l| l.starts_with("FAIL ")) {
        println!("  {l}");
    }
    let last = text
        .lines()
        .rev()
        .find(|l| l.contains("passed"))
        .unwrap_or("")
        .to_string();
    let err = String::from_utf8_lossy(&o.stderr);
    if !o.status.success() && last.is_empty() {
        return Err(format!("{path}: {}", err.trim()));
    }
    Ok((o.status.success(), last))
}

/// Write the wrapper script into `dir` and forget an earlier run's results there
/// (`compare.tsv`, `patch.tsv`, and the inputs the wrapper keeps of objects that differed).
fn install_wrapper(dir: &Path, stock: &Path, post: &Path) -> Result<Wrapper, String> {
    let script = dir.join("resolve-both.sh");
    fs::write(&script, WRAPPER).map_err(|e| format!("{}: {e}", script.display()))?;
    let st = Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .map_err(|e| format!("chmod: {e}"))?;
    if !st.success() {
        return Err(format!("chmod +x {}: {st}", script.display()));
    }
    let _ = fs::remove_file(dir.join("compare.tsv"));
    let _ = fs::remove_file(dir.join("patch.tsv"));
    for e in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        if p.file_name().is_some_and(|n| {
            let n = n.to_string_lossy();
            n.starts_with("resolve.") || n.starts_with("patched.")
        }) {
            let _ = fs::remove_dir_all(&p);
        }
    }
    Ok(Wrapper {
        script,
        post: post.to_path_buf(),
        stock: stock.to_path_buf(),
        dir: dir.to_path_buf(),
    })
}

/// The counts of one comparison.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Objects the resolver ran on.
    pub objects: usize,
    /// With `.BTF_ids` identical to the stock tool's.
    pub ids_same: usize,
    /// Without `.BTF_ids` from either tool.
    pub ids_absent: usize,
    /// With `.BTF` (and `.BTF.base`) identical.
    pub btf_same: usize,
    /// Differing in any blob or in the exit status.
    pub differ: usize,
}

impl Counts {
    /// Count the wrapper's rows.
    pub fn of(rows: &[Row]) -> Self {
        Counts {
            objects: rows.len(),
            ids_same: rows.iter().filter(|r| r.ids == "same").count(),
            ids_absent: rows.iter().filter(|r| r.ids == "absent").count(),
            btf_same: rows.iter().filter(|r| r.btf == "same").count(),
            differ: rows.iter().filter(|r| !r.ok()).count(),
        }
    }
}

/// What the wrapper wrote in `dir`: its rows for the `--btf` runs and for the
/// `--patch_btfids` runs.
struct Compared {
    rows: Vec<Row>,
    patched: Vec<PatchRow>,
    failures: Vec<String>,
}

/// Read the wrapper's `compare.tsv` and `patch.tsv` in `dir`, print the table, and check
/// that every object of `expected` passed through it, and every object given a `.BTF_ids`
/// blob through `--patch_btfids`.
fn compare(dir: &Path, expected: &[PathBuf], strip: &[&Path]) -> Result<Compared, String> {
    let read = |name: &str| {
        let p = dir.join(name);
        fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))
    };
    let rows = parse_tsv(&read("compare.tsv")?)?;
    // No object with a .BTF_ids blob: no --patch_btfids run, no file.
    let patched = if dir.join("patch.tsv").exists() {
        parse_patch_tsv(&read("patch.tsv")?)?
    } else {
        Vec::new()
    };
    print_table(&rows, strip);
    let mut failures: Vec<String> = missing(&rows, expected)
        .into_iter()
        .map(|e| format!("{}: never passed through RESOLVE_BTFIDS", e.display()))
        .collect();
    for t in patch_targets(&rows) {
        if !patched.iter().any(|r| Path::new(&r.object) == t) {
            failures.push(format!(
                "{}: never passed through --patch_btfids",
                t.display()
            ));
        }
    }
    let bad = Counts::of(&rows).differ;
    if bad > 0 {
        failures.push(format!(
            "{bad} object(s) differ from the stock tool (inputs kept under {}/resolve.*)",
            dir.display()
        ));
    }
    for r in patched.iter().filter(|r| !r.ok()) {
        println!(
            "dropin: --patch_btfids {}: stock rc {}, btfids-post rc {}, ELF {}",
            r.object, r.stock_rc, r.post_rc, r.elf
        );
    }
    let bad = patched.iter().filter(|r| !r.ok()).count();
    if bad > 0 {
        failures.push(format!(
            "{bad} ELF file(s) patched differently by the stock tool (inputs kept under \
             {}/patched.*)",
            dir.display()
        ));
    }
    Ok(Compared {
        rows,
        patched,
        failures,
    })
}

/// The summary line of the `--patch_btfids` runs.
fn patch_summary(prefix: &str, patched: &[PatchRow]) -> String {
    format!(
        "{prefix}: --patch_btfids ran on {} ELF files; the patched file identical to the \
         stock tool's on {}, {} differ",
        patched.len(),
        patched.iter().filter(|r| r.ok()).count(),
        patched.iter().filter(|r| !r.ok()).count()
    )
}

/// The objects of `expected` no row names.
pub fn missing<'a>(rows: &[Row], expected: &'a [PathBuf]) -> Vec<&'a PathBuf> {
    expected
        .iter()
        .filter(|e| !rows.iter().any(|r| Path::new(&r.object) == e.as_path()))
        .collect()
}

/// `cargo xtask dropin [--no-vm] [--config test|selftests]`.
pub fn run(f: &crate::flags::Dropin) -> Result<(), String> {
    match f.config {
        DropinConfig::Test => run_test(!f.no_vm),
        DropinConfig::Selftests => run_selftests(),
    }
}

/// The patched test kernel, its extra modules and the repository's C modules, then the
/// VM checks unless `with_vm` is false.
fn run_test(with_vm: bool) -> Result<(), String> {
    let t0 = Instant::now();
    let patched = kernel::ensure_kernel(Variant::Patched)?;
    let key = fnv(&[
        patched.tree.as_os_str().as_encoded_bytes(),
        EXTRA_CONFIG.join("\n").as_bytes(),
    ]);
    let dir = kernel::cache_dir(&format!("kernel/dropin-{key}"))?;
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let log = dir.join("build.log");
    let tree = prepare_tree(&patched, &dir, &log)?;
    let stock_tool = tree.join("tools/bpf/resolve_btfids/resolve_btfids");
    let (_, post_tool) = crate::sample::build_host_tools(&tree)?;
    let wrapper = install_wrapper(&dir, &stock_tool, &post_tool)?;

    // Everything the resolver touches is linked again, through the wrapper.
    remove_outputs(&tree)?;
    build_tree(&tree, &wrapper, &log, None)?;
    if !stock_tool.exists() {
        return Err(format!("{} was not built", stock_tool.display()));
    }
    let mut expected: Vec<PathBuf> = tree_objects(&tree)?.into_iter().map(|(_, p)| p).collect();
    let oot = build_oot(&tree, &wrapper, &dir.join("oot"), &log)?;
    expected.extend(oot.iter().cloned());

    let Compared {
        rows,
        patched,
        mut failures,
    } = compare(&dir, &expected, &[&tree, &dir.join("oot")])?;
    let c = Counts::of(&rows);
    let n_oot = oot.len();
    println!();
    crate::figures::say(
        "dropin",
        format!(
            "dropin: RESOLVE_BTFIDS ran on {} objects (vmlinux, {} in-tree modules, {n_oot} \
         out-of-tree modules); {} with .BTF_ids identical to the stock tool's, \
         {} without .BTF_ids, {} differ",
            c.objects,
            expected.len() - 1 - n_oot,
            c.ids_same,
            c.ids_absent,
            c.differ
        ),
    );
    crate::figures::say("dropin", patch_summary("dropin", &patched));

    if with_vm {
        println!(
            "\ndropin: selftests on the btfids-post-linked kernel {}",
            tree.display()
        );
        match vm_selftests(&tree, &dir.join("selftests")) {
            Ok((p, f, s)) => {
                crate::figures::say(
                    "dropin",
                    format!("dropin: selftests: {p} passed, {f} failed, {s} skipped"),
                );
                if f > 0 {
                    failures.push(format!("{f} selftest(s) failed"));
                }
            }
            Err(e) => failures.push(format!("selftests: {e}")),
        }
        // The scripts compare the legacy programs with the stock 7.3 kernel too.
        let unpatched = kernel::ensure_kernel(Variant::Unpatched)?;
        for (name, path) in [
            ("ctest", "kernel/ctest/run.sh"),
            ("parity", "kernel/ctest/parity/run.sh"),
        ] {
            // The parity script compares its full C conversion with the Rust sample
            // module built against this tree by the selftests step.
            let rust = dir.join("selftests/sample/kfunc_sample.ko");
            let envs = if name == "parity" && rust.is_file() {
                vec![("RUST_SAMPLE_KO", rust)]
            } else {
                Vec::new()
            };
            match run_script(path, &tree, &unpatched.tree, &dir.join(name), &envs) {
                Ok((ok, last)) => {
                    println!("dropin: {path}: {last}");
                    if !ok {
                        failures.push(format!("{path} failed"));
                    }
                }
                Err(e) => failures.push(e),
            }
        }
    } else {
        println!("dropin: --no-vm: VM selftests not run");
    }
    println!("dropin: {:.0} s wall", t0.elapsed().as_secs_f64());
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// The value of `label: value` in a kernel cache stamp (`stamp` in the tree's cache
/// directory, the inputs the tree was built from).
pub fn stamp_value<'a>(stamp: &'a str, label: &str) -> Option<&'a str> {
    stamp.lines().find_map(|l| {
        let (k, v) = l.split_once(": ")?;
        k.starts_with(label).then_some(v)
    })
}

/// Build btfids-post (release) and return its path. (The selftests kernel has no Rust:
/// [`crate::sample::build_host_tools`] would refuse it for want of a rustc version.)
fn build_btfids_post() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    crate::deps::run_visible(
        Command::new(cargo)
            .args(["build", "--release", "-p", "btfids-post"])
            .current_dir(kernel::repo_root()),
        "cargo build --release -p btfids-post",
    )?;
    let post = crate::sample::target_dir().join("release/btfids-post");
    if !post.is_file() {
        return Err(format!("cargo did not produce {}", post.display()));
    }
    Ok(post)
}

/// Where the selftests' test modules are, in a kernel tree.
const TEST_KMODS: &str = "tools/testing/selftests/bpf/test_kmods";

/// Build the selftests' test modules of `tree` (a copy of `test_kmods/` in `out`, its own
/// Makefile) through the wrapper; returns the `.ko` files built.
fn build_test_kmods(
    tree: &Path,
    wrapper: &Wrapper,
    out: &Path,
    log: &Path,
) -> Result<Vec<PathBuf>, String> {
    let src = tree.join(TEST_KMODS);
    let _ = fs::remove_dir_all(out);
    fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    for e in fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        if p.is_file() {
            fs::copy(&p, out.join(p.file_name().unwrap()))
                .map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    let mut c = make(tree);
    c.arg(jobs())
        .arg(format!("M={}", out.display()))
        .arg("modules");
    wrapper.apply(&mut c);
    crate::deps::run_logged(&mut c, &format!("{TEST_KMODS} (M={})", out.display()), log)?;
    let mut kos = Vec::new();
    find_kos(out, Path::new(""), &mut kos)?;
    if kos.is_empty() {
        return Err(format!(
            "{TEST_KMODS}: no module built in {}",
            out.display()
        ));
    }
    Ok(kos.into_iter().map(|k| out.join(k)).collect())
}

/// `--config selftests`: the unpatched selftests-config kernel relinked through the
/// wrapper, and its test modules.
fn run_selftests() -> Result<(), String> {
    let t0 = Instant::now();
    let base = kernel::ensure_kernel_flavor(Variant::Unpatched, Flavor::Selftests)?;
    let cache = base
        .tree
        .parent()
        .ok_or("the selftests kernel tree has no cache directory")?;
    let stamp_path = cache.join("stamp");
    let stamp =
        fs::read_to_string(&stamp_path).map_err(|e| format!("{}: {e}", stamp_path.display()))?;
    let timestamp = stamp_value(&stamp, "KBUILD_BUILD_TIMESTAMP").ok_or_else(|| {
        format!(
            "{}: no KBUILD_BUILD_TIMESTAMP line (the timestamp the tree was built with)",
            stamp_path.display()
        )
    })?;
    let key = fnv(&[base.tree.as_os_str().as_encoded_bytes()]);
    let dir = kernel::cache_dir(&format!("kernel/dropin-selftests-{key}"))?;
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let log = dir.join("build.log");
    let copy = if dir.join("copied.ok").exists() {
        None
    } else {
        Some(Instant::now())
    };
    let tree = copy_tree(&base.tree, &dir, &log)?;
    let copied = match copy {
        Some(t) => format!("{:.0} s copying the cached tree", t.elapsed().as_secs_f64()),
        None => "the copy of the cached tree reused".to_string(),
    };
    let stock_tool = tree.join("tools/bpf/resolve_btfids/resolve_btfids");
    let post_tool = build_btfids_post()?;
    let wrapper = install_wrapper(&dir, &stock_tool, &post_tool)?;

    remove_outputs(&tree)?;
    let relink = build_tree(&tree, &wrapper, &log, Some(timestamp))?;
    if !stock_tool.exists() {
        return Err(format!("{} was not built", stock_tool.display()));
    }
    let mut expected: Vec<PathBuf> = tree_objects(&tree)?.into_iter().map(|(_, p)| p).collect();
    let n_intree = expected.len() - 1;
    let t = Instant::now();
    let kmods_dir = dir.join("test_kmods");
    let kmods = build_test_kmods(&tree, &wrapper, &kmods_dir, &log)?;
    let kmods_time = t.elapsed();
    expected.extend(kmods.iter().cloned());

    let Compared {
        rows,
        patched,
        failures,
    } = compare(&dir, &expected, &[&tree, &kmods_dir])?;
    let c = Counts::of(&rows);
    let names: Vec<String> = kmods
        .iter()
        .filter_map(|k| k.file_name().map(|n| n.to_string_lossy().to_string()))
        .collect();
    println!();
    crate::figures::say(
        "dropin-selftests",
        format!(
            "dropin --config selftests: RESOLVE_BTFIDS ran on {} objects of the unpatched \
             selftests-config kernel (vmlinux, {n_intree} in-tree modules, {} modules of \
             test_kmods/: {}); {} with .BTF_ids identical to the stock tool's, {} without \
             .BTF_ids, .BTF identical on {}, {} differ",
            c.objects,
            kmods.len(),
            names.join(" "),
            c.ids_same,
            c.ids_absent,
            c.btf_same,
            c.differ
        ),
    );
    crate::figures::say(
        "dropin-selftests",
        patch_summary("dropin --config selftests", &patched),
    );
    crate::figures::say(
        "dropin-selftests",
        format!(
            "dropin --config selftests: {:.0} s wall ({copied}, {:.0} s relinking vmlinux and \
             modules, {:.0} s building test_kmods/)",
            t0.elapsed().as_secs_f64(),
            relink.as_secs_f64(),
            kmods_time.as_secs_f64()
        ),
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_rows_and_verdicts() {
        let t = "/t/vmlinux\t0\t0\t1444\tsame\tsame\n/t/a.ko\t0\t0\tabsent\tabsent\tsame\n\
                 /t/b.ko\t0\t0\t72\tDIFF\tsame\n/t/c.ko\t255\t0\t8\tsame\tsame\n";
        let rows = parse_tsv(t).unwrap();
        assert_eq!(rows.len(), 4);
        assert!(rows[0].ok() && rows[1].ok());
        assert!(!rows[2].ok(), "different .BTF_ids");
        assert!(!rows[3].ok(), "different exit status");
        assert!(parse_tsv("x\ty\n").is_err());
        let c = Counts::of(&rows);
        assert_eq!(
            c,
            Counts {
                objects: 4,
                ids_same: 2,
                ids_absent: 1,
                btf_same: 4,
                differ: 2
            }
        );
        let expected = [PathBuf::from("/t/a.ko"), PathBuf::from("/t/d.ko")];
        assert_eq!(missing(&rows, &expected), [&expected[1]]);
    }

    #[test]
    fn patch_rows_and_targets() {
        let p = parse_patch_tsv(
            "/t/vmlinux.unstripped\t0\t0\tsame\n/t/b.ko\t0\t0\tDIFF\n\
                                 /t/c.ko\t1\t0\tsame\n",
        )
        .unwrap();
        assert!(p[0].ok());
        assert!(!p[1].ok(), "different ELF");
        assert!(!p[2].ok(), "different exit status");
        assert!(parse_patch_tsv("/t/a.ko\t0\t0\n").is_err());
        let rows = parse_tsv(
            "/t/.tmp_vmlinux1\t0\t0\t1444\tsame\tsame\n/t/a.ko\t0\t0\tabsent\tabsent\tsame\n\
             /t/b.ko\t0\t0\t72\tDIFF\tsame\n",
        )
        .unwrap();
        assert_eq!(
            patch_targets(&rows),
            [
                PathBuf::from("/t/vmlinux.unstripped"),
                PathBuf::from("/t/b.ko")
            ]
        );
        assert_eq!(
            patch_summary("x", &p),
            "x: --patch_btfids ran on 3 ELF files; the patched file identical to the stock \
             tool's on 1, 2 differ"
        );
    }

    /// Run [`WRAPPER`] as gen-btf.sh does (`--btf`, then `--patch_btfids`) with two fake
    /// tools that write `blob` and the given `.BTF_ids` content; returns its two tables.
    fn run_wrapper(dir: &Path, stock_ids: &str, stock_patch: &str) -> (Vec<Row>, Vec<PatchRow>) {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).unwrap();
        let tool = |name: &str, ids: &str, patch: &str| {
            let p = dir.join(name);
            fs::write(
                &p,
                format!(
                    "#!/bin/sh\nif [ \"$1\" = --patch_btfids ]; then printf '{patch}' >>\"$3\"; \
                     exit 0; fi\nfor a do obj=$a; done\nprintf '{ids}' >\"$obj.BTF_ids\"\n\
                     printf btf >\"$obj.BTF\"\n"
                ),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        let post = tool("post", "ids", "patched");
        let stock = tool("stock", stock_ids, stock_patch);
        let script = dir.join("wrapper.sh");
        fs::write(&script, WRAPPER).unwrap();
        fs::write(dir.join("m.ko"), "elf").unwrap();
        fs::write(dir.join("m.ko.BTF.1"), "pahole").unwrap();
        for args in [
            &["--btf_base", "vmlinux", "--btf", "m.ko.BTF.1", "m.ko"][..],
            &["--patch_btfids", "m.ko.BTF_ids", "m.ko"][..],
        ] {
            let st = Command::new("sh")
                .arg(&script)
                .args(args)
                .current_dir(dir)
                .env("DROPIN_POST", &post)
                .env("DROPIN_STOCK", &stock)
                .env("DROPIN_DIR", dir)
                .status()
                .unwrap();
            assert!(st.success(), "{args:?}");
        }
        // What Kbuild keeps is btfids-post's.
        assert_eq!(fs::read_to_string(dir.join("m.ko")).unwrap(), "elfpatched");
        let rows = parse_tsv(&fs::read_to_string(dir.join("compare.tsv")).unwrap()).unwrap();
        let patched = parse_patch_tsv(&fs::read_to_string(dir.join("patch.tsv")).unwrap()).unwrap();
        (rows, patched)
    }

    #[test]
    fn the_wrapper_compares_both_calls() {
        let dir = std::env::temp_dir().join(format!("dropin-wrapper-{}", std::process::id()));
        let ko = dir.join("m.ko").display().to_string();
        let kept = |dir: &Path, prefix: &str| {
            fs::read_dir(dir)
                .unwrap()
                .filter(|e| {
                    let n = e.as_ref().unwrap().file_name();
                    n.to_string_lossy().starts_with(prefix)
                })
                .count()
        };
        let (rows, patched) = run_wrapper(&dir, "ids", "patched");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].object.as_str(), rows[0].ids_size.as_str()),
            (ko.as_str(), "3")
        );
        assert!(rows[0].ok() && rows[0].ids == "same" && rows[0].btf == "same");
        assert_eq!(patch_targets(&rows), [PathBuf::from(&ko)]);
        assert_eq!(patched.len(), 1);
        assert!(patched[0].ok() && patched[0].object == ko);
        assert_eq!(kept(&dir, "resolve.") + kept(&dir, "patched."), 0);

        let (rows, patched) = run_wrapper(&dir, "other", "other");
        assert_eq!(rows[0].ids, "DIFF");
        assert_eq!(rows[0].btf, "same");
        assert_eq!(patched[0].elf, "DIFF");
        // The inputs of both differing calls are kept.
        assert_eq!((kept(&dir, "resolve."), kept(&dir, "patched.")), (1, 1));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn reads_a_stamp_value() {
        let stamp = "flavor: selftests\nKBUILD_BUILD_TIMESTAMP (pahole without -j): 2026-01-01 \
                     00:00:00 UTC\nsource linux-source-7.3: 7.3.4-1~bpo13+1\n";
        assert_eq!(
            stamp_value(stamp, "KBUILD_BUILD_TIMESTAMP"),
            Some("2026-01-01 00:00:00 UTC")
        );
        assert_eq!(stamp_value(stamp, "source"), Some("7.3.4-1~bpo13+1"));
        assert_eq!(stamp_value(stamp, "rustc"), None);
    }
}
