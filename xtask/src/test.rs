//! `cargo xtask test`: every test of the project, ending in one `N passed, N failed` line.
//!
//! Steps, each announced before it runs:
//! 1. the kernel builds of `cargo xtask kernel --variant both`: installs the toolchain and
//!    builds the patched and unpatched kernels (cached on their inputs), once, so that the
//!    tests below that read real kernel files (headers, captured resolve_btfids inputs) run
//!    instead of skipping, and the later steps use the same trees;
//! 2. `cargo fmt --check`, `cargo clippy --workspace --all-targets -- -D warnings` and
//!    `cargo xtask series --check` (the cover letters and RFC.md's shortlog and diffstat are
//!    what `git am` and `git format-patch` make of the series; skipped without a cached
//!    kernel source) (each counts as one test);
//! 3. `cargo test --workspace` (its `test result:` lines are summed);
//! 4. `cargo xtask selftests --variant all`: the Rust sample module, the BPF selftests in a
//!    QEMU VM on the patched kernel, the control run on the unpatched one, and the check that
//!    an unpatched kernel refuses an extended set (its `N passed, N failed` line is added);
//! 5. `cargo xtask kernel --variant both --ctest`: the C kfunc set of `kernel/ctest` (C macros
//!    for extended sets, invalid sets refused at registration, verifier messages) in QEMU;
//! 6. `kernel/ctest/parity/run.sh`: C parity: the same programs against C modules with name
//!    suffixes and with per-argument flags must get identical verdicts and logs, and a full
//!    C conversion must behave like the Rust sample;
//! 7. `cargo xtask regress`: the kernel's own `test_verifier` (and `bpf_testmod`) on the
//!    unpatched and the patched kernel: every run the unpatched kernel passes must pass on
//!    the patched one;
//! 8. the README's commands from this checkout, as written: every command's `--help`,
//!    `gen-header`, and the `vm` example booting the patched kernel;
//! 9. `cargo xtask progs --series-tests`: the series' own selftests (patch 7,
//!    `progs/verifier_kfunc_args.c`) in the kernel's `test_progs`, when the kernels of the
//!    BPF selftests' config and the unpatched `test_progs` build are cached (counted as one
//!    skipped test otherwise: they are not built here).
//!
//! Steps 4, 5, 7, 8 and 9 are this crate's own commands, called in this process: their tallies
//! are values. `cargo test` and the shell scripts are read from their summary lines.
//!
//! `--no-vm` skips steps 1 and 4 to 9 (reported as skipped, never as passed).
//!
//! Not run here, and counted as one skipped test: the four runs of `cargo xtask progs`, the
//! kernel's own `test_progs` on two kernels of the BPF selftests' configuration (too heavy
//! for every run).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Pass/fail/skip counts.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests skipped or ignored, with a reason printed where they ran.
    pub skipped: u64,
}

impl Tally {
    /// Add `o`'s counts to these.
    pub fn add(&mut self, o: Tally) {
        self.passed += o.passed;
        self.failed += o.failed;
        self.skipped += o.skipped;
    }
}

/// Parse `test result: ok. 5 passed; 0 failed; 1 ignored; ...` (cargo test / libtest).
pub fn parse_libtest(line: &str) -> Option<Tally> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let mut t = Tally::default();
    for part in rest.split(['.', ';']) {
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => t.passed += n,
            "failed" => t.failed += n,
            "ignored" => t.skipped += n,
            _ => {}
        }
    }
    Some(t)
}

/// Parse a plain `[word:] N passed, N failed[, N skipped]` line.
pub fn parse_plain(line: &str) -> Option<Tally> {
    let line = line.trim();
    let body = match line.split_once(": ") {
        Some((w, b)) if !w.contains(' ') => b,
        _ => line,
    };
    let mut t = Tally::default();
    let mut seen = 0;
    for part in body.split(", ") {
        let (n, what) = part.trim().split_once(' ')?;
        let n = n.parse::<u64>().ok()?;
        match what {
            "passed" => t.passed = n,
            "failed" => t.failed = n,
            "skipped" => t.skipped = n,
            _ => return None,
        }
        seen += 1;
    }
    (seen >= 2).then_some(t)
}

/// Whether a test's output line says the test could not run (and so did not pass).
///
/// The workspace's tests that need a kernel tree or a tool print `SKIPPED ...` (or
/// `SKIP: ...`) and return; libtest counts them as passed, this tally does not.
pub fn is_skip_line(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with("SKIPPED") || l.starts_with("SKIP:")
}

/// Run a command, echoing its output, and sum every summary line `parse` recognises.
/// With `count_skips`, stderr is read too and every [`is_skip_line`] moves one test from
/// passed to skipped.
fn run_counting(
    mut cmd: Command,
    parse: fn(&str) -> Option<Tally>,
    count_skips: bool,
) -> Result<(bool, Tally), String> {
    let shown = format!("{cmd:?}");
    if count_skips {
        cmd.stderr(Stdio::piped());
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let err_reader = child.stderr.take().map(|err| {
        std::thread::spawn(move || {
            let mut skips = 0u64;
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("{line}");
                if is_skip_line(&line) {
                    skips += 1;
                }
            }
            skips
        })
    });
    let mut total = Tally::default();
    let mut found = false;
    let mut skips = 0u64;
    let out = child.stdout.take().expect("piped stdout");
    for line in BufReader::new(out).lines() {
        let line = line.map_err(|e| format!("reading output of {shown}: {e}"))?;
        println!("{line}");
        if let Some(t) = parse(&line) {
            total.add(t);
            found = true;
        }
        if count_skips && is_skip_line(&line) {
            skips += 1;
        }
    }
    if let Some(h) = err_reader {
        skips += h.join().unwrap_or(0);
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {shown}: {e}"))?;
    if !found && status.success() {
        return Err(format!("{shown} succeeded but printed no test summary"));
    }
    let moved = skips.min(total.passed);
    if moved > 0 {
        println!("({moved} test(s) above printed SKIPPED: counted as skipped, not passed)");
    }
    total.passed -= moved;
    total.skipped += moved;
    Ok((status.success(), total))
}

/// Run a test runner (see [`run_counting`]) and add its counts to `total`; a runner that
/// fails without reporting a failed test (a build error, a crash) counts as one failure.
fn count_into(
    total: &mut Tally,
    cmd: Command,
    parse: fn(&str) -> Option<Tally>,
    count_skips: bool,
) -> Result<(), String> {
    let (ok, tally) = run_counting(cmd, parse, count_skips)?;
    total.add(tally);
    if !ok && tally.failed == 0 {
        total.failed += 1;
    }
    Ok(())
}

/// Run an external test script (not an xtask command: those return their tally) and take
/// its `N passed, N failed[, N skipped]` line(s) as its tally; a script that fails without
/// reporting a failed test (a build error, a crash) counts as one failure.
pub fn run_script(cmd: Command) -> Result<Tally, String> {
    let mut t = Tally::default();
    count_into(&mut t, cmd, parse_plain, false)?;
    Ok(t)
}

/// Add the tally of one of this crate's commands, run in this process, to `total`; a
/// command that could not run at all counts as one failure.
fn add_result(total: &mut Tally, what: &str, r: Result<Tally, String>) {
    match r {
        Ok(t) => total.add(t),
        Err(e) => {
            println!("{what}: error: {e}");
            total.failed += 1;
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Number of steps of a full run.
const STEPS: u32 = 9;

fn step(n: u32, what: &str) {
    println!("\n==> [{n}/{STEPS}] {what}");
}

/// Entry point of `cargo xtask test [--no-vm]`: the sum of every runner's tally.
pub fn run(f: &crate::flags::Test) -> Result<Tally, String> {
    use crate::flags::{KernelVariants, SampleVariants};
    let no_vm = f.no_vm;
    let mut total = Tally::default();

    // The two kernel trees (built or found in the cache once, here), for the later steps.
    let kernels = if no_vm {
        println!("\n==> [1/{STEPS}] kernel builds skipped (--no-vm)");
        None
    } else {
        step(1, "toolchain and kernel builds (patched and unpatched)");
        let built =
            crate::kernel::ensure_kernel(crate::kernel::Variant::Unpatched).and_then(|unpatched| {
                crate::kernel::ensure_kernel(crate::kernel::Variant::Patched)
                    .map(|patched| (patched, unpatched))
            });
        match built {
            Ok(trees) => Some(trees),
            Err(e) => {
                eprintln!("kernel build failed: {e}");
                let t = Tally {
                    failed: 1,
                    ..Tally::default()
                };
                println!("\n0 passed, 1 failed, 0 skipped");
                return Ok(t);
            }
        }
    };

    step(
        2,
        "formatting, lints and the series (cargo fmt --check, cargo clippy -D warnings, cargo xtask series --check)",
    );
    for (name, cmd_args) in [
        ("rustfmt", &["fmt", "--all", "--check"][..]),
        (
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ][..],
        ),
    ] {
        let ok = cargo()
            .args(cmd_args)
            .status()
            .map_err(|e| format!("cannot run cargo {name}: {e}"))?
            .success();
        println!("{name}: {}", if ok { "ok" } else { "FAILED" });
        if ok {
            total.passed += 1;
        } else {
            total.failed += 1;
        }
    }
    let r = crate::series::run(&crate::flags::Series { check: true });
    add_result(&mut total, "series", r);

    step(
        3,
        "unit, snapshot, compile-fail and host tests (cargo test --workspace)",
    );
    let mut t = cargo();
    // --nocapture: a test that cannot run says so (SKIPPED ...) and is counted as skipped.
    t.args([
        "test",
        "--workspace",
        "--color",
        "never",
        "--",
        "--nocapture",
    ]);
    if let Some((patched, unpatched)) = &kernels {
        // Point the tests that build against or read a kernel tree at the cached builds.
        let tool = "tools/bpf/resolve_btfids/resolve_btfids";
        t.env("KFUNC_KERNEL_TREE", &patched.tree)
            .env("RESOLVE_BTFIDS", unpatched.tree.join(tool))
            .env("RESOLVE_BTFIDS_PATCHED", patched.tree.join(tool));
    }
    count_into(&mut total, t, parse_libtest, true)?;

    if let Some((patched, unpatched)) = &kernels {
        step(
            4,
            "sample module and BPF selftests in QEMU (cargo xtask selftests)",
        );
        let r = crate::selftests::run(&crate::flags::Selftests {
            variant: SampleVariants::All,
            echo: false,
            only: Vec::new(),
            show_log: 0,
        });
        add_result(&mut total, "selftests", r);

        step(
            5,
            "C kfunc sets with BTF_ID_FLAGS_ARGS in QEMU (cargo xtask kernel --ctest)",
        );
        let r = crate::kernel::run(&crate::flags::Kernel {
            variant: KernelVariants::Both,
            selftests_config: false,
            ctest: true,
        })
        .and_then(|t| t.ok_or_else(|| "--ctest gave no tally".to_string()));
        add_result(&mut total, "ctest", r);

        step(
            6,
            "C parity: suffixes vs per-argument flags vs the Rust sample (kernel/ctest/parity)",
        );
        let root = crate::kernel::repo_root();
        let mut c = Command::new("sh");
        c.arg(root.join("kernel/ctest/parity/run.sh"))
            .arg(&patched.tree)
            .arg(&unpatched.tree)
            .env("OUT", crate::sample::target_dir().join("kfunc-parity"))
            .env(
                "RUST_SAMPLE_KO",
                crate::sample::target_dir().join("kfunc-sample/args/kfunc_sample.ko"),
            );
        add_result(&mut total, "parity", run_script(c));

        step(
            7,
            "regression: the kernel's test_verifier on both kernels (cargo xtask regress)",
        );
        let r = crate::regress::run(&crate::flags::Regress {});
        add_result(&mut total, "regress", r);

        step(
            8,
            "the README's commands, run from this checkout as written (cargo xtask ... --help, gen-header, vm)",
        );
        add_result(&mut total, "readme", readme_commands(&patched.bzimage));

        step(
            9,
            "the series' selftests in test_progs, if the selftests kernels are cached (cargo xtask progs --series-tests)",
        );
        add_result(
            &mut total,
            "progs --series-tests",
            crate::progs::series_tests_if_cached(),
        );
    } else {
        println!("\n==> [4-{STEPS}/{STEPS}] VM tests skipped (--no-vm)");
        total.skipped += 6;
    }

    // Too heavy for every run: counted as one skipped test, with the reason.
    println!(
        "\nSKIPPED progs: the kernel's test_progs (kfunc and verifier subsets, four runs) is \
         not part of this command: it needs two kernels of the BPF selftests' config (~72 min \
         cold on 2 cores) and ~35 min of TCG; run `cargo xtask progs`"
    );
    total.skipped += 1;

    let last = format!(
        "{} passed, {} failed, {} skipped",
        total.passed, total.failed, total.skipped
    );
    println!();
    if no_vm {
        println!("{last}");
    } else {
        // A full run's last line is the figure RFC.md quotes (cargo xtask figures).
        crate::figures::say("test", last);
    }
    // The summary above stays the last line: `main` exits 1 on a failure without another
    // message.
    Ok(total)
}

/// One check of [`readme_commands`]: run `cargo xtask ARGS` from the checkout's root (as a
/// reader would) and apply `verify` to its stdout.
fn readme_check(
    t: &mut Tally,
    args: &[String],
    verify: impl Fn(&str) -> Result<(), String>,
) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let shown = format!("cargo xtask {}", args.join(" "));
    let o = Command::new(exe)
        .args(args)
        .current_dir(crate::kernel::repo_root())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{shown}: {e}"))?;
    let out = String::from_utf8_lossy(&o.stdout);
    let verdict = if o.status.success() {
        verify(&out)
    } else {
        Err(format!(
            "exit {}: {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    };
    match verdict {
        Ok(()) => {
            println!("readme: ok: {shown}");
            t.passed += 1;
        }
        Err(e) => {
            println!("readme: FAILED: {shown}: {e}");
            t.failed += 1;
        }
    }
    Ok(())
}

/// The README's commands as a reader runs them from a fresh clone: `--help` of every command,
/// `gen-header`, and the `vm` example exactly as the README writes it (relative default work
/// directory), its placeholders filled with the patched kernel, the Rust sample module and
/// a file, booting to the command's exit status. (The heavy commands are run by the steps
/// above; that every documented invocation parses is a unit test of `flags`.)
fn readme_commands(bzimage: &std::path::Path) -> Result<Tally, String> {
    use clap::CommandFactory;
    let mut t = Tally::default();
    for sub in crate::flags::Xtask::command().get_subcommands() {
        let name = sub.get_name().to_string();
        if name == "help" {
            continue;
        }
        readme_check(&mut t, &[name.clone(), "--help".into()], |out| {
            if out.contains("Usage: cargo xtask") {
                Ok(())
            } else {
                Err("no usage text".into())
            }
        })?;
    }
    readme_check(&mut t, &["gen-header".into()], |out| {
        if out == kfunc_layout::c_header() {
            Ok(())
        } else {
            Err("differs from kfunc_layout::c_header()".into())
        }
    })?;
    let root = crate::kernel::repo_root();
    let readme =
        std::fs::read_to_string(root.join("README.md")).map_err(|e| format!("README.md: {e}"))?;
    let vm = crate::flags::documented_invocations(&readme)
        .into_iter()
        .find(|a| a.first().map(String::as_str) == Some("vm"))
        .ok_or("README.md shows no `cargo xtask vm` example")?;
    let ko = crate::sample::target_dir().join("kfunc-sample/args/kfunc_sample.ko");
    let args: Vec<String> = vm
        .iter()
        .map(|w| match w.as_str() {
            "BZIMAGE" => bzimage.display().to_string(),
            "X.ko" => ko.display().to_string(),
            "SRC:DST" => "README.md:/README.md".to_string(),
            "CMD" => "grep -q per-argument /README.md".to_string(),
            _ => w.clone(),
        })
        .collect();
    readme_check(&mut t, &args, |out| {
        if !out.contains("rc Some(0)") {
            return Err("the command in the VM did not exit 0".into());
        }
        Ok(())
    })?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_lines() {
        let t = parse_libtest(
            "test result: ok. 12 passed; 1 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.01s",
        )
        .unwrap();
        assert_eq!(
            t,
            Tally {
                passed: 12,
                failed: 1,
                skipped: 3
            }
        );
        assert_eq!(parse_libtest("running 3 tests"), None);
    }

    #[test]
    fn skip_lines() {
        assert!(is_skip_line("SKIPPED func_flags_match_btf_h: no tree"));
        assert!(is_skip_line("  SKIP: no built test kernel"));
        assert!(!is_skip_line("skipped: x.ko: no vmlinux beside it"));
        assert!(!is_skip_line("test skip_lines ... ok"));
    }

    #[test]
    fn plain_lines() {
        assert_eq!(
            parse_plain("selftests: 7 passed, 2 failed, 1 skipped"),
            Some(Tally {
                passed: 7,
                failed: 2,
                skipped: 1
            })
        );
        assert_eq!(
            parse_plain("3 passed, 0 failed"),
            Some(Tally {
                passed: 3,
                failed: 0,
                skipped: 0
            })
        );
        assert_eq!(parse_plain("passed the test, badly"), None);
        assert_eq!(parse_plain("note: 3 passed"), None);
    }
}
