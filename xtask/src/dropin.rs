//! `cargo xtask dropin [--no-vm]`: btfids-post as Kbuild's `RESOLVE_BTFIDS` for the whole
//! patched kernel.
//!
//! 1. The patched tree of `cargo xtask kernel` ([`kernel::ensure_kernel`]) is copied
//!    (`cp -a`) to `~/.cache/kfunc-args/kernel/dropin-<key>/linux` and [`EXTRA_CONFIG`]
//!    is merged in, so that the kernel also has in-tree modules (TCP congestion controls,
//!    three with kfunc sets, and a Rust sample module); `<key>` hashes the patched tree's
//!    path and the extra config.
//! 2. `make bzImage modules` with the stock `tools/bpf/resolve_btfids` (Kbuild's default);
//!    the `.BTF_ids` (and `.BTF`) of vmlinux and of every `.ko` are saved.
//! 3. vmlinux and every `.ko` are deleted and `make bzImage modules
//!    RESOLVE_BTFIDS=<target/release/btfids-post>` links them again: every post-link step
//!    of the build (vmlinux, each module in `scripts/Makefile.modfinal`) runs btfids-post.
//!    The objects are the same, so the sections must be byte-identical: a table compares
//!    them. The out-of-tree C modules of this repository (kernel/ctest, its parity
//!    modules, selftests/cmod) are built both ways too.
//! 4. Unless `--no-vm`: the btfids-post-linked bzImage boots in the VM and runs the
//!    selftests on it: the Rust sample's BPF selftests (`selftests/`, variant args, with
//!    the sample module built against this tree), `kernel/ctest/run.sh` and
//!    `kernel/ctest/parity/run.sh`.

use crate::kernel::{self, Variant};
use crate::selftests;
use crate::vm::{self, VmSpec};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Options merged over the patched kernel's config: in-tree modules for the comparison.
pub const EXTRA_CONFIG: &[&str] = &[
    "CONFIG_TCP_CONG_ADVANCED=y",
    "CONFIG_TCP_CONG_BBR=m",
    "CONFIG_TCP_CONG_DCTCP=m",
    "CONFIG_TCP_CONG_WESTWOOD=m",
    "CONFIG_SAMPLES=y",
    "CONFIG_SAMPLES_RUST=y",
    "CONFIG_SAMPLE_RUST_MINIMAL=m",
];

/// Out-of-tree C modules of this repository built both ways: (source dir, modules).
const OOT_MODULES: &[(&str, &[&str])] = &[
    ("kernel/ctest", &["kfa_test"]),
    (
        "kernel/ctest/parity",
        &["kfunc_csfx", "kfunc_cargs", "kfunc_cctl"],
    ),
    ("selftests/cmod", &["kfunc_cmod"]),
];

fn fnv(parts: &[&[u8]]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &c in (p.len() as u64).to_le_bytes().iter().chain(p.iter()) {
            h ^= u64::from(c);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn run_logged(cmd: &mut Command, what: &str, log: &Path) -> Result<(), String> {
    let f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let f2 = f.try_clone().map_err(|e| e.to_string())?;
    let st = cmd
        .stdout(Stdio::from(f))
        .stderr(Stdio::from(f2))
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", cmd.get_program()))?;
    if st.success() {
        Ok(())
    } else {
        let text = fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        Err(format!(
            "{what} failed ({st}); last lines of {}:\n{}",
            log.display(),
            lines[lines.len().saturating_sub(30)..].join("\n")
        ))
    }
}

fn make(tree: &Path) -> Command {
    let mut c = Command::new("make");
    c.arg("-C").arg(tree).arg("LLVM=1");
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

/// The bytes of section `name` of `elf`, `None` if it has no such section.
fn section(elf: &Path, name: &str, tmp: &Path) -> Result<Option<Vec<u8>>, String> {
    let _ = fs::remove_file(tmp);
    let out = Command::new("llvm-objcopy")
        .arg(format!("--dump-section={name}={}", tmp.display()))
        .arg(elf)
        .arg("/dev/null")
        .output()
        .map_err(|e| format!("llvm-objcopy: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("not found") {
            return Ok(None);
        }
        return Err(format!("llvm-objcopy {}: {err}", elf.display()));
    }
    let b = fs::read(tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let _ = fs::remove_file(tmp);
    Ok(Some(b))
}

/// Saved sections of one build: object name -> (.BTF_ids, .BTF).
type Snapshot = Vec<(String, Option<Vec<u8>>, Option<Vec<u8>>)>;

fn snapshot(objects: &[(String, PathBuf)], tmp: &Path) -> Result<Snapshot, String> {
    let mut v = Vec::new();
    for (name, p) in objects {
        v.push((
            name.clone(),
            section(p, ".BTF_ids", tmp)?,
            section(p, ".BTF", tmp)?,
        ));
    }
    Ok(v)
}

fn tree_objects(tree: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let mut kos = Vec::new();
    find_kos(tree, Path::new(""), &mut kos)?;
    let mut v = vec![("vmlinux".to_string(), tree.join("vmlinux"))];
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
    for f in ["vmlinux", "arch/x86/boot/bzImage"] {
        let _ = fs::remove_file(tree.join(f));
    }
    Ok(())
}

/// Build (or reuse) the drop-in tree: a copy of the patched tree with [`EXTRA_CONFIG`].
fn prepare_tree(patched: &kernel::KernelTree, dir: &Path, log: &Path) -> Result<PathBuf, String> {
    let tree = dir.join("linux");
    if !dir.join("copied.ok").exists() {
        let _ = fs::remove_dir_all(&tree);
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        eprintln!(
            "dropin: copying {} to {} (cp -a)",
            patched.tree.display(),
            tree.display()
        );
        run_logged(
            Command::new("cp").arg("-a").arg(&patched.tree).arg(&tree),
            "cp -a of the patched tree",
            log,
        )?;
        // The capture wrapper's saved inputs belong to the patched build.
        let _ = fs::remove_dir_all(tree.join("btfids-inputs"));
        fs::write(dir.join("copied.ok"), b"").map_err(|e| e.to_string())?;
    }
    if !dir.join("configured.ok").exists() {
        let frag = dir.join("extra.config");
        fs::write(&frag, EXTRA_CONFIG.join("\n") + "\n").map_err(|e| e.to_string())?;
        run_logged(
            Command::new(tree.join("scripts/kconfig/merge_config.sh"))
                .current_dir(&tree)
                .arg("-m")
                .arg(".config")
                .arg(&frag),
            "merge the extra config",
            log,
        )?;
        run_logged(make(&tree).arg("olddefconfig"), "make olddefconfig", log)?;
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

fn build_tree(tree: &Path, resolve: Option<&Path>, log: &Path, label: &str) -> Result<(), String> {
    let t = Instant::now();
    let mut c = make(tree);
    c.arg(jobs()).args(["bzImage", "modules"]);
    if let Some(r) = resolve {
        c.arg(format!("RESOLVE_BTFIDS={}", r.display()));
    }
    eprintln!(
        "dropin: [{label}] make bzImage modules (log {})",
        log.display()
    );
    run_logged(&mut c, &format!("make bzImage modules ({label})"), log)?;
    eprintln!(
        "dropin: [{label}] built in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Build the out-of-tree C modules against `tree`, resolved by `resolve`.
fn build_oot(
    tree: &Path,
    resolve: &Path,
    out: &Path,
    log: &Path,
) -> Result<Vec<(String, PathBuf)>, String> {
    let root = kernel::repo_root();
    let mut v = Vec::new();
    for (src, mods) in OOT_MODULES {
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
        run_logged(
            make(tree)
                .arg(format!("M={}", d.display()))
                .arg(format!("RESOLVE_BTFIDS={}", resolve.display()))
                .arg("modules"),
            &format!("out-of-tree modules {src}"),
            log,
        )?;
        for m in *mods {
            v.push((format!("{src}/{m}.ko"), d.join(format!("{m}.ko"))));
        }
    }
    Ok(v)
}

/// One row of the comparison table.
#[derive(Debug)]
pub struct Row {
    /// vmlinux or the module's path.
    pub object: String,
    /// Size of `.BTF_ids` (stock build), `None` if absent.
    pub ids_size: Option<usize>,
    /// `.BTF_ids` identical.
    pub ids_same: bool,
    /// `.BTF` identical.
    pub btf_same: bool,
}

fn compare(stock: &Snapshot, post: &Snapshot) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (name, ids, btf) in stock {
        let (_, pids, pbtf) = post
            .iter()
            .find(|(n, _, _)| n == name)
            .ok_or_else(|| format!("{name}: built by the stock tool, missing with btfids-post"))?;
        rows.push(Row {
            object: name.clone(),
            ids_size: ids.as_ref().map(Vec::len),
            ids_same: ids == pids,
            btf_same: btf == pbtf,
        });
    }
    for (name, _, _) in post {
        if !stock.iter().any(|(n, _, _)| n == name) {
            return Err(format!(
                "{name}: built with btfids-post, missing in the stock build"
            ));
        }
    }
    Ok(rows)
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<46} {:>10}  {:<20} {:<14}",
        "object", ".BTF_ids", ".BTF_ids identical", ".BTF identical"
    );
    for r in rows {
        println!(
            "{:<46} {:>10}  {:<20} {:<14}",
            r.object,
            r.ids_size.map_or("absent".into(), |n| format!("{n} B")),
            if r.ids_same { "yes" } else { "NO" },
            if r.btf_same { "yes" } else { "NO" }
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
    run_logged(
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
        echo: false,
    };
    let o = vm::run_vm(&spec)?;
    for l in o.console.lines().filter(|l| l.starts_with("TEST ")) {
        println!("  {l}");
    }
    o.verdict()?;
    selftests::parse_summary(&o.console).ok_or_else(|| "the runner printed no summary".into())
}

/// Run a shell test script with `tree`; returns its last line and whether it passed.
fn script(path: &str, tree: &Path, out: &Path) -> Result<(bool, String), String> {
    let p = kernel::repo_root().join(path);
    let o = Command::new("sh")
        .arg(&p)
        .arg(tree)
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

fn usage() -> String {
    "usage: cargo xtask dropin [--no-vm]".into()
}

/// `cargo xtask dropin [--no-vm]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut with_vm = true;
    for a in args {
        match a.as_str() {
            "--no-vm" => with_vm = false,
            "-h" | "--help" => {
                println!("{}", usage());
                return Ok(());
            }
            o => return Err(format!("dropin: unknown argument {o}\n{}", usage())),
        }
    }
    let t0 = Instant::now();
    let patched = kernel::ensure_kernel(Variant::Patched)?;
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let key = fnv(&[
        patched.tree.as_os_str().as_encoded_bytes(),
        EXTRA_CONFIG.join("\n").as_bytes(),
    ]);
    let dir = PathBuf::from(home).join(format!(".cache/kfunc-args/kernel/dropin-{key}"));
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let log = dir.join("build.log");
    let tree = prepare_tree(&patched, &dir, &log)?;
    let stock_tool = tree.join("tools/bpf/resolve_btfids/resolve_btfids");

    // Host tools (btfids-post) first: the post build needs it.
    let (_, post_tool) = crate::sample::build_host_tools(&tree)?;
    let tmp = dir.join("section.tmp");

    // Stock build.
    build_tree(&tree, None, &log, "stock resolve_btfids")?;
    let mut objects = tree_objects(&tree)?;
    let stock_oot = build_oot(&tree, &stock_tool, &dir.join("oot-stock"), &log)?;
    objects.extend(stock_oot);
    let stock = snapshot(&objects, &tmp)?;
    let kos = objects.len() - 1;

    // Drop-in build: everything the resolver touches is linked again.
    remove_outputs(&tree)?;
    build_tree(&tree, Some(&post_tool), &log, "btfids-post")?;
    let mut objects = tree_objects(&tree)?;
    objects.extend(build_oot(&tree, &post_tool, &dir.join("oot-post"), &log)?);
    let post = snapshot(&objects, &tmp)?;

    let rows = compare(&stock, &post)?;
    print_table(&rows);
    let ids_diff = rows.iter().filter(|r| !r.ids_same).count();
    let with_ids = rows.iter().filter(|r| r.ids_size.is_some()).count();
    println!(
        "\ndropin: vmlinux + {kos} modules ({} in-tree, {} out-of-tree); {with_ids} have .BTF_ids; \
         {} identical, {ids_diff} differ",
        kos - OOT_MODULES.iter().map(|(_, m)| m.len()).sum::<usize>(),
        OOT_MODULES.iter().map(|(_, m)| m.len()).sum::<usize>(),
        rows.len() - ids_diff
    );
    let mut failures = Vec::new();
    if ids_diff > 0 {
        failures.push(format!("{ids_diff} object(s) with different .BTF_ids"));
    }

    if with_vm {
        println!(
            "\ndropin: selftests on the btfids-post-linked kernel {}",
            tree.display()
        );
        match vm_selftests(&tree, &dir.join("selftests")) {
            Ok((p, f, s)) => {
                println!("dropin: selftests: {p} passed, {f} failed, {s} skipped");
                if f > 0 {
                    failures.push(format!("{f} selftest(s) failed"));
                }
            }
            Err(e) => failures.push(format!("selftests: {e}")),
        }
        for (name, path) in [
            ("ctest", "kernel/ctest/run.sh"),
            ("parity", "kernel/ctest/parity/run.sh"),
        ] {
            match script(path, &tree, &dir.join(name)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_finds_differences_and_missing_objects() {
        let s: Snapshot = vec![
            ("vmlinux".into(), Some(vec![1, 2]), Some(vec![9])),
            ("a.ko".into(), None, None),
        ];
        let mut p = s.clone();
        let rows = compare(&s, &p).unwrap();
        assert!(rows.iter().all(|r| r.ids_same && r.btf_same));
        assert_eq!(rows[0].ids_size, Some(2));
        p[0].1 = Some(vec![1, 3]);
        let rows = compare(&s, &p).unwrap();
        assert!(!rows[0].ids_same && rows[0].btf_same);
        p.pop();
        assert!(compare(&s, &p).is_err());
    }
}
