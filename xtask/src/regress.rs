//! `cargo xtask regress`: the kernel's own verifier tests on the unpatched and the patched
//! kernel, compared test by test.
//!
//! The full BPF selftests (`tools/testing/selftests/bpf` `test_progs`) need a much fuller
//! kernel config (the selftests' `config` file: tracing, cgroups, LSM, netfilter, ...),
//! `bpf_testmod.ko` and a `vmlinux.h` of that kernel: a kernel of its own, too heavy for
//! this prototype's CI. What runs here is `test_verifier`: the raw-instruction verifier
//! tests (`verifier/*.c`, ~500 tests in privileged and unprivileged runs), built from the
//! 7.3 source with `OUTPUT=` outside any kernel tree, and run in the VM on both kernels of
//! `cargo xtask kernel`, each with the selftests' `bpf_testmod.ko` (the upstream kfunc test
//! module, suffix-named kfuncs) built against it. Tests whose program type or feature the tinyconfig kernel lacks
//! fail or skip the same way on both; the check is that the patch series changes no
//! result: every test has the same status (OK, FAIL, SKIP) on both kernels.
//!
//! Work directory: `~/.cache/kfunc-args/regress/<source version>/` (the source subset and the build).

use crate::kernel::{self, Variant};
use crate::vm::{self, VmSpec};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::source::TARBALL_TOP as TOP;
/// What `test_verifier` needs from the source tree.
const SUBSET: &[&str] = &[
    "Makefile",
    "tools",
    "include",
    "scripts",
    "arch/x86",
    "kernel/bpf",
];
/// Shared libraries `test_verifier` is linked with (plus the dynamic loader).
const LIBS: &[&str] = &[
    "/lib/x86_64-linux-gnu/libelf.so.1",
    "/lib/x86_64-linux-gnu/libz.so.1",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib64/ld-linux-x86-64.so.2",
];

fn work_dir() -> Result<PathBuf, String> {
    let src = crate::source::ensure_source()?;
    kernel::cache_dir(&format!("regress/{}", src.version))
}

/// Unpack (once) the pristine source subset the selftests are built from; returns its top.
pub fn ensure_source() -> Result<PathBuf, String> {
    let w = work_dir()?;
    let src = w.join(TOP);
    fs::create_dir_all(&w).map_err(|e| format!("{}: {e}", w.display()))?;
    if !w.join("unpacked.ok").exists() {
        let _ = fs::remove_dir_all(&src);
        let tarball = crate::source::ensure_source()?.tarball;
        eprintln!(
            "regress: unpacking the test sources from {}",
            tarball.display()
        );
        let mut c = Command::new("tar");
        c.arg("-xJf").arg(&tarball).arg("-C").arg(&w);
        for s in SUBSET {
            c.arg(format!("{TOP}/{s}"));
        }
        crate::deps::run_logged(&mut c, "unpack", &w.join("unpack.log"))?;
        fs::write(w.join("unpacked.ok"), b"").map_err(|e| e.to_string())?;
    }
    Ok(src)
}

/// Build `test_verifier` (from the pristine source subset) if needed; returns its path.
///
/// The 7.3 selftests' Makefile also builds BPF objects (libarena) on the way: they need
/// clang >= 18 (Debian's clang-19) and the BTF of the kernel they are for (`vmlinux`).
pub fn build_test_verifier(vmlinux: &Path) -> Result<PathBuf, String> {
    let w = work_dir()?;
    let src = ensure_source()?;
    let out = w.join("out");
    let bin = out.join("test_verifier");
    // The selftests' vmlinux.h is made once from VMLINUX_BTF: made from another kernel's
    // BTF (the build host's /sys/kernel/btf/vmlinux, an older tree), it lacks 7.3's kfuncs.
    let btf_stamp = out.join("vmlinux-btf.stamp");
    let want = format!(
        "{} {:?}\n",
        vmlinux.display(),
        fs::metadata(vmlinux).and_then(|m| m.modified()).ok()
    );
    if fs::read_to_string(&btf_stamp).ok().as_deref() != Some(want.as_str()) {
        let _ = fs::remove_file(out.join("tools/include/vmlinux.h"));
        let _ = fs::remove_file(&bin);
    }
    if !bin.exists() {
        eprintln!("regress: building test_verifier");
        fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        crate::deps::run_logged(
            Command::new("make")
                .arg("-C")
                .arg(src.join("tools/testing/selftests/bpf"))
                .arg("-j3")
                .arg(format!("OUTPUT={}", out.display()))
                .arg(format!("VMLINUX_BTF={}", vmlinux.display()))
                .args(["CLANG=clang-19", "LLC=llc-19", "LLVM_STRIP=llvm-strip-19"])
                // libarena's BPF objects use 32-bit atomics and signed division (BPF ISA
                // v4), which clang-19 does not select by default. MENDIAN reaches only
                // BPF_CFLAGS.
                .arg("MENDIAN=-mlittle-endian -mcpu=v4")
                .arg(&bin),
            "make test_verifier",
            &w.join("build.log"),
        )?;
        fs::write(&btf_stamp, want).map_err(|e| format!("{}: {e}", btf_stamp.display()))?;
    }
    Ok(bin)
}

/// Test statuses from `test_verifier` output: `#N/p` or `#N/u` -> (name, status).
pub fn parse(console: &str) -> BTreeMap<String, (String, String)> {
    let mut m = BTreeMap::new();
    for l in console.lines() {
        let l = l.trim_end();
        let Some(rest) = l.strip_prefix('#') else {
            continue;
        };
        let Some((key, tail)) = rest.split_once(' ') else {
            continue;
        };
        if !key.ends_with("/p") && !key.ends_with("/u") {
            continue;
        }
        let (name, status) = if let Some(n) = tail.strip_suffix(" FAIL") {
            (n, "FAIL")
        } else if let Some(i) = tail.rfind(" SKIP") {
            (&tail[..i], "SKIP")
        } else if let Some(i) = tail.rfind(" OK").or_else(|| tail.rfind("OK")) {
            let n = tail[..i].trim_end();
            // "N cases OK"
            let n = n
                .rsplit_once(' ')
                .filter(|(_, c)| *c == "cases")
                .and_then(|(a, _)| a.rsplit_once(' ').map(|(b, _)| b))
                .unwrap_or(n);
            (n, "OK")
        } else {
            (tail, "?")
        };
        m.insert(
            format!("#{key}"),
            (name.trim().to_string(), status.to_string()),
        );
    }
    m
}

/// Build the selftests' `bpf_testmod.ko` (the kfunc test module test_verifier loads)
/// against `tree`.
fn build_testmod(tree: &Path, label: &str) -> Result<PathBuf, String> {
    build_kmod_with(tree, "bpf_testmod", label, None, Some(tolerate_no_cgroups))
}

/// The struct_ops `bpf_testmod_st_ops` of 7.3's bpf_testmod refuses to register (and so the
/// module to load, and test_verifier to run at all) unless the kernel has the cgroup kfuncs
/// (`bpf_cgroup_from_id`), which tinyconfig (no CONFIG_CGROUPS) lacks. Without cgroups the
/// check is left out: the struct_ops is then registered but unusable, which no
/// test_verifier test uses. The same edited module is loaded on both kernels.
fn tolerate_no_cgroups(text: &str) -> String {
    const CHECK: &str =
        "\tif (bpf_cgroup_from_id_id < 0 || bpf_cgroup_release_id < 0)\n\t\treturn -EINVAL;\n";
    text.replacen(CHECK, &format!("#ifdef CONFIG_CGROUPS\n{CHECK}#endif\n"), 1)
}

/// Build one of the selftests' test modules (`tools/testing/selftests/bpf/test_kmods/<name>.c`,
/// e.g. `bpf_testmod`) against the kernel `tree`, in a copy of its directory named after `label`;
/// returns the path of `<name>.ko`.
pub fn build_kmod(tree: &Path, name: &str, label: &str) -> Result<PathBuf, String> {
    build_kmod_with(tree, name, label, None, None)
}

/// [`build_kmod`], with `patch` (paths from the kernel tree's root, as in a series) applied
/// to the copy of the module's directory first, then `edit` applied to its `<name>.c`.
pub fn build_kmod_with(
    tree: &Path,
    name: &str,
    label: &str,
    patch: Option<&Path>,
    edit: Option<fn(&str) -> String>,
) -> Result<PathBuf, String> {
    let w = work_dir()?;
    // 7.3 keeps every selftests module in one directory, test_kmods/.
    let src = ensure_source()?.join("tools/testing/selftests/bpf/test_kmods");
    let dir = w.join(format!("{name}-{label}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        let to = dir.join(p.file_name().unwrap());
        fs::copy(&p, &to).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if let Some(patch) = patch {
        // a/tools/testing/selftests/bpf/<name>/file: six components up to the file.
        crate::deps::run_logged(
            Command::new("patch")
                .args(["-p6", "--batch", "--forward", "-d"])
                .arg(&dir)
                .arg("-i")
                .arg(patch),
            &format!("apply {} to {name}", patch.display()),
            &dir.join("build.log"),
        )?;
    }
    // Only this module: a Kbuild file (Kbuild reads it before the directory's Makefile,
    // which lists all of test_kmods/).
    // 7.3's bpf_testmod.c uses irq_work without including <linux/irq_work.h>: a fuller
    // config brings it in through other headers, tinyconfig's do not.
    let extra = if name == "bpf_testmod" {
        " -include linux/irq_work.h"
    } else {
        ""
    };
    let kbuild = dir.join("Kbuild");
    fs::write(
        &kbuild,
        format!("obj-m := {name}.o\nCFLAGS_{name}.o = -I$(src){extra}\n"),
    )
    .map_err(|e| format!("{}: {e}", kbuild.display()))?;
    if let Some(edit) = edit {
        let c = dir.join(format!("{name}.c"));
        let text = fs::read_to_string(&c).map_err(|e| format!("{}: {e}", c.display()))?;
        fs::write(&c, edit(&text)).map_err(|e| format!("{}: {e}", c.display()))?;
    }
    crate::deps::run_logged(
        Command::new("make")
            .arg("-C")
            .arg(tree)
            .arg(crate::kernel::LLVM)
            .arg(format!("M={}", dir.display()))
            .arg("modules")
            .env("LIBCLANG_PATH", kernel::LIBCLANG_PATH),
        &format!("building {name}.ko against the {label} kernel"),
        &dir.join("build.log"),
    )?;
    Ok(dir.join(format!("{name}.ko")))
}

fn run_on(
    kernel_tree: &Path,
    bin: &Path,
    label: &str,
) -> Result<BTreeMap<String, (String, String)>, String> {
    let w = work_dir()?;
    let testmod = build_testmod(kernel_tree, label)?;
    let mut files = vec![
        (bin.to_path_buf(), "/test_verifier".to_string()),
        (testmod, "/bpf_testmod.ko".to_string()),
    ];
    for l in LIBS {
        files.push((PathBuf::from(l), l.to_string()));
    }
    let spec = VmSpec {
        kernel: kernel_tree.join("arch/x86/boot/bzImage"),
        modules: Vec::new(),
        files,
        command: "cd / && /test_verifier; echo \"TV-RC=$?\"; true".into(),
        work_dir: w.join(format!("vm-{label}")),
        timeout: Duration::from_secs(1200),
        // 7.3 verifies some test_verifier programs with large vmalloc tables (OOM at 1 GiB).
        memory_mib: 3072,
        cpus: 1,
        echo: false,
        progress: None,
    };
    eprintln!("regress: test_verifier on the {label} kernel (TCG)");
    let o = vm::run_vm(&spec)?;
    if o.timed_out {
        return Err(format!(
            "{label}: VM timed out ({})",
            o.console_log.display()
        ));
    }
    if !o.problems.is_empty() {
        println!(
            "regress: {label}: kernel problems on the console ({}):",
            o.console_log.display()
        );
        for p in &o.problems {
            println!("  {p}");
        }
    }
    let summary = o.summary(label, "test_verifier")?;
    println!(
        "regress: {label}: {summary} ({:.0} s)",
        o.wall.as_secs_f64()
    );
    Ok(parse(&o.console))
}

/// `cargo xtask regress`: its tally (a run the kernels disagree on is a failure).
pub fn run(_: &crate::flags::Regress) -> Result<crate::test::Tally, String> {
    let unpatched = kernel::ensure_kernel(Variant::Unpatched)?;
    let patched = kernel::ensure_kernel(Variant::Patched)?;
    let bin = build_test_verifier(&unpatched.vmlinux)?;
    let a = run_on(&unpatched.tree, &bin, "unpatched")?;
    let b = run_on(&patched.tree, &bin, "patched")?;
    let count = |m: &BTreeMap<String, (String, String)>, s: &str| {
        m.values().filter(|(_, st)| st == s).count()
    };
    let mut diffs = Vec::new();
    for (k, (name, st)) in &a {
        match b.get(k) {
            Some((_, st2)) if st2 == st => {}
            Some((_, st2)) => diffs.push(format!("{k} {name}: unpatched {st}, patched {st2}")),
            None => diffs.push(format!("{k} {name}: missing on the patched kernel")),
        }
    }
    for (k, (name, _)) in &b {
        if !a.contains_key(k) {
            diffs.push(format!("{k} {name}: missing on the unpatched kernel"));
        }
    }
    crate::figures::say(
        "regress",
        format!(
            "regress: {} test runs; unpatched OK/FAIL/SKIP {}/{}/{}, patched {}/{}/{}; {} differ",
            a.len(),
            count(&a, "OK"),
            count(&a, "FAIL"),
            count(&a, "SKIP"),
            count(&b, "OK"),
            count(&b, "FAIL"),
            count(&b, "SKIP"),
            diffs.len()
        ),
    );
    for d in &diffs {
        println!("  DIFF {d}");
    }
    // As a test tally: a run the unpatched kernel passes must pass on the patched one too
    // (passed, or failed if not); every other run (FAIL or SKIP on the unpatched kernel,
    // e.g. for features tinyconfig lacks) is skipped, unless the two kernels disagree on it.
    let ok_ok = a
        .iter()
        .filter(|(k, (_, st))| st == "OK" && b.get(*k).is_some_and(|(_, s2)| s2 == "OK"))
        .count();
    let not_ok_same = a
        .iter()
        .filter(|(k, (_, st))| st != "OK" && b.get(*k).is_some_and(|(_, s2)| s2 == st))
        .count();
    crate::figures::say(
        "regress",
        format!(
            "regress: {} passed, {} failed, {} skipped",
            ok_ok,
            diffs.len(),
            not_ok_same
        ),
    );
    if a.is_empty() {
        return Err("regress: no test result parsed".into());
    }
    Ok(crate::test::Tally {
        passed: ok_ok as u64,
        failed: diffs.len() as u64,
        skipped: not_ok_same as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ok_fail_skip_and_cases() {
        let log = "#0/u invalid and of negative number OK\n\
                   #0/p invalid and of negative number OK\n\
                   #12/p calls: basic sanity 2 cases OK\n\
                   #13/p calls: x FAIL\n\
                   Unexpected error message!\n\
                   #14/u d SKIP\n\
                   #15/p e SKIP (unsupported program type 9)\n\
                   Summary: 3 PASSED, 2 SKIPPED, 1 FAILED\n";
        let m = parse(log);
        assert_eq!(m.len(), 6);
        assert_eq!(m["#0/u"].1, "OK");
        assert_eq!(m["#12/p"], ("calls: basic sanity".into(), "OK".into()));
        assert_eq!(m["#13/p"].1, "FAIL");
        assert_eq!(m["#14/u"].1, "SKIP");
        assert_eq!(m["#15/p"], ("e".into(), "SKIP".into()));
    }
}
