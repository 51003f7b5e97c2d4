//! The compile-fail suite (`tests/ui/*.rs` with their reviewed `.stderr`, which
//! `tests/compile_fail.rs` runs through trybuild against this crate) against the other build
//! of the macros: the in-tree copy that the first patch of `patches/rust/` adds to the
//! kernel's `rust/macros`, built on the host as Kbuild builds it, on 7.3's vendored `syn`,
//! `quote` and `proc-macro2` (`in_tree_ui/kbuild.rs`), under `target/kfunc-intree-ui/`.
//!
//! Every case is compiled against that build as trybuild compiles it (`in_tree_ui/cases.rs`)
//! and its normalized output must equal the reviewed `.stderr`, byte for byte, unless the
//! case is listed with its reason in `tests/compile_fail_in_tree.differences`; a listed case
//! must still fail to compile and must really differ (a stale entry fails too). A case that
//! compiles fails the test. The harness itself is checked by running the host build through
//! it (`harness_reproduces_host_stderr`): it must give every reviewed `.stderr` as trybuild
//! does, so a difference against the in-tree build is the build's, not the harness's.
//!
//! Without a 7.3 tree or the cached `linux-source-7.3` tarball the in-tree test prints
//! `SKIPPED` with the reason. Outputs: `target/kfunc-intree-ui/out/{in-tree,host}/*.stderr`.

#[path = "in_tree_ui/cases.rs"]
mod cases;
#[path = "in_tree_ui/json.rs"]
mod json;
#[path = "in_tree_ui/kbuild.rs"]
mod kbuild;
#[path = "in_tree_ui/normalize.rs"]
mod normalize;

use cases::{Case, Dirs, Output, Verdict};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The list of cases whose in-tree output may differ, with the reasons.
const DIFFERENCES: &str = "tests/compile_fail_in_tree.differences";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dirs() -> Dirs {
    let crate_dir = crate_dir();
    let workspace = crate_dir.parent().unwrap().to_path_buf();
    Dirs {
        target: target_dir(),
        crate_dir,
        workspace,
    }
}

/// The workspace's target directory: this test runs from `<target>/<profile>/deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

fn scratch() -> PathBuf {
    target_dir().join("kfunc-intree-ui")
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}

/// `case: reason` lines of [`DIFFERENCES`] (`#` comments and blank lines ignored).
fn listed_differences() -> BTreeMap<String, String> {
    let path = crate_dir().join(DIFFERENCES);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (case, reason) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{DIFFERENCES}:{}: not `case: reason`", n + 1));
        let (case, reason) = (case.trim(), reason.trim());
        assert!(
            !reason.is_empty(),
            "{DIFFERENCES}:{}: `{case}` has no reason",
            n + 1
        );
        assert!(
            out.insert(case.to_string(), reason.to_string()).is_none(),
            "{DIFFERENCES}:{}: `{case}` listed twice",
            n + 1
        );
    }
    out
}

/// Every case's verdict, with the unexpected ones described.
struct Report {
    verdicts: Vec<Verdict>,
    problems: Vec<String>,
}

/// Compare each output with its `.stderr`; a case of `allowed` must differ, any other must
/// be identical.
fn judge(
    cases: &[Case],
    outputs: &[Output],
    allowed: &BTreeMap<String, String>,
    out_dir: &Path,
) -> Report {
    let crate_dir = crate_dir();
    let mut verdicts = Vec::new();
    let mut problems = Vec::new();
    for (case, o) in cases.iter().zip(outputs) {
        let v = cases::verdict(&crate_dir, case, o, out_dir);
        verdicts.push(v);
        let listed = allowed.contains_key(&case.name);
        let problem = match (v, listed) {
            (Verdict::Compiled, _) => Some("compiles: no error at all".to_string()),
            (Verdict::Differs, false) => {
                let expected =
                    fs::read_to_string(crate_dir.join(format!("tests/ui/{}.stderr", case.name)))
                        .unwrap_or_default();
                Some(format!(
                    "differs from tests/ui/{0}.stderr (- reviewed, + this build; whole output in \
                     {1}/{0}.stderr):\n{2}{3}",
                    case.name,
                    out_dir.display(),
                    cases::diff(&expected, &o.stderr),
                    o.other
                ))
            }
            (Verdict::Identical, true) => Some(format!(
                "identical to its .stderr, but listed in {DIFFERENCES}: remove the entry"
            )),
            _ => None,
        };
        if let Some(p) = problem {
            problems.push(format!("{}: {p}", case.rel));
        }
    }
    for name in allowed.keys() {
        if !cases.iter().any(|c| &c.name == name) {
            problems.push(format!("{DIFFERENCES} lists `{name}`, which is no case"));
        }
    }
    Report { verdicts, problems }
}

fn count(r: &Report, v: Verdict) -> usize {
    r.verdicts.iter().filter(|x| **x == v).count()
}

#[test]
fn ui_against_in_tree_build() {
    let start = Instant::now();
    let scratch = scratch();
    let repo = crate_dir().parent().unwrap().to_path_buf();
    let tree = match kbuild::kernel_tree(&scratch) {
        Ok(t) => t,
        Err(why) => {
            println!("SKIPPED ui_against_in_tree_build: {why}");
            return;
        }
    };
    let built = kbuild::build(&repo, &tree, &scratch).unwrap_or_else(|e| panic!("{e}"));
    let build_time = start.elapsed();
    if !built.warnings.is_empty() {
        println!(
            "warnings of the in-tree macro crate's build:\n{}",
            built.warnings
        );
    }
    let cases = cases::cases(&crate_dir());
    let outputs = cases::compile_all(
        &cases,
        &built.macros,
        &dirs(),
        &scratch.join("rmeta/in-tree"),
        jobs(),
    );
    let allowed = listed_differences();
    let report = judge(&cases, &outputs, &allowed, &scratch.join("out/in-tree"));
    println!(
        "compile-fail cases against the in-tree build (vendored crates of {}; {}): {} compared, \
         {} identical, {} differing as listed in {DIFFERENCES}, {} compiled; {:.1} s ({:.1} s \
         building)",
        tree.display(),
        if built.rebuilt { "built" } else { "reused" },
        cases.len(),
        count(&report, Verdict::Identical),
        cases
            .iter()
            .zip(&report.verdicts)
            .filter(|(c, v)| **v == Verdict::Differs && allowed.contains_key(&c.name))
            .count(),
        count(&report, Verdict::Compiled),
        start.elapsed().as_secs_f64(),
        build_time.as_secs_f64(),
    );
    assert!(
        report.problems.is_empty(),
        "{} case(s) against the in-tree build:\n\n{}",
        report.problems.len(),
        report.problems.join("\n")
    );
}

/// The verdicts without a compiler: on the first case, its reviewed text passes, another
/// text fails unless listed, a listed identical case fails (stale entry), a case that
/// compiles fails even if listed, and an entry naming no case fails.
#[test]
fn judge_flags_every_unexpected_outcome() {
    let cases = cases::cases(&crate_dir());
    let case = &cases[..1];
    let reviewed =
        fs::read_to_string(crate_dir().join(format!("tests/ui/{}.stderr", case[0].name))).unwrap();
    let out = |failed: bool, stderr: &str| Output {
        failed,
        stderr: stderr.to_string(),
        other: String::new(),
    };
    let listed = |names: &[&str]| -> BTreeMap<String, String> {
        names
            .iter()
            .map(|n| (n.to_string(), "a reason".to_string()))
            .collect()
    };
    let dir = scratch().join("out/judge");
    let problems =
        |o: Output, allowed: BTreeMap<String, String>| judge(case, &[o], &allowed, &dir).problems;
    let other = format!("{reviewed}\nerror: another\n");
    assert!(problems(out(true, &reviewed), listed(&[])).is_empty());
    assert!(problems(out(true, &other), listed(&[&case[0].name])).is_empty());
    let p = problems(out(true, &other), listed(&[]));
    assert!(p.len() == 1 && p[0].contains("+ error: another"), "{p:?}");
    let p = problems(out(true, &reviewed), listed(&[&case[0].name]));
    assert!(p.len() == 1 && p[0].contains("remove the entry"), "{p:?}");
    let p = problems(out(false, ""), listed(&[&case[0].name]));
    assert!(p.len() == 1 && p[0].contains("compiles"), "{p:?}");
    let p = problems(out(true, &reviewed), listed(&["no_such_case"]));
    assert!(p.len() == 1 && p[0].contains("which is no case"), "{p:?}");
}

/// The host build of the macros (this crate, on the published syn), built by Cargo in its
/// own target directory (`target/kfunc-intree-ui/host-cargo`); its `libkfunc_macros`.
fn host_build() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new("nice")
        .args(["-n", "19"])
        .arg(cargo)
        .args([
            "build",
            "--offline",
            "--quiet",
            "--lib",
            "-p",
            "kfunc-macros",
        ])
        .arg("--message-format=json-render-diagnostics")
        .env("CARGO_TARGET_DIR", scratch().join("host-cargo"))
        .env_remove("RUSTFLAGS")
        .current_dir(crate_dir())
        .output()
        .unwrap_or_else(|e| panic!("cargo: {e}"));
    assert!(
        out.status.success(),
        "cargo build -p kfunc-macros failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .filter_map(|l| json::parse(l).ok())
        .filter(|v| {
            v.get("reason").and_then(json::Value::as_str) == Some("compiler-artifact")
                && v.get("target")
                    .and_then(|t| t.get("name"))
                    .and_then(json::Value::as_str)
                    == Some("kfunc_macros")
        })
        .find_map(|v| match v.get("filenames") {
            Some(json::Value::Array(f)) => {
                f.first().and_then(json::Value::as_str).map(PathBuf::from)
            }
            _ => None,
        })
        .expect("cargo reported no kfunc_macros artifact")
}

/// The control: the host build through the same harness gives every reviewed `.stderr`
/// (as trybuild does in `compile_fail.rs`), so the port of trybuild's normalization and
/// the way cases are compiled reproduce trybuild's comparison on this suite.
#[test]
fn harness_reproduces_host_stderr() {
    let start = Instant::now();
    let so = host_build();
    let cases = cases::cases(&crate_dir());
    let outputs = cases::compile_all(&cases, &so, &dirs(), &scratch().join("rmeta/host"), jobs());
    let report = judge(
        &cases,
        &outputs,
        &BTreeMap::new(),
        &scratch().join("out/host"),
    );
    println!(
        "compile-fail cases against the host build through the in-tree harness: {} compared, \
         {} identical; {:.1} s",
        cases.len(),
        count(&report, Verdict::Identical),
        start.elapsed().as_secs_f64()
    );
    assert!(
        report.problems.is_empty(),
        "the harness does not reproduce trybuild on the host build ({} case(s)):\n\n{}",
        report.problems.len(),
        report.problems.join("\n")
    );
}
