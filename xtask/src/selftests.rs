//! `cargo xtask selftests [--variant args|legacy|both]` and `cargo xtask demo`.
//!
//! Builds what a run needs (kernel tree, host tools, the sample module, the BPF objects of
//! `selftests/progs`, the static libbpf runner of `selftests/runner`), boots each variant's
//! kernel in the VM harness ([`crate::vm`]) and prints the results. With both variants it
//! prints the matrix: per test, the verdict under the patched kernel with per-argument
//! flags (`args`) and under the unpatched kernel with a legacy-set8 module (`legacy`),
//! and whether the verdict changed: the rejections and acceptances that exist only
//! because of per-argument flags.

use crate::sample::{self, Variant};
use crate::vm::{self, VmSpec};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// The object whose first program returns the module's live reference count.
const STATS_OBJECT: &str = "stats.bpf.o";

/// The compat check, in the runner's output format: an unpatched kernel must refuse the
/// extended set (`register_btf_kfunc_id_set` fails, so insmod fails).
const COMPAT_COMMAND: &str = "\
if insmod /extra/kfunc_sample.ko; then \
echo 'TEST FAIL compat_extended_set_refused verdict=accepted expect=rejected other=- flag=- the unpatched kernel registered an extended set'; \
echo 'SUMMARY: 0 passed, 1 failed, 0 skipped'; false; \
elif dmesg | grep -q 'register_btf_kfunc_id_set(SYSCALL): -22'; then \
echo 'TEST PASS compat_extended_set_refused verdict=rejected expect=rejected other=- flag=- register_btf_kfunc_id_set: -EINVAL, insmod refused'; \
echo 'SUMMARY: 1 passed, 0 failed, 0 skipped'; \
else \
echo 'TEST FAIL compat_extended_set_refused verdict=error expect=rejected other=- flag=- insmod failed for another reason'; \
echo 'SUMMARY: 0 passed, 1 failed, 0 skipped'; false; fi";

/// One `TEST` line of the runner.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// PASS, FAIL or SKIP.
    pub result: String,
    /// The program (test) name.
    pub name: String,
    /// What the verifier did: accepted, rejected, error or `-`.
    pub verdict: String,
    /// What this variant's annotations expect.
    pub expect: String,
    /// What the other variant's annotations expect.
    pub other: String,
    /// The per-argument flag the test exercises.
    pub flag: String,
    /// The rest of the line (return value, message, reason).
    pub detail: String,
}

/// Parse the runner's `TEST ...` lines out of a console log.
pub fn parse_tests(console: &str) -> Vec<TestResult> {
    console
        .lines()
        .filter_map(|l| {
            let l = l.trim_end();
            let rest = &l[l.find("TEST ")? + 5..];
            let mut it = rest.splitn(7, ' ');
            let result = it.next()?.to_string();
            let name = it.next()?.to_string();
            let mut field =
                |key: &str| -> Option<String> { it.next()?.strip_prefix(key).map(str::to_string) };
            let verdict = field("verdict=")?;
            let expect = field("expect=")?;
            let other = field("other=")?;
            let flag = field("flag=")?;
            let detail = it.next().unwrap_or("").to_string();
            Some(TestResult {
                result,
                name,
                verdict,
                expect,
                other,
                flag,
                detail,
            })
        })
        .collect()
}

/// Parse `SUMMARY: N passed, N failed, N skipped`.
pub fn parse_summary(console: &str) -> Option<(u32, u32, u32)> {
    let l = console.lines().rev().find(|l| l.contains("SUMMARY: "))?;
    let s = &l[l.find("SUMMARY: ")? + 9..];
    let nums: Vec<u32> = s
        .split(',')
        .filter_map(|p| p.split_whitespace().next()?.parse().ok())
        .collect();
    match nums[..] {
        [p, f, s] => Some((p, f, s)),
        _ => None,
    }
}

fn newest_mtime(paths: &[PathBuf]) -> SystemTime {
    paths
        .iter()
        .filter_map(|p| fs::metadata(p).and_then(|m| m.modified()).ok())
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

fn is_stale(out: &Path, inputs: &[PathBuf]) -> bool {
    match fs::metadata(out).and_then(|m| m.modified()) {
        Ok(t) => newest_mtime(inputs) > t,
        Err(_) => true,
    }
}

fn files_with_suffix(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>, String> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(suffix)))
        .collect();
    v.sort();
    Ok(v)
}

fn run_checked(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Compile every `selftests/progs/*.bpf.c` that changed; returns the objects.
pub fn build_bpf_objects(out_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let src = crate::kernel::repo_root().join("selftests");
    let include = src.join("include");
    let headers = files_with_suffix(&include, ".h")?;
    fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let mut objs = Vec::new();
    for c in files_with_suffix(&src.join("progs"), ".bpf.c")? {
        let stem = c
            .file_name()
            .and_then(|s| s.to_str())
            .and_then(|s| s.strip_suffix(".c"))
            .ok_or_else(|| format!("bad file name {}", c.display()))?;
        let obj = out_dir.join(format!("{stem}.o"));
        let mut inputs = headers.clone();
        inputs.push(c.clone());
        if is_stale(&obj, &inputs) {
            run_checked(
                Command::new("clang")
                    .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"])
                    .arg("-I/usr/include/x86_64-linux-gnu")
                    .arg("-I")
                    .arg(&include)
                    .arg("-c")
                    .arg(&c)
                    .arg("-o")
                    .arg(&obj),
                &format!("clang -target bpf {}", c.display()),
            )?;
        }
        objs.push(obj);
    }
    Ok(objs)
}

/// Build the static libbpf runner if its source changed.
pub fn build_runner(out_dir: &Path) -> Result<PathBuf, String> {
    let src = crate::kernel::repo_root().join("selftests/runner/runner.c");
    let out = out_dir.join("runner");
    fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    if is_stale(&out, std::slice::from_ref(&src)) {
        run_checked(
            Command::new("gcc")
                .args([
                    "-O2",
                    "-Wall",
                    "-Werror",
                    "-Wno-unused-parameter",
                    "-static",
                ])
                .arg("-o")
                .arg(&out)
                .arg(&src)
                .args(["-lbpf", "-lelf", "-lz"]),
            "gcc -static runner.c -lbpf -lelf -lz",
        )?;
    }
    Ok(out)
}

/// Options of one selftest VM run.
#[derive(Debug, Clone, Default)]
pub struct RunOpts {
    /// Only these tests (runner `--only`); empty: all.
    pub only: Vec<String>,
    /// Verifier log lines shown per test (runner `--show-log`).
    pub show_log: u32,
    /// Copy the console to stdout while the VM runs.
    pub echo: bool,
}

/// Results of one variant.
#[derive(Debug)]
pub struct VariantRun {
    /// Which variant.
    pub variant: Variant,
    /// One entry per runner `TEST` line.
    pub tests: Vec<TestResult>,
    /// passed, failed, skipped from the runner's summary.
    pub summary: Option<(u32, u32, u32)>,
    /// `Err` when the VM run itself failed (marker, timeout, kernel problem, rc).
    pub vm_verdict: Result<(), String>,
    /// Wall time of building (module, objects, runner).
    pub build_time: Duration,
    /// Wall time of the VM run.
    pub vm_time: Duration,
    /// The console lines the runner printed (TEST lines and their details).
    pub runner_output: Vec<String>,
    /// The module that was loaded.
    pub ko: PathBuf,
    /// The kernel tree it was built against.
    pub tree: PathBuf,
}

/// Debian packages a VM selftest run needs besides the kernel build's.
pub const VM_PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "busybox-static",
    "cpio",
    "gzip",
    "gcc",
    "clang",
    "libbpf-dev",
    "libelf-dev",
    "zlib1g-dev",
];

/// Build everything for `variant` and run the selftests in the VM.
pub fn run_variant(variant: Variant, opts: &RunOpts) -> Result<VariantRun, String> {
    let t0 = Instant::now();
    crate::deps::ensure_debian_packages(VM_PACKAGES)?;
    let tree = sample::kernel_tree(variant)?;
    let ko = sample::build_sample(variant, &tree)?;
    let out = sample::target_dir().join("kfunc-selftests");
    let objs = build_bpf_objects(&out.join("bpf"))?;
    let runner = build_runner(&out)?;
    let build_time = t0.elapsed();

    let mut files = vec![(runner, "/runner".to_string())];
    let mut tests = Vec::new();
    for o in &objs {
        let name = o
            .file_name()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("bad object name {}", o.display()))?;
        files.push((o.clone(), format!("/progs/{name}")));
        if name != STATS_OBJECT {
            tests.push(format!("/progs/{name}"));
        }
    }
    let mut modules = vec![ko.clone()];
    let mut command = format!(
        "/runner --variant {} --module kfunc_sample --stats /progs/{STATS_OBJECT}",
        variant.name()
    );
    if variant == Variant::Compat {
        // The module is loaded by the command, which expects the kernel to refuse it.
        files.push((ko.clone(), "/extra/kfunc_sample.ko".into()));
        modules.clear();
        command = COMPAT_COMMAND.to_string();
    }
    if !opts.only.is_empty() {
        command.push_str(&format!(" --only {}", opts.only.join(",")));
    }
    if opts.show_log > 0 {
        command.push_str(&format!(" --show-log {}", opts.show_log));
    }
    if variant != Variant::Compat {
        command.push(' ');
        command.push_str(&tests.join(" "));
    }
    let spec = VmSpec {
        kernel: tree.join("arch/x86/boot/bzImage"),
        modules,
        files,
        command,
        work_dir: out.join(format!("vm-{}", variant.name())),
        timeout: Duration::from_secs(300),
        memory_mib: 512,
        cpus: 1,
        echo: opts.echo,
        progress: None,
    };
    let outcome = vm::run_vm(&spec)?;
    let runner_output = outcome
        .console
        .lines()
        .filter(|l| {
            l.starts_with("TEST ")
                || l.starts_with("  | ")
                || l.starts_with("runner:")
                || l.starts_with("SUMMARY:")
                || l.starts_with("KFT-")
                || l.contains("kfunc_sample:")
        })
        .map(str::to_string)
        .collect();
    Ok(VariantRun {
        variant,
        tests: parse_tests(&outcome.console),
        summary: parse_summary(&outcome.console),
        vm_verdict: outcome.verdict(),
        build_time,
        vm_time: outcome.wall,
        runner_output,
        ko,
        tree,
    })
}

/// Print the args/legacy matrix and save it as `target/kfunc-selftests/matrix.txt`.
fn print_matrix(runs: &[VariantRun]) {
    use std::fmt::Write as _;
    let mut out = String::new();
    let (Some(a), Some(l)) = (
        runs.iter().find(|r| r.variant == Variant::Args),
        runs.iter().find(|r| r.variant == Variant::Legacy),
    ) else {
        return;
    };
    let _ = writeln!(out, "matrix (args = patched kernel + per-argument flags; legacy = unpatched kernel + function flags only):");
    let _ = writeln!(
        out,
        "  {:<28} {:<10} {:<14} {:<14} changed (annotations predict)",
        "test", "flag", "args", "legacy"
    );
    let cell = |t: Option<&TestResult>| match t {
        Some(t) if t.result == "PASS" => t.verdict.clone(),
        Some(t) => format!("{}!{}", t.verdict, t.result),
        None => "(missing)".into(),
    };
    let mut changed = 0;
    let msg = |t: Option<&TestResult>| {
        t.and_then(|t| t.detail.strip_prefix("msg: "))
            .map(str::to_string)
    };
    for t in a.tests.iter().filter(|t| t.verdict != "-") {
        let other = l.tests.iter().find(|x| x.name == t.name);
        let ch = other.is_some_and(|o| o.verdict != t.verdict);
        changed += usize::from(ch);
        let predicted = t.expect != t.other;
        let _ = writeln!(
            out,
            "  {:<28} {:<10} {:<14} {:<14} {:<7} ({})",
            t.name,
            t.flag,
            cell(Some(t)),
            cell(other),
            if ch { "yes" } else { "no" },
            if predicted { "yes" } else { "no" }
        );
        for (v, m) in [("args", msg(Some(t))), ("legacy", msg(other))] {
            if let Some(m) = m {
                let _ = writeln!(out, "  {:<28} {v}: {m}", "");
            }
        }
    }
    for t in l
        .tests
        .iter()
        .filter(|t| !a.tests.iter().any(|x| x.name == t.name))
    {
        let _ = writeln!(
            out,
            "  {:<28} {:<10} {:<14} {:<14} -",
            t.name,
            t.flag,
            "(missing)",
            cell(Some(t))
        );
    }
    let _ = writeln!(out, "  {changed} verdict(s) changed between the variants");
    println!("\n{out}");
    let path = sample::target_dir().join("kfunc-selftests/matrix.txt");
    if let Err(e) = fs::write(&path, &out) {
        println!("selftests: cannot write {}: {e}", path.display());
    }
}

/// `cargo xtask selftests`: the sum of the runners' tallies; a variant that could not be
/// built or booted, or whose VM run failed outside the runner's tests, counts as a failure.
pub fn run(flags: &crate::flags::Selftests) -> Result<crate::test::Tally, String> {
    let variants = sample::variants(flags.variant);
    let opts = RunOpts {
        echo: flags.echo,
        only: flags.only.clone(),
        show_log: flags.show_log,
    };
    let t0 = Instant::now();
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    let mut build_failures = 0u32;
    for v in variants {
        println!("selftests: variant {}", v.name());
        match run_variant(v, &opts) {
            Ok(r) => {
                for l in &r.runner_output {
                    // Not in the `N passed, N failed` form: only the total below is a summary
                    // line for `cargo xtask test`.
                    match l.strip_prefix("SUMMARY: ") {
                        Some(rest) => println!("  runner summary [{}] {rest}", v.name()),
                        None => println!("  {l}"),
                    }
                }
                println!(
                    "selftests: {}: build {:.1} s, VM {:.1} s",
                    v.name(),
                    r.build_time.as_secs_f64(),
                    r.vm_time.as_secs_f64()
                );
                if let Err(e) = &r.vm_verdict {
                    errors.push(format!("{}: {e}", v.name()));
                }
                if r.summary.is_none() {
                    errors.push(format!("{}: the runner printed no summary", v.name()));
                }
                runs.push(r);
            }
            Err(e) => {
                build_failures += 1;
                errors.push(format!("{}: {e}", v.name()));
            }
        }
    }
    print_matrix(&runs);
    let (mut p, mut f, mut s) = (0, 0, 0);
    for r in &runs {
        if let Some((a, b, c)) = r.summary {
            p += a;
            f += b;
            s += c;
        }
        // A VM run that failed outside the runner's tests (kernel WARN, rmmod, no summary)
        // still counts as a failure.
        let runner_failed = r.summary.is_some_and(|(_, b, _)| b > 0);
        if r.summary.is_none() || (r.vm_verdict.is_err() && !runner_failed) {
            f += 1;
        }
    }
    // A variant that could not even be built or booted is a failure too.
    f += build_failures;
    for e in &errors {
        println!("selftests: error: {e}");
    }
    println!("\nselftests: {:.1} s wall", t0.elapsed().as_secs_f64());
    println!("selftests: {p} passed, {f} failed, {s} skipped");
    Ok(crate::test::Tally {
        passed: u64::from(p),
        failed: u64::from(f),
        skipped: u64::from(s),
    })
}

/// Tests the demo shows, with the kfunc each exercises: one accepted and one rejected
/// because of a per-argument flag.
const DEMO_TESTS: &[(&str, &str)] = &[
    ("transfer_releases_src", "bpf_sample_transfer"),
    ("scale_variable", "bpf_sample_scale"),
];

/// The `#[kfunc(...)]` attribute and signature of `kfunc` in the sample's source.
fn kfunc_decl(src: &str, kfunc: &str) -> Option<String> {
    let lines: Vec<&str> = src.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains(&format!("fn {kfunc}(")))?;
    let attr = lines[..i]
        .iter()
        .rev()
        .find(|l| l.trim_start().starts_with("#[kfunc"))?;
    let sig = lines[i].trim().trim_end_matches('{').trim();
    Some(format!("{} {sig}", attr.trim()))
}

/// The `__description("...")` of program `name` in a BPF source.
fn description(src: &str, name: &str) -> Option<String> {
    let end = src.find(&format!("int {name}("))?;
    let start = src[..end].rfind("__description(\"")? + "__description(\"".len();
    let len = src[start..end].find("\")")?;
    Some(src[start..start + len].replace("\"\n\t      \"", ""))
}

/// `cargo xtask demo`: patched kernel, one program accepted and one rejected because of a
/// per-argument flag, with the verifier's message.
pub fn demo(_: &crate::flags::Demo) -> Result<(), String> {
    let opts = RunOpts {
        only: DEMO_TESTS.iter().map(|(t, _)| t.to_string()).collect(),
        show_log: 1,
        echo: false,
    };
    let root = crate::kernel::repo_root();
    let sample_src = fs::read_to_string(root.join("kernel-sample/kfunc_sample.rs"))
        .map_err(|e| format!("kernel-sample/kfunc_sample.rs: {e}"))?;
    println!(
        "demo: building (patched kernel, btfids-post, kfunc-macros, Rust sample, BPF programs)"
    );
    let r = run_variant(Variant::Args, &opts)?;
    println!(
        "demo: built in {:.1} s; patched kernel booted in a TCG VM, ran in {:.1} s",
        r.build_time.as_secs_f64(),
        r.vm_time.as_secs_f64()
    );
    for line in &r.runner_output {
        if let Some(i) = line.find("] kfunc_sample: ") {
            if !line.contains("taints") {
                println!("  module: {}", &line[i + 16..]);
            }
        }
    }
    // What the post-link step wrote into the module: the extended set's entries.
    let post = sample::target_dir().join("release/btfids-post");
    let dump = Command::new(&post)
        .arg("dump")
        .arg("-b")
        .arg(r.tree.join("vmlinux"))
        .arg(&r.ko)
        .output()
        .map_err(|e| format!("{} dump: {e}", post.display()))?;
    let dump = String::from_utf8_lossy(&dump.stdout).to_string();
    if let Some(header) = dump.lines().next() {
        println!("  post-link (btfids-post dump): {header}");
    }
    for (name, kfunc) in DEMO_TESTS {
        let t = r
            .tests
            .iter()
            .find(|t| t.name == *name)
            .ok_or_else(|| format!("demo: the runner did not report {name}"))?;
        let file = files_with_suffix(&root.join("selftests/progs"), ".bpf.c")?
            .into_iter()
            .find(|f| fs::read_to_string(f).is_ok_and(|s| s.contains(&format!("int {name}("))));
        let bpf_src = file
            .as_ref()
            .and_then(|f| fs::read_to_string(f).ok())
            .unwrap_or_default();
        println!(
            "\n{}  {name}  ({})",
            t.verdict.to_uppercase(),
            file.as_deref()
                .and_then(|f| f.strip_prefix(&root).ok())
                .map(|f| f.display().to_string())
                .unwrap_or_default()
        );
        if let Some(d) = description(&bpf_src, name) {
            println!("  program:  {d}");
        }
        if let Some(d) = kfunc_decl(&sample_src, kfunc) {
            println!("  kfunc:    {d}");
        }
        let mut in_entry = false;
        for l in dump.lines() {
            if l.trim_start().starts_with('[') {
                in_entry = l.contains(&format!("] {kfunc} "));
            }
            if in_entry {
                println!("  in .ko:   {}", l.trim());
            }
        }
        if t.verdict == "accepted" {
            println!("  run:      {}", t.detail);
        }
        // The refusal: the verifier's message the annotation expects, found in its log
        // (7.3's log goes on with a diagnosis block after it).
        if t.verdict == "rejected" {
            let msg = t.detail.strip_prefix("msg: ").unwrap_or(&t.detail);
            let mut in_test = false;
            let mut line = None;
            for l in &r.runner_output {
                if l.starts_with("TEST ") {
                    in_test = l.contains(&format!(" {name} "));
                } else if in_test && line.is_none() && l.starts_with("  | ") && l.contains(msg) {
                    line = Some(l[4..].to_string());
                }
            }
            println!("  verifier: {}", line.as_deref().unwrap_or(msg));
        }
        println!(
            "  without per-argument flags: {} (legacy annotation; `cargo xtask selftests` checks it)",
            t.other
        );
        if t.result != "PASS" {
            return Err(format!("demo: {name}: {} {}", t.result, t.detail));
        }
    }
    r.vm_verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_lines_and_summary_parse() {
        let log = "x\nTEST PASS foo verdict=accepted expect=accepted other=rejected flag=nullable retval=2\n\
                   TEST FAIL bar verdict=error expect=rejected other=rejected flag=-\n\
                   SUMMARY: 1 passed, 1 failed, 0 skipped\n";
        let t = parse_tests(log);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].other, "rejected");
        assert_eq!(t[0].detail, "retval=2");
        assert_eq!(t[1].result, "FAIL");
        assert_eq!(t[1].detail, "");
        assert_eq!(parse_summary(log), Some((1, 1, 0)));
        assert_eq!(parse_summary("nothing"), None);
    }
}
