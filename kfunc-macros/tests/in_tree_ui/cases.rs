//! The compile-fail cases of `tests/ui`, compiled one by one against a given build of the
//! macros the way trybuild compiles them for `tests/compile_fail.rs`: the same bin crate
//! names (`trybuild000`, ... in file order), edition and flags (`--cfg trybuild --verbose -A
//! dead_code --diagnostic-width=140`, no colour, `cargo check`'s metadata-only output), the
//! case's absolute path, the macros as `kfunc_macros`; each JSON diagnostic is normalized by
//! the port of trybuild's rules (`normalize.rs`) and they are joined as trybuild joins them.

use super::json;
use super::normalize::{self, Context};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// One case of `tests/ui`.
pub struct Case {
    /// File stem (`abi_not_c`).
    pub name: String,
    /// `tests/ui/abi_not_c.rs`.
    pub rel: String,
    /// Its bin crate's name under trybuild (`trybuild000`, ...).
    pub krate: String,
}

/// The cases, in trybuild's order (sorted paths).
pub fn cases(crate_dir: &Path) -> Vec<Case> {
    let mut names: Vec<String> = fs::read_dir(crate_dir.join("tests/ui"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| Case {
            rel: format!("tests/ui/{name}.rs"),
            krate: format!("trybuild{i:03}"),
            name,
        })
        .collect()
}

/// What compiling a case gave.
pub struct Output {
    /// An error was reported (a compile-fail case must fail).
    pub failed: bool,
    /// The normalized diagnostics, as trybuild would compare them with the `.stderr`.
    pub stderr: String,
    /// Anything on rustc's stderr that was not a JSON diagnostic (an ICE, ...).
    pub other: String,
}

/// Directories of the workspace, as trybuild's context has them.
pub struct Dirs {
    /// `kfunc-macros/`.
    pub crate_dir: PathBuf,
    /// The workspace root.
    pub workspace: PathBuf,
    /// The workspace's target directory.
    pub target: PathBuf,
}

fn with_slash(p: &Path) -> String {
    let mut s = p.to_string_lossy().into_owned();
    if !s.ends_with('/') {
        s.push('/');
    }
    s
}

/// Compile `case` with `macros` as `kfunc_macros`; the metadata goes to `scratch`.
pub fn compile(case: &Case, macros: &Path, dirs: &Dirs, scratch: &Path) -> Output {
    let path = dirs.crate_dir.join(&case.rel);
    let out = Command::new("nice")
        .args(["-n", "19"])
        .arg(super::kbuild::rustc())
        .args([
            "--crate-name",
            &case.krate,
            "--edition=2021",
            "--crate-type",
            "bin",
        ])
        .arg("--emit=metadata")
        .arg("-o")
        .arg(scratch.join(format!("{}.rmeta", case.krate)))
        .args(["--error-format=json", "--color=never"])
        .args(["--cfg", "trybuild", "--verbose", "-A", "dead_code"])
        .arg("--diagnostic-width=140")
        .arg("--extern")
        .arg(format!("kfunc_macros={}", macros.display()))
        .arg(&path)
        .current_dir(&dirs.crate_dir)
        .output()
        .unwrap_or_else(|e| panic!("rustc: {e}"));
    let source_dir = with_slash(&dirs.crate_dir);
    let workspace = with_slash(&dirs.workspace);
    let target_dir = with_slash(&dirs.target);
    let cx = Context {
        krate: &case.krate,
        source_dir: &source_dir,
        workspace: &workspace,
        input_file: &case.rel,
        target_dir: &target_dir,
    };
    let mut stderr = String::new();
    let mut other = String::new();
    let mut failed = false;
    let mut seen = std::collections::HashSet::new();
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        let Ok(v) = json::parse(line) else {
            other.push_str(line);
            other.push('\n');
            continue;
        };
        // Duplicate messages are dropped, and failure notes ("For more information ..."),
        // as trybuild does.
        if !seen.insert(line.to_string()) {
            continue;
        }
        let level = v.get("level").and_then(json::Value::as_str).unwrap_or("");
        if level == "failure-note" {
            continue;
        }
        if level == "error" {
            failed = true;
        }
        if let Some(rendered) = v.get("rendered").and_then(json::Value::as_str) {
            normalize::concat(&mut stderr, &normalize::diagnostic(rendered, &cx));
        }
    }
    if !out.status.success() && !failed {
        // rustc failed without an error diagnostic: say so through `other`.
        other.push_str(&format!("rustc exited with {}\n", out.status));
        failed = true;
    }
    Output {
        failed,
        stderr,
        other,
    }
}

/// Compile every case, `jobs` at a time; the outputs in the order of `cases`.
pub fn compile_all(
    cases: &[Case],
    macros: &Path,
    dirs: &Dirs,
    scratch: &Path,
    jobs: usize,
) -> Vec<Output> {
    fs::create_dir_all(scratch).unwrap();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Output>>> = Mutex::new((0..cases.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else {
                    break;
                };
                let o = compile(case, macros, dirs, scratch);
                results.lock().unwrap()[i] = Some(o);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

/// How a case's output compares with its reviewed `.stderr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Identical, byte for byte.
    Identical,
    /// Failed to compile, with other messages.
    Differs,
    /// Compiled: not a compile-fail case for this build.
    Compiled,
}

/// Compare `o` with `tests/ui/<case>.stderr`; the output is also written to
/// `out_dir/<case>.stderr` for inspection.
pub fn verdict(crate_dir: &Path, case: &Case, o: &Output, out_dir: &Path) -> Verdict {
    fs::create_dir_all(out_dir).unwrap();
    fs::write(out_dir.join(format!("{}.stderr", case.name)), &o.stderr).unwrap();
    if !o.failed {
        return Verdict::Compiled;
    }
    let expected_path = crate_dir.join(format!("tests/ui/{}.stderr", case.name));
    let expected = fs::read_to_string(&expected_path)
        .unwrap_or_default()
        .replace("\r\n", "\n");
    if expected == o.stderr && o.other.is_empty() {
        Verdict::Identical
    } else {
        Verdict::Differs
    }
}

/// A short line diff of `expected` and `actual`: the lines only one of them has.
pub fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    // Longest common subsequence, for the small texts of one case.
    let mut lcs = vec![vec![0usize; a.len() + 1]; e.len() + 1];
    for i in (0..e.len()).rev() {
        for j in (0..a.len()).rev() {
            lcs[i][j] = if e[i] == a[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < e.len() || j < a.len() {
        if i < e.len() && j < a.len() && e[i] == a[j] {
            i += 1;
            j += 1;
        } else if i < e.len() && (j == a.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("    - {}\n", e[i]));
            i += 1;
        } else {
            out.push_str(&format!("    + {}\n", a[j]));
            j += 1;
        }
    }
    out
}
