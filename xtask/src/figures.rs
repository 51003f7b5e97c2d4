//! `cargo xtask figures`: every figure RFC.md quotes, with the command that produces it and
//! the recorded output it comes from; the ones that are cheap to recompute are recomputed
//! and compared with RFC.md, the expensive ones are read from their last run's record.
//!
//! Cheap (recomputed on every run): the audit counts (`btfids-post audit` tables in
//! `docs/audit-7.3*.txt`; the tinyconfig table's summary is also compared with a fresh
//! `btfids-post audit` of the cached patched kernel, when there is one), the representation
//! sizes (`cargo xtask repr-sizes` over the same
//! tables), the shortlog and diffstat (`cargo xtask series --check`), the number of
//! compile-fail cases (`kfunc-macros/tests/ui/*.rs`).
//!
//! Recorded (too expensive to rerun here: kernel builds and QEMU runs of minutes to hours):
//! the commands below save their summary lines with [`say`] while they run, and `main`
//! writes them to `~/.cache/kfunc-args/figures/<command>.txt` when the command finishes
//! without an error ([`save_records`]): `test` (its last line, full runs only), `regress`,
//! `progs`, `veristat`, `dropin`, `dropin-selftests` (`cargo xtask dropin --config
//! selftests`), `bench` (its goal lines: the ratio ranges), `repr-sizes-measure` (`cargo
//! xtask repr-sizes --measure`: the decl tags' measured bytes against the extended set8's).
//! The
//! selftests' verdict matrix is the one `cargo xtask selftests` writes
//! (`target/kfunc-selftests/matrix.txt`). A figure whose record is missing is reported as
//! "not rerun", with the command that makes it.
//!
//! A figure is compared by building the phrase RFC.md should contain from the computed or
//! recorded numbers and looking for it in RFC.md (whitespace folded, so line breaks do not
//! matter): `DIFFERS` names the phrase, where the numbers came from, and what RFC.md says
//! instead is for the reader to find. Exit status 1 if any figure differs.

use crate::kernel::{cache_dir, repo_root};
use crate::test::Tally;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Summary lines of the commands run in this process, by command, for [`save_records`].
static RECORDS: Mutex<BTreeMap<&'static str, Vec<String>>> = Mutex::new(BTreeMap::new());

/// Print `line` and keep it as a summary line of `command`'s run (see [`save_records`]).
pub fn say(command: &'static str, line: String) {
    println!("{line}");
    if let Ok(mut r) = RECORDS.lock() {
        r.entry(command).or_default().push(line);
    }
}

/// Where `command`'s last summary lines are kept.
pub fn record_path(command: &str) -> Result<PathBuf, String> {
    Ok(cache_dir("figures")?.join(format!("{command}.txt")))
}

/// Write every command's [`say`] lines to its record, headed by the date and commit.
/// Called by `main` when the command it ran finished without an error.
pub fn save_records() {
    let records = match RECORDS.lock() {
        Ok(r) => r.clone(),
        Err(_) => return,
    };
    if records.is_empty() {
        return;
    }
    let date =
        crate::deps::command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
    let root = repo_root();
    let root = root.to_string_lossy();
    let commit = crate::deps::command_output(
        "git",
        &["-C", &root, "describe", "--always", "--dirty", "--abbrev=7"],
    )
    .unwrap_or_default();
    for (cmd, lines) in records {
        let Ok(path) = record_path(cmd) else { return };
        let _ = fs::create_dir_all(path.parent().unwrap());
        let mut text = format!(
            "# cargo xtask {cmd}: finished {} at {} (git describe --dirty)\n",
            date.trim(),
            commit.trim()
        );
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        match fs::write(&path, text) {
            Ok(()) => eprintln!("figures: recorded {}", path.display()),
            Err(e) => eprintln!("figures: cannot write {}: {e}", path.display()),
        }
    }
}

/// What became of one figure.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// RFC.md says it.
    Ok,
    /// RFC.md does not contain the phrase.
    Differs,
    /// No record of the command that produces it.
    NotRerun(String),
}

/// One figure: the phrase RFC.md should contain, the command that produces it, where the
/// numbers came from.
#[derive(Debug)]
pub struct Figure {
    /// The phrase, built from the numbers.
    pub phrase: String,
    /// The command that produces it.
    pub command: &'static str,
    /// The file the numbers were read from.
    pub source: String,
}

/// RFC.md's text with every run of whitespace folded into one space.
pub fn fold(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first number in `s` after `after`.
fn num_after(s: &str, after: &str) -> Option<u64> {
    let rest = &s[s.find(after)? + after.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The number just before `before` in `s` (`"21 kfunc set(s)"` with `" kfunc set"`).
fn num_before(s: &str, before: &str) -> Option<u64> {
    let head = &s[..s.find(before)?];
    let digits: String = head
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// The summary counts of a `btfids-post audit` table (its `summary:` lines).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AuditSummary {
    /// Kfunc sets.
    pub sets: u64,
    /// Distinct kfuncs.
    pub kfuncs: u64,
    /// Kfuncs with parameter-name suffixes.
    pub suffixed: u64,
    /// Kfuncs that need per-argument flags after conversion.
    pub need_flags: u64,
    /// Kfuncs with two parameters of one name once the suffixes are dropped.
    pub renamed: u64,
    /// KF_RELEASE kfuncs with one candidate argument, ambiguous, without one.
    pub release: (u64, u64, u64),
}

/// Read the `summary:` block of an audit table.
pub fn audit_summary(table: &str) -> Option<AuditSummary> {
    let at = table.find("\nsummary: ")?;
    let s = &table[at..];
    Some(AuditSummary {
        sets: num_before(s, " kfunc set(s)")?,
        kfuncs: num_before(s, " distinct kfuncs")?,
        suffixed: num_before(s, " kfuncs use parameter-name suffixes")?,
        need_flags: num_before(s, " need per-argument flags")?,
        renamed: num_before(s, " kfuncs need a parameter renamed")?,
        release: (
            num_after(s, "KF_RELEASE:")?,
            num_before(s, " ambiguous")?,
            num_before(s, " without one")?,
        ),
    })
}

/// The kfuncs an audit table lists under sets of `object`, and those of them with more than
/// five parameters (an `arg5` line).
pub fn object_kfuncs(table: &str, object: &str) -> (usize, usize) {
    let mut kfuncs = BTreeSet::new();
    let mut six = BTreeSet::new();
    let mut in_object = false;
    let mut cur: Option<&str> = None;
    for l in table.lines() {
        if let Some(rest) = l.strip_prefix("== ") {
            in_object = rest.split_whitespace().next() == Some(object);
            cur = None;
        } else if !in_object {
            continue;
        } else if !l.starts_with(' ') && l.contains("] flags") {
            cur = l.split(" [").next();
            kfuncs.extend(cur);
        } else if l.trim_start().starts_with("arg5 ") {
            six.extend(cur);
        }
    }
    (kfuncs.len(), six.len())
}

/// Rows and changed verdicts of the selftests' matrix (`target/kfunc-selftests/matrix.txt`).
pub fn matrix_counts(matrix: &str) -> Option<(usize, u64)> {
    // A program's row ends in what its annotations predict: `(yes)` or `(no)`.
    let rows = matrix
        .lines()
        .filter(|l| {
            let l = l.trim_end();
            l.starts_with("  ") && (l.ends_with("(yes)") || l.ends_with("(no)"))
        })
        .count();
    let changed = matrix
        .lines()
        .find_map(|l| num_before(l, " verdict(s) changed"))?;
    Some((rows, changed))
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The figures computed from the repository alone.
fn cheap_figures() -> Result<Vec<Figure>, String> {
    let root = repo_root();
    let docs = root.join("docs");
    let mut v = Vec::new();

    let tiny = read(&docs.join("audit-7.3.txt"))?;
    let s = audit_summary(&tiny).ok_or("docs/audit-7.3.txt: no summary block")?;
    let src = "docs/audit-7.3.txt (summary)".to_string();
    let audit = "btfids-post audit <patched tree>/vmlinux";
    v.push(Figure {
        phrase: format!(
            "{} kfunc sets, {} distinct kfuncs; {} use suffixes; {} would carry at least one \
             per-argument flag after conversion",
            s.sets, s.kfuncs, s.suffixed, s.need_flags
        ),
        command: audit,
        source: src.clone(),
    });
    v.push(Figure {
        phrase: if s.release.1 == 0 && s.release.2 == 0 {
            format!(
                "all {} KF_RELEASE kfuncs have exactly one candidate argument",
                s.release.0
            )
        } else {
            format!(
                "{} KF_RELEASE kfuncs have exactly one candidate argument",
                s.release.0
            )
        },
        command: audit,
        source: src.clone(),
    });
    v.push(Figure {
        phrase: format!(
            "in the 7.3 test kernel {} kfuncs would get two parameters of the same name",
            s.renamed
        ),
        command: audit,
        source: src,
    });

    let testmod = read(&docs.join("audit-7.3-bpf_testmod.txt"))?;
    let (n, six) = object_kfuncs(&testmod, "bpf_testmod.ko");
    let src = "docs/audit-7.3-bpf_testmod.txt (bpf_testmod.ko's sets)".to_string();
    let audit_mod = "btfids-post audit <selftests tree>/vmlinux bpf_testmod.ko";
    v.push(Figure {
        phrase: format!(
            "(docs/audit-7.3-bpf_testmod.txt): {n} kfuncs, {six} with more than five parameters"
        ),
        command: audit_mod,
        source: src.clone(),
    });
    v.push(Figure {
        phrase: format!("{six} kfuncs of 7.3's bpf_testmod have more than five parameters"),
        command: audit_mod,
        source: src,
    });

    let sizes = |name: &str| -> Result<(crate::repr::Facts, usize, usize), String> {
        let f = crate::repr::parse(&read(&docs.join(name))?);
        let (t, s) = (crate::repr::decl_tag_bytes(&f), crate::repr::set8_bytes(&f));
        Ok((f, t, s))
    };
    let (f, tags, set8) = sizes("audit-7.3-selftests.txt")?;
    v.push(Figure {
        phrase: format!(
            "the selftests-config kernel has {} kfuncs, {} of them with per-argument facts, {} \
             (argument, fact) pairs of {} kinds",
            f.kfuncs,
            f.with_facts,
            f.pairs,
            f.kinds.len()
        ),
        command: "cargo xtask repr-sizes",
        source: "docs/audit-7.3-selftests.txt".into(),
    });
    v.push(Figure {
        phrase: format!(
            "plus {} bytes of strings) that is {tags} bytes of BTF",
            tags - 16 * f.pairs
        ),
        command: "cargo xtask repr-sizes",
        source: "docs/audit-7.3-selftests.txt".into(),
    });
    v.push(Figure {
        phrase: format!("{set8} bytes if every set were extended"),
        command: "cargo xtask repr-sizes",
        source: "docs/audit-7.3-selftests.txt".into(),
    });
    let (_, tags, set8) = sizes("audit-7.3.txt")?;
    v.push(Figure {
        phrase: format!("The tiny test kernel: {tags} against {set8} bytes"),
        command: "cargo xtask repr-sizes",
        source: "docs/audit-7.3.txt".into(),
    });
    let (_, tags, set8) = sizes("audit-7.3-bpf_testmod.txt")?;
    v.push(Figure {
        phrase: format!("bpf_testmod.ko: {tags} against {set8}"),
        command: "cargo xtask repr-sizes",
        source: "docs/audit-7.3-bpf_testmod.txt".into(),
    });

    // The programs of the VM selftests, from their sources (a run quoting fewer is stale).
    let progs_dir = root.join("selftests/progs");
    let mut programs = 0;
    for e in fs::read_dir(&progs_dir).map_err(|e| format!("{}: {e}", progs_dir.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        if p.to_string_lossy().ends_with(".bpf.c") {
            programs += read(&p)?.lines().filter(|l| l.starts_with("SEC(")).count();
        }
    }
    v.push(Figure {
        phrase: format!("{programs} BPF programs against the Rust sample module"),
        command: "cargo xtask selftests --variant all",
        source: "selftests/progs/*.bpf.c (one program per SEC())".into(),
    });

    // The in-tree sample's kfuncs, from the rust series' sample patch.
    let rust = crate::kernel::patch_files_in(&root.join("patches/rust"))?;
    let mut sample_kfuncs = None;
    for p in &rust {
        let t = read(p)?;
        if t.contains("+++ b/samples/rust/rust_kfunc.rs") {
            sample_kfuncs = Some(t.lines().filter(|l| l.starts_with("+#[kfunc")).count());
        }
    }
    let n = sample_kfuncs.ok_or("patches/rust: no patch adds samples/rust/rust_kfunc.rs")?;
    v.push(Figure {
        phrase: format!("has the {n} kfuncs of the prototype's sample"),
        command: "cargo test -p kfunc-macros --test in_tree",
        source: "patches/rust/*-samples-rust-*.patch (#[kfunc] lines)".into(),
    });

    // The series' own selftests: the programs patch 7 adds.
    let mut st_progs = None;
    for p in crate::kernel::patch_files()? {
        let t = read(&p)?;
        let prog = crate::progs::diffs_under(
            &t,
            "tools/testing/selftests/bpf/progs/verifier_kfunc_args.c",
        );
        if !prog.is_empty() {
            st_progs = Some(prog.lines().filter(|l| l.starts_with("+SEC(")).count());
        }
    }
    let n = st_progs.ok_or("patches: no patch adds progs/verifier_kfunc_args.c")?;
    v.push(Figure {
        phrase: format!("__msg) has {n} programs"),
        command: "cargo xtask progs --series-tests",
        source: "patches/0007-*.patch (+SEC( lines of progs/verifier_kfunc_args.c)".into(),
    });

    let ui = root.join("kfunc-macros/tests/ui");
    let cases = fs::read_dir(&ui)
        .map_err(|e| format!("{}: {e}", ui.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .count();
    v.push(Figure {
        phrase: format!("{cases} compile-fail cases"),
        command: "cargo test -p kfunc-macros --test compile_fail",
        source: "kfunc-macros/tests/ui/*.rs".into(),
    });
    Ok(v)
}

/// A recorded figure: its phrases from the record's lines, or why there are none.
type Recorded = Result<Vec<Figure>, String>;

fn recorded(command: &'static str) -> Result<(String, String), String> {
    recorded_as(command, command)
}

/// The record `name` (see [`say`]), written by `cargo xtask <command>`.
fn recorded_as(name: &str, command: &str) -> Result<(String, String), String> {
    let path = record_path(name)?;
    match fs::read_to_string(&path) {
        Ok(t) => Ok((t, path.display().to_string())),
        Err(_) => Err(format!(
            "no record at {} (run `cargo xtask {command}`)",
            path.display()
        )),
    }
}

fn line_with<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.lines().find(|l| l.contains(needle))
}

/// `Summary: X/Y PASSED, S SKIPPED, F FAILED` of a test_progs run line.
fn progs_summary(line: &str) -> Option<(u64, u64, u64, u64)> {
    let s = &line[line.find("Summary: ")? + "Summary: ".len()..];
    let (x, rest) = s.split_once('/')?;
    Some((
        x.trim().parse().ok()?,
        num_before(rest, " PASSED")?,
        num_before(rest, " SKIPPED")?,
        num_before(rest, " FAILED")?,
    ))
}

fn recorded_figures() -> Vec<(&'static str, Recorded)> {
    let mut out: Vec<(&'static str, Recorded)> = Vec::new();

    out.push((
        "test",
        (|| {
            let (t, src) = recorded("test")?;
            let line = t
                .lines()
                .rev()
                .find(|l| l.contains(" passed, "))
                .ok_or_else(|| format!("{src}: no summary line"))?;
            Ok(vec![Figure {
                phrase: format!("ends in \"{}\"", line.trim()),
                command: "cargo xtask test",
                source: src,
            }])
        })(),
    ));

    out.push((
        "selftests",
        (|| {
            let path = crate::sample::target_dir().join("kfunc-selftests/matrix.txt");
            let m = fs::read_to_string(&path)
                .map_err(|_| format!("no {} (run `cargo xtask selftests`)", path.display()))?;
            // The matrix has a row per program with a verdict to compare; the number of
            // programs RFC.md quotes (53) also counts those without one, so only the
            // changed verdicts are read from it.
            let (_rows, changed) =
                matrix_counts(&m).ok_or_else(|| format!("{}: no verdict count", path.display()))?;
            Ok(vec![Figure {
                phrase: format!("{changed} verdicts change between the two"),
                command: "cargo xtask selftests --variant both",
                source: path.display().to_string(),
            }])
        })(),
    ));

    out.push((
        "regress",
        recorded("regress").and_then(|(t, src)| parse_regress(&t, src)),
    ));

    out.push((
        "progs",
        recorded("progs").and_then(|(t, src)| parse_progs(&t, src)),
    ));

    out.push((
        "progs --series-tests",
        (|| {
            let path = record_path("progs-series")?;
            let t = fs::read_to_string(&path).map_err(|_| {
                format!(
                    "no record at {} (run `cargo xtask progs --series-tests`)",
                    path.display()
                )
            })?;
            let src = path.display().to_string();
            let l = line_with(&t, "progs --series-tests: ")
                .ok_or_else(|| format!("{src}: no summary"))?;
            let ok = num_before(l, " OK, ").ok_or("progs-series: OK")?;
            let fail = num_before(l, " FAIL, ").ok_or("progs-series: FAIL")?;
            let skip = num_before(l, " SKIP").ok_or("progs-series: SKIP")?;
            Ok(vec![Figure {
                phrase: format!(
                    "{ok} of its {} programs pass on the patched kernel",
                    ok + fail + skip
                ),
                command: "cargo xtask progs --series-tests",
                source: src,
            }])
        })(),
    ));

    out.push((
        "veristat",
        recorded("veristat").and_then(|(t, src)| parse_veristat(&t, src)),
    ));

    out.push((
        "bench",
        recorded("bench").and_then(|(t, src)| parse_bench(&t, src)),
    ));

    out.push((
        "dropin",
        recorded("dropin").and_then(|(t, src)| parse_dropin(&t, src)),
    ));

    out.push((
        "dropin --config selftests",
        recorded_as("dropin-selftests", "dropin --config selftests")
            .and_then(|(t, src)| parse_dropin_selftests(&t, src)),
    ));

    out.push((
        "repr-sizes --measure",
        recorded_as(crate::repr::MEASURE_RECORD, "repr-sizes --measure")
            .and_then(|(t, src)| parse_repr_measure(&t, src)),
    ));
    out
}

/// The figures of a `cargo xtask repr-sizes --measure` record: the total, and
/// bpf_testmod's line when it was measured (the RFC's computed figures name it).
fn parse_repr_measure(t: &str, src: String) -> Recorded {
    let cmd = "cargo xtask repr-sizes --measure";
    let l = line_with(t, "repr-sizes --measure: total of ")
        .ok_or_else(|| format!("{src}: no total"))?;
    let n = num_after(l, "total of").ok_or("repr-sizes --measure: objects")?;
    let bytes = num_after(l, "decl tags").ok_or("repr-sizes --measure: tag bytes")?;
    let tags = num_after(l, "bytes of BTF (").ok_or("repr-sizes --measure: tags")?;
    let kfuncs = num_after(l, " tags on").ok_or("repr-sizes --measure: kfuncs")?;
    let set8 = num_after(l, "extended set8").ok_or("repr-sizes --measure: set8 bytes")?;
    let entries = num_before(l, " entries)").ok_or("repr-sizes --measure: entries")?;
    let mut v = vec![Figure {
        phrase: format!(
            "measured on {n} objects with extended sets: {tags} decl tags on {kfuncs} kfuncs \
             add {bytes} bytes of BTF, against {set8} bytes of extended set8 entries \
             ({entries} entries)"
        ),
        command: cmd,
        source: src.clone(),
    }];
    if let Some(l) = line_with(t, "repr-sizes --measure: bpf_testmod.ko ") {
        let bytes = num_after(l, "decl tags").ok_or("repr-sizes --measure: bpf_testmod")?;
        let set8 = num_after(l, "extended set8").ok_or("repr-sizes --measure: bpf_testmod")?;
        v.push(Figure {
            phrase: format!(
                "bpf_testmod.ko with per-argument flags, measured: {bytes} against {set8} bytes"
            ),
            command: cmd,
            source: src,
        });
    }
    Ok(v)
}

/// The figures of a `cargo xtask regress` record (`t`, read from `src`).
fn parse_regress(t: &str, src: String) -> Recorded {
    let l = line_with(t, " test runs; ").ok_or_else(|| format!("{src}: no summary"))?;
    let runs = num_before(l, " test runs").ok_or("regress: runs")?;
    let u = l
        .split("unpatched OK/FAIL/SKIP ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .ok_or("regress: unpatched counts")?;
    let p = l
        .split("patched ")
        .last()
        .and_then(|r| r.split(';').next())
        .ok_or("regress: patched counts")?;
    let differ = num_before(l, " differ").ok_or("regress: differ")?;
    let c: Vec<&str> = u.split('/').collect();
    let phrase = if u == p && c.len() == 3 {
        format!(
            "{runs} runs, {} OK / {} FAIL / {} SKIP on each, {differ} differences",
            c[0], c[1], c[2]
        )
    } else {
        format!("{runs} runs: unpatched {u}, patched {p}, {differ} differences")
    };
    Ok(vec![Figure {
        phrase,
        command: "cargo xtask regress",
        source: src,
    }])
}

/// The figures of a `cargo xtask progs` record (`t`, read from `src`).
fn parse_progs(t: &str, src: String) -> Recorded {
    let run = |label: &str| {
        t.lines()
            .find(|l| l.starts_with(&format!("progs: {label}: ")) && l.contains("Summary: "))
            .and_then(progs_summary)
            .ok_or_else(|| format!("{src}: no test_progs summary of the {label} run"))
    };
    let (a1, a2, a_skip, _) = run("unpatched")?;
    let (b1, b2, _, _) = run("patched")?;
    let cmd = "cargo xtask progs";
    Ok(vec![
        Figure {
            phrase: format!(
                "pass {a1} tests and {a2} subtests on the unpatched kernel ({a_skip} skipped"
            ),
            command: cmd,
            source: src.clone(),
        },
        Figure {
            phrase: format!("{b1}/{b2} on the patched one"),
            command: cmd,
            source: src,
        },
    ])
}

/// The figures of a `cargo xtask veristat` record (`t`, read from `src`).
fn parse_veristat(t: &str, src: String) -> Recorded {
    // (The record's first line, "# cargo xtask veristat: finished ...", names it too.)
    let l = t
        .lines()
        .find(|l| l.starts_with("veristat: ") && l.contains(" programs; "));
    let l = l.ok_or_else(|| format!("{src}: no summary"))?;
    let n = num_before(l, " programs;").ok_or("veristat: programs")?;
    let same = num_after(l, "identical for").ok_or("veristat: identical")?;
    // The ratio from the two times (the record's 3-decimal ratio rounded again to 2 would
    // round twice), else as printed.
    let ms_before = |what: &str| -> Option<f64> {
        let i = l.find(what)?;
        l[..i].split_whitespace().last()?.parse().ok()
    };
    let ratio: f64 = match (ms_before(" ms unpatched"), ms_before(" ms patched")) {
        (Some(a), Some(b)) if a > 0.0 => b / a,
        _ => l
            .split("(ratio ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|r| r.parse().ok())
            .ok_or("veristat: ratio")?,
    };
    let gm: f64 = l
        .rsplit(": ")
        .next()
        .and_then(|r| r.trim().parse().ok())
        .ok_or("veristat: geometric mean")?;
    let cmd = "cargo xtask veristat";
    Ok(vec![
        Figure {
            phrase: format!(
                "veristat over {n} programs: verdict, instructions processed and states \
             identical for {same}"
            ),
            command: cmd,
            source: src.clone(),
        },
        Figure {
            phrase: format!("{ratio:.2}x over all programs both accept ({gm:.2}x geometric mean"),
            command: cmd,
            source: src,
        },
    ])
}

/// The figures of a `cargo xtask bench` record: the range of the `--btf` step's median
/// time ratios on vmlinux and on modules (its `goal, ...` lines).
fn parse_bench(t: &str, src: String) -> Recorded {
    let mut v = Vec::new();
    for kind in ["vmlinux", "modules"] {
        let l = line_with(t, &format!("goal, {kind} --btf"))
            .ok_or_else(|| format!("{src}: no goal line for {kind}"))?;
        let range = l
            .split_once(": ratio ")
            .and_then(|(_, r)| r.split_whitespace().next())
            .ok_or_else(|| format!("{src}: no ratio for {kind}"))?;
        v.push(Figure {
            phrase: format!("{range} on {kind}"),
            command: "cargo xtask bench",
            source: src.clone(),
        });
    }
    Ok(v)
}

/// The figures of a `cargo xtask dropin` record (`t`, read from `src`).
fn parse_dropin(t: &str, src: String) -> Recorded {
    let l = line_with(t, "RESOLVE_BTFIDS ran on ").ok_or_else(|| format!("{src}: no summary"))?;
    let n = num_after(l, "ran on").ok_or("dropin: objects")?;
    let same = num_before(l, " with .BTF_ids identical").ok_or("dropin: identical")?;
    Ok(vec![Figure {
        phrase: format!("{n} objects (.tmp_vmlinux1, "),
        command: "cargo xtask dropin",
        source: format!("{src} ({same} with identical .BTF_ids)"),
    }])
}

/// The figures of a `cargo xtask dropin --config selftests` record (`t`, read from `src`):
/// what was compared, and what of it was identical.
fn parse_dropin_selftests(t: &str, src: String) -> Recorded {
    let l = line_with(t, "RESOLVE_BTFIDS ran on ").ok_or_else(|| format!("{src}: no summary"))?;
    let n = num_after(l, "ran on").ok_or("dropin-selftests: objects")?;
    let intree = num_before(l, " in-tree modules").ok_or("dropin-selftests: in-tree")?;
    let kmods = num_before(l, " modules of test_kmods").ok_or("dropin-selftests: test_kmods")?;
    let same = num_before(l, " with .BTF_ids identical").ok_or("dropin-selftests: identical")?;
    let absent = num_before(l, " without .BTF_ids").ok_or("dropin-selftests: without")?;
    let btf = num_after(l, ".BTF identical on").ok_or("dropin-selftests: .BTF")?;
    let p = line_with(t, "--patch_btfids ran on ")
        .ok_or_else(|| format!("{src}: no --patch_btfids summary"))?;
    let patched = num_after(p, "ran on").ok_or("dropin-selftests: patched")?;
    let p_same = num_after(p, "stock tool's on").ok_or("dropin-selftests: patched identical")?;
    let with_ids = n - absent.min(n);
    let cmd = "cargo xtask dropin --config selftests";
    Ok(vec![
        Figure {
            phrase: format!(
                "{n} objects of the unpatched selftests-config kernel (.tmp_vmlinux1, {intree} \
                 in-tree modules and the {kmods} of test_kmods/)"
            ),
            command: cmd,
            source: src.clone(),
        },
        Figure {
            phrase: if same == with_ids && btf == n && p_same == patched {
                format!(
                    "{same} with .BTF_ids, all identical, and .BTF identical on all {n}; \
                     --patch_btfids patched {patched} files, all identical"
                )
            } else {
                format!(
                    "{same} of {with_ids} with .BTF_ids identical, .BTF identical on {btf} of \
                     {n}; --patch_btfids patched {patched} files, {p_same} identical"
                )
            },
            command: cmd,
            source: src,
        },
    ])
}

/// Why the audit table could not be confirmed.
enum AuditCheck {
    /// No cached kernel, or btfids-post did not build or run.
    NotRun(String),
    /// The summaries differ.
    Differs(String),
}

/// The `summary:` block of an audit table (the per-kfunc lines carry BTF ids, which change
/// with every build).
fn summary_block(table: &str) -> Option<&str> {
    table.find("\nsummary: ").map(|i| &table[i + 1..])
}

/// `btfids-post audit` of the cached patched tinyconfig kernel gives the summary of
/// `docs/audit-7.3.txt`.
fn audit_is_current() -> Result<(), AuditCheck> {
    use crate::kernel::{Flavor, Variant};
    let kt = crate::kernel::cached_kernel(Variant::Patched, Flavor::Tiny).ok_or_else(|| {
        AuditCheck::NotRun(
            "no cached patched kernel of the current patches (`cargo xtask kernel` builds it)"
                .to_string(),
        )
    })?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = std::process::Command::new(cargo)
        .args(["build", "-q", "--release", "-p", "btfids-post"])
        .current_dir(repo_root())
        .status()
        .map_err(|e| AuditCheck::NotRun(format!("cargo build -p btfids-post: {e}")))?;
    if !built.success() {
        return Err(AuditCheck::NotRun(
            "btfids-post does not build (cargo build --release -p btfids-post)".into(),
        ));
    }
    let tool = crate::sample::target_dir().join("release/btfids-post");
    let o = std::process::Command::new(&tool)
        .arg("audit")
        .arg(&kt.vmlinux)
        .output()
        .map_err(|e| AuditCheck::NotRun(format!("{}: {e}", tool.display())))?;
    if !o.status.success() {
        return Err(AuditCheck::NotRun(format!(
            "btfids-post audit {} failed: {}",
            kt.vmlinux.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        )));
    }
    let now = String::from_utf8_lossy(&o.stdout);
    let doc = read(&repo_root().join("docs/audit-7.3.txt")).map_err(AuditCheck::NotRun)?;
    match (summary_block(&doc), summary_block(&now)) {
        (Some(a), Some(b)) if a == b => Ok(()),
        (Some(a), Some(b)) => Err(AuditCheck::Differs(format!(
            "docs/audit-7.3.txt's summary differs from `btfids-post audit {}` from its line {} \
             on: regenerate the table",
            kt.vmlinux.display(),
            first_line_differing(a, b)
        ))),
        _ => Err(AuditCheck::Differs(
            "no summary block in docs/audit-7.3.txt or in btfids-post's output".into(),
        )),
    }
}

/// The 1-based number of the first line where `a` and `b` differ.
fn first_line_differing(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .map_or(a.lines().count().min(b.lines().count()) + 1, |i| i + 1)
}

/// Entry point of `cargo xtask figures`.
pub fn run(_: &crate::flags::Figures) -> Result<Tally, String> {
    let rfc_path = repo_root().join("RFC.md");
    let rfc = fold(&read(&rfc_path)?);
    let mut t = Tally::default();
    let mut show = |verdict: Verdict, f: Option<&Figure>, what: &str| {
        let (tag, n) = match &verdict {
            Verdict::Ok => ("ok", &mut t.passed),
            Verdict::Differs => ("DIFFERS", &mut t.failed),
            Verdict::NotRerun(_) => ("not rerun", &mut t.skipped),
        };
        *n += 1;
        match (f, verdict) {
            (Some(f), Verdict::NotRerun(_))
            | (Some(f), Verdict::Ok)
            | (Some(f), Verdict::Differs) => {
                println!(
                    "[{tag}] \"{}\"\n      from {} ({})",
                    f.phrase, f.source, f.command
                )
            }
            (None, Verdict::NotRerun(why)) => println!("[{tag}] {what}: {why}"),
            (None, _) => println!("[{tag}] {what}"),
        }
    };
    let check = |f: &Figure| {
        if rfc.contains(&fold(&f.phrase)) {
            Verdict::Ok
        } else {
            Verdict::Differs
        }
    };
    println!("figures: recomputed from the repository");
    for f in cheap_figures()? {
        show(check(&f), Some(&f), "");
    }
    println!("figures: the audit table against the cached patched kernel");
    match audit_is_current() {
        Ok(()) => show(
            Verdict::Ok,
            None,
            "docs/audit-7.3.txt's summary is what `btfids-post audit` gives on the cached \
             patched tinyconfig kernel's vmlinux",
        ),
        Err(AuditCheck::NotRun(why)) => show(Verdict::NotRerun(why), None, "audit"),
        Err(AuditCheck::Differs(why)) => show(Verdict::Differs, None, &why),
    }
    println!("figures: the shortlog and diffstat (cargo xtask series --check)");
    match crate::series::run(&crate::flags::Series { check: true }) {
        Ok(s) if s.failed > 0 => show(Verdict::Differs, None, "shortlog and diffstat: see above"),
        Ok(s) if s.skipped > 0 => show(
            Verdict::NotRerun("no cached kernel source".into()),
            None,
            "shortlog and diffstat",
        ),
        Ok(_) => show(
            Verdict::Ok,
            None,
            "shortlog and diffstat in RFC.md's \"Patches\" are git's",
        ),
        Err(e) => show(Verdict::Differs, None, &format!("series --check: {e}")),
    }
    println!("figures: from the last recorded run of each expensive command");
    for (cmd, r) in recorded_figures() {
        match r {
            Ok(figs) => {
                for f in &figs {
                    show(check(f), Some(f), cmd);
                }
            }
            Err(why) => show(Verdict::NotRerun(why), None, cmd),
        }
    }
    println!(
        "figures: {} as RFC.md says, {} differ, {} not rerun",
        t.passed, t.failed, t.skipped
    );
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_audit_summary() {
        let t = "x\nsummary: 1 object(s), 21 kfunc set(s) (0 extended), 165 entries, 164 distinct kfuncs\n  \
                 61 kfuncs use parameter-name suffixes; 106 need per-argument flags after conversion; 46 have no function flag\n  \
                 10 kfuncs need a parameter renamed: dropping the suffixes would give two parameters the same name\n  \
                 KF_RELEASE: 10 with one candidate argument, 0 ambiguous, 0 without one; KF_ACQUIRE: 5\n";
        assert_eq!(
            audit_summary(t).unwrap(),
            AuditSummary {
                sets: 21,
                kfuncs: 164,
                suffixed: 61,
                need_flags: 106,
                renamed: 10,
                release: (10, 0, 0)
            }
        );
        assert_eq!(audit_summary("no summary"), None);
    }

    #[test]
    fn counts_one_objects_kfuncs_and_long_ones() {
        let t = "== vmlinux set a (Legacy)\nf [1] flags 0\n    arg5 x: int\n\
                 == m.ko set b (Legacy)\ng [2] flags 0\n    arg0 x: int\n\
                 h [3] flags 0\n    arg0 a: int\n    arg5 f: int\n\
                 == m.ko set c (Legacy)\nh [3] flags 0\n    arg5 f: int\n";
        assert_eq!(object_kfuncs(t, "m.ko"), (2, 1));
        assert_eq!(object_kfuncs(t, "vmlinux"), (1, 1));
    }

    #[test]
    fn counts_matrix_rows() {
        let m = "matrix (...):\n  test   flag   args   legacy   changed (annotations predict)\n  \
                 a   x   accepted   accepted   no      (no)\n                               args: m\n  \
                 b   y   rejected   accepted   yes     (yes)\n  1 verdict(s) changed between the variants\n";
        assert_eq!(matrix_counts(m), Some((2, 1)));
    }

    #[test]
    fn phrases_match_across_line_breaks_only() {
        let rfc = fold("the 7.3 test kernel: 21 kfunc sets,\n   164 distinct kfuncs");
        assert!(rfc.contains(&fold("21 kfunc sets, 164 distinct kfuncs")));
        assert!(!rfc.contains(&fold("21 kfunc sets, 165 distinct kfuncs")));
    }

    /// Records as the commands' `say` lines write them (the formats of regress.rs,
    /// progs.rs and dropin.rs), read back into the phrases RFC.md quotes.
    #[test]
    fn reads_records() {
        let r = "# cargo xtask regress: finished x\nregress: 792 test runs; unpatched OK/FAIL/SKIP 447/8/337, patched 447/8/337; 0 differ\n";
        assert_eq!(
            parse_regress(r, "r".into()).unwrap()[0].phrase,
            "792 runs, 447 OK / 8 FAIL / 337 SKIP on each, 0 differences"
        );
        let r2 = r.replace("patched 447/8/337", "patched 446/9/337");
        assert_eq!(
            parse_regress(&r2, "r".into()).unwrap()[0].phrase,
            "792 runs: unpatched 447/8/337, patched 446/9/337, 0 differences"
        );
        let p = "progs: unpatched: 3811 tests and subtests, OK/FAIL/SKIP 3800/1/10; Summary: 209/3591 PASSED, 10 SKIPPED, 1 FAILED\n\
                 progs: patched: 3810 tests and subtests, OK/FAIL/SKIP 3799/1/10; Summary: 208/3590 PASSED, 10 SKIPPED, 1 FAILED\n\
                 progs: patched, bpf_testmod with per-argument flags: 1 tests and subtests, OK/FAIL/SKIP 1/0/0; Summary: 1/1 PASSED, 0 SKIPPED, 0 FAILED\n";
        let f = parse_progs(p, "p".into()).unwrap();
        assert_eq!(
            f[0].phrase,
            "pass 209 tests and 3591 subtests on the unpatched kernel (10 skipped"
        );
        assert_eq!(f[1].phrase, "208/3590 on the patched one");
        assert!(parse_progs("progs: 1 passed, 0 failed, 0 skipped\n", "p".into()).is_err());
        let v = "veristat: 5036 programs; verdict, instructions and states identical for 5034; verification time of the programs both accept: 100.0 ms unpatched, 104.0 ms patched (ratio 1.040); geometric mean of 900 per-program ratios (>= 1 ms): 1.101\n";
        let f = parse_veristat(v, "v".into()).unwrap();
        assert_eq!(
            f[0].phrase,
            "veristat over 5036 programs: verdict, instructions processed and states identical for 5034"
        );
        assert_eq!(
            f[1].phrase,
            "1.04x over all programs both accept (1.10x geometric mean"
        );
        let d = "dropin: RESOLVE_BTFIDS ran on 24 objects (vmlinux, 17 in-tree modules, 6 out-of-tree modules); 23 with .BTF_ids identical to the stock tool's, 1 without .BTF_ids, 0 differ\n";
        assert_eq!(
            parse_dropin(d, "d".into()).unwrap()[0].phrase,
            "24 objects (.tmp_vmlinux1, "
        );
        let s = "dropin --config selftests: RESOLVE_BTFIDS ran on 25 objects of the unpatched selftests-config kernel (vmlinux, 19 in-tree modules, 5 modules of test_kmods/: a.ko b.ko c.ko d.ko e.ko); 4 with .BTF_ids identical to the stock tool's, 21 without .BTF_ids, .BTF identical on 25, 0 differ\n\
                 dropin --config selftests: --patch_btfids ran on 4 ELF files; the patched file identical to the stock tool's on 4, 0 differ\n";
        let f = parse_dropin_selftests(s, "s".into()).unwrap();
        assert_eq!(
            f[0].phrase,
            "25 objects of the unpatched selftests-config kernel (.tmp_vmlinux1, 19 in-tree \
             modules and the 5 of test_kmods/)"
        );
        assert_eq!(
            f[1].phrase,
            "4 with .BTF_ids, all identical, and .BTF identical on all 25; --patch_btfids \
             patched 4 files, all identical"
        );
        let s2 = s
            .replace("4 with .BTF_ids identical", "3 with .BTF_ids identical")
            .replace("identical on 25, 0 differ", "identical on 24, 2 differ")
            .replace("stock tool's on 4, 0", "stock tool's on 3, 1");
        assert_eq!(
            parse_dropin_selftests(&s2, "s".into()).unwrap()[1].phrase,
            "3 of 4 with .BTF_ids identical, .BTF identical on 24 of 25; --patch_btfids \
             patched 4 files, 3 identical"
        );
        assert!(parse_dropin_selftests(d, "d".into()).is_err());
    }

    /// A `repr-sizes --measure` record (lines as `repr::object_line` and
    /// `repr::total_line` write them) read back into its phrases.
    #[test]
    fn reads_repr_measure_records() {
        let m = crate::repr::Measured {
            label: "bpf_testmod.ko (x, against y, relinked)".into(),
            btf_plain: 21922,
            btf_tagged: 22350,
            tags: 22,
            kfuncs: 12,
            entries: 87,
        };
        let t = format!(
            "# cargo xtask repr-sizes-measure: finished x\n{}\n{}\n",
            crate::repr::object_line(&m),
            crate::repr::total_line(std::slice::from_ref(&m), 2)
        );
        let f = parse_repr_measure(&t, "r".into()).unwrap();
        assert_eq!(
            f[0].phrase,
            "measured on 1 objects with extended sets: 22 decl tags on 12 kfuncs add 428 bytes \
             of BTF, against 1740 bytes of extended set8 entries (87 entries)"
        );
        assert_eq!(
            f[1].phrase,
            "bpf_testmod.ko with per-argument flags, measured: 428 against 1740 bytes"
        );
        assert!(parse_repr_measure("nothing\n", "r".into()).is_err());
    }

    #[test]
    fn audit_summaries_leave_out_the_btf_ids() {
        let a = "# header\nf [1] flags 0\n\nsummary: 1 object(s)\n  x\n";
        let b = "f [2] flags 0\n\nsummary: 1 object(s)\n  x\n";
        assert_eq!(summary_block(a), summary_block(b));
        assert_eq!(summary_block(a), Some("summary: 1 object(s)\n  x\n"));
        assert_ne!(summary_block(a), summary_block(&b.replace("  x", "  y")));
        assert_eq!(summary_block("no summary\n"), None);
    }

    #[test]
    fn reads_progs_summaries() {
        assert_eq!(
            progs_summary(
                "progs: unpatched: Summary: 209/3591 PASSED, 10 SKIPPED, 1 FAILED (500 s)"
            ),
            Some((209, 3591, 10, 1))
        );
    }
}
