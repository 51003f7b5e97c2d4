//! Differential test on real kernel inputs captured before resolution by
//! `scripts/resolve-btfids-capture.sh`: vmlinux and every module, each run through the stock
//! resolve_btfids and through btfids-post; outputs must be byte-identical, warnings equal,
//! and a second btfids-post run must change nothing.
//!
//! Inputs: `$BTFIDS_INPUTS` (a capture directory, or several separated by ':'), else every
//! `~/.cache/kfunc-args/kernel/*/{,linux/}btfids-inputs/` and `~/.cache/kfunc-args/post/capture*/`.
//! Stock tool: `$RESOLVE_BTFIDS`, else `<build dir from the args file>/tools/bpf/
//! resolve_btfids/resolve_btfids`. With no inputs on this machine the test says why and
//! is skipped. Inputs with extended sets or `.kfunc.meta` records (Rust modules) cannot be
//! compared with the stock tool: they are processed twice (no change the second time) and
//! must pass `check`.

mod common;

use btfids_post::pipeline::Layout;
use btfids_post::Options;
use std::path::{Path, PathBuf};

fn capture_dirs() -> Vec<PathBuf> {
    if let Ok(v) = std::env::var("BTFIDS_INPUTS") {
        return v
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
    }
    btfids_post::capture::default_dirs()
}

/// Run btfids-post (twice) and `check` on an input the stock tool cannot process
/// (extended sets, Rust records): it must succeed, the second run must change nothing,
/// and `check` must pass.
fn own_only(f: &Path, base: Option<&Path>, work: &Path) {
    let name = f.file_name().unwrap().to_string_lossy().into_owned();
    let b = work.join(format!("own-{name}"));
    std::fs::copy(f, &b).unwrap();
    let base_args: Vec<&std::ffi::OsStr> = base
        .iter()
        .flat_map(|bp| [std::ffi::OsStr::new("-b"), bp.as_os_str()])
        .collect();
    let run = |extra: &[&str]| {
        std::process::Command::new(common::bin())
            .args(extra)
            .args(&base_args)
            .arg(&b)
            .output()
            .unwrap()
    };
    let o = run(&[]);
    assert!(
        o.status.success(),
        "{}: {}",
        f.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let once = std::fs::read(&b).unwrap();
    assert!(run(&[]).status.success());
    assert!(
        std::fs::read(&b).unwrap() == once,
        "{}: second run changed the file",
        f.display()
    );
    let c = run(&["check"]);
    assert!(
        c.status.success(),
        "{}: check: {}",
        f.display(),
        String::from_utf8_lossy(&c.stdout)
    );
    eprintln!("processed, idempotent, check ok: {}", f.display());
}

fn stock_for(dir: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::env::var("RESOLVE_BTFIDS") {
        return Some(PathBuf::from(p));
    }
    btfids_post::capture::stock_from_args(dir).or_else(common::stock_resolve_btfids)
}

#[test]
fn captured_inputs_match_stock_resolve_btfids() {
    let dirs = capture_dirs();
    if dirs.is_empty() {
        eprintln!(
            "SKIPPED captured_inputs_match_stock_resolve_btfids: no captured inputs \
             (~/.cache/kfunc-args/kernel/*/btfids-inputs or $BTFIDS_INPUTS)"
        );
        return;
    }
    let mut compared = 0;
    let mut skipped = Vec::new();
    for dir in dirs {
        let btfids_post::capture::Capture { base, files } =
            btfids_post::capture::read(&dir).unwrap();
        if files.is_empty() {
            continue; // Linux 7.3 captures only: captured_7_3_inputs_match_stock_resolve_btfids
        }
        let Some(stock) = stock_for(&dir) else {
            skipped.push(format!(
                "{}: no stock resolve_btfids (set RESOLVE_BTFIDS)",
                dir.display()
            ));
            continue;
        };
        let work = common::tmpdir("captured");
        for f in files {
            let is_mod = f.extension().is_some_and(|x| x == "ko");
            let opts = Options {
                base: if is_mod { base.clone() } else { None },
                ..Default::default()
            };
            if is_mod && base.is_none() {
                skipped.push(format!("{}: no vmlinux beside it for -b", f.display()));
                continue;
            }
            // Extended sets and Rust records are this tool's extension: the stock tool
            // cannot be compared on them (other tests cover them).
            let sets = btfids_post::dump::dump(&f, &opts).unwrap();
            let bytes = std::fs::read(&f).unwrap();
            let has_meta = bytes.windows(12).any(|w| w == b".kfunc.meta\0");
            // A patched kernel's resolve_btfids (patch 0002) knows extended sets: compare
            // those too; Rust records (BTF generation) are this tool's alone.
            let stock_knows_ext = stock
                .parent()
                .and_then(|d| std::fs::read_to_string(d.join("main.c")).ok())
                .is_some_and(|m| m.contains("is_set8_args"));
            if (sets.iter().any(|s| s.layout == Layout::Extended) && !stock_knows_ext) || has_meta {
                skipped.push(format!(
                    "{}: extended sets or .kfunc.meta: not comparable with the stock tool, checked alone",
                    f.display()
                ));
                own_only(&f, opts.base.as_deref(), &work);
                continue;
            }
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let a = work.join(format!("stock-{name}"));
            let b = work.join(format!("post-{name}"));
            std::fs::copy(&f, &a).unwrap();
            std::fs::copy(&f, &b).unwrap();
            let mut cmd_a = std::process::Command::new(&stock);
            let mut cmd_b = std::process::Command::new(common::bin());
            if let Some(bp) = &opts.base {
                cmd_a.arg("-b").arg(bp);
                cmd_b.arg("-b").arg(bp);
            }
            let oa = cmd_a.arg(&a).output().unwrap();
            let ob = cmd_b.arg(&b).output().unwrap();
            assert!(
                oa.status.success(),
                "stock failed on {}: {}",
                f.display(),
                String::from_utf8_lossy(&oa.stderr)
            );
            assert!(
                ob.status.success(),
                "btfids-post failed on {}: {}",
                f.display(),
                String::from_utf8_lossy(&ob.stderr)
            );
            let (ra, rb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
            if ra != rb {
                let pos = ra.iter().zip(&rb).position(|(x, y)| x != y);
                panic!(
                    "{}: output differs from resolve_btfids (first at byte {pos:?})",
                    f.display()
                );
            }
            assert_eq!(oa.stderr, ob.stderr, "{}: warnings differ", f.display());
            let again = std::process::Command::new(common::bin())
                .args(
                    opts.base
                        .iter()
                        .flat_map(|bp| [std::ffi::OsStr::new("-b"), bp.as_os_str()]),
                )
                .arg(&b)
                .output()
                .unwrap();
            assert!(again.status.success());
            assert!(
                std::fs::read(&b).unwrap() == rb,
                "{}: second run changed the file",
                f.display()
            );
            eprintln!("identical: {} ({} bytes)", f.display(), ra.len());
            compared += 1;
        }
        let _ = std::fs::remove_dir_all(&work);
    }
    for s in &skipped {
        eprintln!("skipped: {s}");
    }
    if compared == 0 {
        eprintln!(
            "SKIPPED captured_inputs_match_stock_resolve_btfids: nothing comparable ({} skipped)",
            skipped.len()
        );
    }
}

/// `OBJ.BTF`, `OBJ.BTF_ids` and `OBJ.BTF.base` beside `obj`, if written.
type DetachedOutputs = (Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);

fn detached_outputs(obj: &Path) -> DetachedOutputs {
    let read = |suffix: &str| {
        let mut p = obj.as_os_str().to_owned();
        p.push(suffix);
        std::fs::read(PathBuf::from(p)).ok()
    };
    (read(".BTF"), read(".BTF_ids"), read(".BTF.base"))
}

/// Linux 7.3 captures (`scripts/gen-btf.sh` flow: the ELF, its detached BTF and the base
/// saved by the capture wrapper): each input through the stock 7.3 resolve_btfids and
/// btfids-post with `--btf` (and `-b` for modules, and `--distill_base` when the build
/// passed it); `OBJ.BTF`, `OBJ.BTF_ids`, `OBJ.BTF.base` and stderr must be identical, OBJ
/// unchanged. `--fatal_warnings` is left out (the stock tool never fails on it). Inputs
/// with extended sets or `.kfunc.meta` records are run through btfids-post alone.
#[test]
fn captured_7_3_inputs_match_stock_resolve_btfids() {
    let mut compared = 0;
    let mut notes = Vec::new();
    for dir in capture_dirs() {
        let inputs = btfids_post::capture::read_detached(&dir).unwrap();
        if inputs.is_empty() {
            continue;
        }
        let base = btfids_post::capture::read(&dir).unwrap().base;
        let stock = btfids_post::capture::stock_from_args(&dir)
            .filter(|s| common::is_73_tool(s))
            .or_else(common::stock_resolve_btfids_73);
        let work = common::tmpdir("captured-73");
        for inp in inputs {
            let name = inp.elf.file_name().unwrap().to_string_lossy().into_owned();
            let mut args: Vec<std::ffi::OsString> = vec!["--btf".into(), inp.btf.clone().into()];
            if inp.args.iter().any(|a| a == "--distill_base") {
                args.push("--distill_base".into());
            }
            if inp.module {
                let Some(b) = &base else {
                    notes.push(format!("{}: no base.vmlinux beside it", inp.elf.display()));
                    continue;
                };
                args.push("-b".into());
                args.push(b.clone().into());
            }
            let bytes = std::fs::read(&inp.elf).unwrap();
            let own_only = {
                let c = btfids_post::detached::collect(&inp.elf, &bytes).unwrap();
                !c.records.is_empty()
                    || c.ids.as_ref().is_some_and(|i| {
                        i.sets
                            .iter()
                            .any(|s| s.layout != Layout::Set && s.layout != Layout::Legacy)
                    })
            };
            let run = |tool: &Path, sub: &str| {
                let d = work.join(sub);
                std::fs::create_dir_all(&d).unwrap();
                let obj = d.join(&name);
                std::fs::write(&obj, &bytes).unwrap();
                let o = std::process::Command::new(tool)
                    .args(&args)
                    .arg(&obj)
                    .output()
                    .unwrap();
                assert!(
                    o.status.success(),
                    "{} on {}: {}",
                    tool.display(),
                    inp.elf.display(),
                    String::from_utf8_lossy(&o.stderr)
                );
                assert!(
                    std::fs::read(&obj).unwrap() == bytes,
                    "{}: OBJ changed",
                    tool.display()
                );
                (detached_outputs(&obj), o.stderr)
            };
            let (mine, my_err) = run(&common::bin(), "post");
            if own_only {
                notes.push(format!(
                    "{}: extended sets or .kfunc.meta: processed by btfids-post alone",
                    inp.elf.display()
                ));
                continue;
            }
            let Some(stock) = &stock else {
                notes.push(format!(
                    "{}: no stock 7.3 resolve_btfids",
                    inp.elf.display()
                ));
                continue;
            };
            let (theirs, their_err) = run(stock, "stock");
            assert!(mine.0 == theirs.0, "{}: OBJ.BTF differs", inp.elf.display());
            assert!(
                mine.1 == theirs.1,
                "{}: OBJ.BTF_ids differs",
                inp.elf.display()
            );
            assert!(
                mine.2 == theirs.2,
                "{}: OBJ.BTF.base differs",
                inp.elf.display()
            );
            assert_eq!(my_err, their_err, "{}: stderr differs", inp.elf.display());
            eprintln!("identical: {}", inp.elf.display());
            compared += 1;
        }
        let _ = std::fs::remove_dir_all(&work);
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    if compared == 0 {
        eprintln!(
            "SKIPPED captured_7_3_inputs_match_stock_resolve_btfids: no Linux 7.3 captures \
             compared ({} notes; captures: scripts/resolve-btfids-capture.sh)",
            notes.len()
        );
    }
}
