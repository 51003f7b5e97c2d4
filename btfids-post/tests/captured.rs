//! Differential tests on real kernel inputs captured before resolution by
//! `scripts/resolve-btfids-capture.sh`: vmlinux and every module, each run through the stock
//! resolve_btfids and through btfids-post.
//!
//! - Linux 7.3 captures (`scripts/gen-btf.sh`: the ELF, its detached BTF `<name>.BTF.1`,
//!   `base.vmlinux`): `captured_7_3_inputs_match_stock_resolve_btfids`, against the tree's
//!   own 7.3 resolve_btfids (found through the capture's `args` file): `OBJ.BTF`,
//!   `OBJ.BTF_ids`, `OBJ.BTF.base`, stderr and exit status must be identical, OBJ unchanged.
//! - Linux 6.12 captures (the ELF alone, resolved in place):
//!   `captured_inputs_match_stock_resolve_btfids`, against a Linux 6.12 resolve_btfids only
//!   (7.3's has no in-place mode): the outputs byte-identical, warnings equal, a second
//!   btfids-post run changes nothing.
//!
//! Inputs: `$BTFIDS_INPUTS` (a capture directory, or several separated by ':'), else every
//! `~/.cache/kfunc-args/kernel/*/{,linux/}btfids-inputs/` and `~/.cache/kfunc-args/post/capture*/`.
//! With no inputs on this machine the tests say why and are skipped. Inputs with
//! `.kfunc.meta` records (Rust modules), or extended sets when the stock tool does not know
//! them (not built with patch 0002), cannot be compared with the stock tool: btfids-post
//! processes them alone.

mod common;

use btfids_post::object::Layout;
use btfids_post::Options;
use std::path::{Path, PathBuf};

/// The capture directories with 7.3 (gen-btf.sh) inputs: each one's detached inputs and its
/// base vmlinux, if it has one.
fn detached_captures() -> Vec<(Vec<btfids_post::capture::DetachedInput>, Option<PathBuf>)> {
    capture_dirs()
        .into_iter()
        .filter_map(|dir| {
            let inputs = btfids_post::capture::read_detached(&dir).unwrap();
            let base = btfids_post::capture::read(&dir).unwrap().base;
            (!inputs.is_empty()).then_some((inputs, base))
        })
        .collect()
}

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

/// The Linux 6.12 resolve_btfids for a 6.12 capture: `$RESOLVE_BTFIDS`, else the tree's
/// own, else [`common::stock_resolve_btfids`]; 7.3 tools are passed over (they do not
/// resolve in place).
fn stock_for(dir: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::env::var("RESOLVE_BTFIDS") {
        let p = PathBuf::from(p);
        if !common::is_73_tool(&p) {
            return Some(p);
        }
    }
    btfids_post::capture::stock_from_args(dir)
        .filter(|p| !common::is_73_tool(p))
        .or_else(common::stock_resolve_btfids)
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
    let mut dirs_612 = 0;
    for dir in dirs {
        let btfids_post::capture::Capture { base, files } =
            btfids_post::capture::read(&dir).unwrap();
        if files.is_empty() {
            continue; // Linux 7.3 captures only: captured_7_3_inputs_match_stock_resolve_btfids
        }
        dirs_612 += 1;
        let Some(stock) = stock_for(&dir) else {
            skipped.push(format!(
                "{}: no Linux 6.12 resolve_btfids (7.3's does not resolve in place; set \
                 RESOLVE_BTFIDS to a 6.12 tool)",
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
            // (`is_set8_args`: the 6.12 series' name of that check.)
            let stock_knows_ext = common::knows_extended_sets(&stock)
                || stock
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
    if dirs_612 == 0 {
        eprintln!(
            "SKIPPED captured_inputs_match_stock_resolve_btfids: no Linux 6.12 captures (Linux \
             7.3 ones are compared by captured_7_3_inputs_match_stock_resolve_btfids)"
        );
    } else if compared == 0 {
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
/// saved by the capture wrapper): each input through the 7.3 resolve_btfids of the tree it
/// came from (another 7.3 tool, with a note, when that tree has none any more) and
/// btfids-post with `--btf` (and `-b` for modules, and `--distill_base` when the build
/// passed it); exit status, `OBJ.BTF`, `OBJ.BTF_ids`, `OBJ.BTF.base` and stderr must be
/// identical, OBJ unchanged; an input the stock tool refuses (a stale capture) must be
/// refused alike: same exit status, nothing written. `--fatal_warnings` is left out (the
/// stock tool never fails on it), and so is `--verbose`. Inputs with `.kfunc.meta` records, or with extended sets
/// when the stock tool does not know them (an unpatched tree), are run through btfids-post
/// alone; a patched tree's tool (patch 0002) is compared on extended sets too.
#[test]
fn captured_7_3_inputs_match_stock_resolve_btfids() {
    let mut compared = 0;
    let mut refused = 0;
    let mut notes = Vec::new();
    for (inputs, base) in detached_captures() {
        let work = common::tmpdir("captured-73");
        for inp in inputs {
            let name = inp.elf.file_name().unwrap().to_string_lossy().into_owned();
            // The tree's own tool (of the build that captured the input last).
            let own = inp.stock().filter(|s| common::is_73_tool(s));
            if own.is_none() {
                notes.push(format!(
                    "{}: the tree that captured it ({:?}) has no 7.3 resolve_btfids; compared \
                     with {:?}",
                    inp.elf.display(),
                    inp.tree,
                    common::stock_resolve_btfids_73()
                ));
            }
            let stock = own.or_else(common::stock_resolve_btfids_73);
            let stock_knows_ext = stock.as_deref().is_some_and(common::knows_extended_sets);
            let Some(args) = inp.replay_args(base.as_deref()) else {
                notes.push(format!("{}: no base.vmlinux beside it", inp.elf.display()));
                continue;
            };
            let bytes = std::fs::read(&inp.elf).unwrap();
            let (own_only, extended) = {
                let c = btfids_post::detached::collect(&inp.elf, &bytes).unwrap();
                let layouts: Vec<Layout> = c.sets.iter().map(|s| s.layout).collect();
                let extended = layouts.contains(&Layout::Extended);
                (
                    !c.records.is_empty()
                        || layouts.contains(&Layout::Converted)
                        || (extended && !stock_knows_ext),
                    extended,
                )
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
                    std::fs::read(&obj).unwrap() == bytes,
                    "{}: OBJ changed",
                    tool.display()
                );
                let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
                (detached_outputs(&obj), stderr, o.status.code())
            };
            let (mine, my_err, my_code) = run(&common::bin(), "post");
            if own_only {
                assert_eq!(
                    my_code,
                    Some(0),
                    "btfids-post on {}: {my_err}",
                    inp.elf.display()
                );
                notes.push(format!(
                    "{}: .kfunc.meta records, or extended sets the stock tool does not know: \
                     processed by btfids-post alone",
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
            let (theirs, their_err, their_code) = run(stock, "stock");
            assert_eq!(
                my_code,
                their_code,
                "{}: exit status differs: stock: {their_err}; btfids-post: {my_err}",
                inp.elf.display()
            );
            if their_code != Some(0) {
                // Both refuse it (e.g. a module whose BTF is split on another vmlinux than
                // the captured base: a stale capture): nothing written by either.
                let none = (None, None, None);
                assert!(
                    mine == none && theirs == none,
                    "{}: outputs written on failure",
                    inp.elf.display()
                );
                notes.push(format!(
                    "{}: refused by both alike (exit status {their_code:?}; stock: {}) — a stale \
                     capture? capture it again",
                    inp.elf.display(),
                    their_err.lines().next().unwrap_or("")
                ));
                refused += 1;
                continue;
            }
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
            eprintln!(
                "identical: {} ({} bytes of OBJ.BTF{}{}) against {}",
                inp.elf.display(),
                mine.0.as_ref().map_or(0, Vec::len),
                if mine.1.is_some() {
                    ", OBJ.BTF_ids"
                } else {
                    ""
                },
                if extended { "; extended sets" } else { "" },
                stock.display()
            );
            compared += 1;
        }
        let _ = std::fs::remove_dir_all(&work);
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    eprintln!("Linux 7.3 captures: {compared} identical, {refused} refused by both alike");
    if compared == 0 {
        eprintln!(
            "SKIPPED captured_7_3_inputs_match_stock_resolve_btfids: no Linux 7.3 captures \
             compared ({} notes; captures: scripts/resolve-btfids-capture.sh)",
            notes.len()
        );
    }
}

/// `--arg-decl-tags` on every Linux 7.3 capture: the run succeeds where the plain one does;
/// on an input without extended sets OBJ.BTF and OBJ.BTF_ids are the plain run's bytes; on
/// one with them, the tagged OBJ.BTF loads on its base (this crate's checks, and the
/// machine's libbpf when a C compiler and libbpf-dev are there), grows by 16 bytes per tag
/// plus the new strings, and the facts its `kf_param:` tags give each FUNC are the words of
/// every entry of the resolved extended sets (OBJ.BTF_ids) naming that FUNC: set8 -> tags ->
/// facts round-trips.
#[test]
fn captured_7_3_inputs_with_arg_decl_tags() {
    use btfids_post::btf::{Btf, KIND_DECL_TAG, KIND_FUNC};
    use btfids_post::btf2btf::{arg_facts_in_btf, DECL_TAG_ARG_PREFIX};
    let mut tagged_inputs = 0;
    let mut unchanged = 0;
    let mut notes = Vec::new();
    for (inputs, base) in detached_captures() {
        let work = common::tmpdir("captured-73-tags");
        for inp in inputs {
            let Some(args) = inp.replay_args(base.as_deref()) else {
                notes.push(format!("{}: no base.vmlinux beside it", inp.elf.display()));
                continue;
            };
            let name = inp.elf.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&inp.elf).unwrap();
            let run = |extra: &[&str], sub: &str| {
                let d = work.join(sub);
                std::fs::create_dir_all(&d).unwrap();
                let obj = d.join(&name);
                std::fs::write(&obj, &bytes).unwrap();
                let o = std::process::Command::new(common::bin())
                    .args(extra)
                    .args(&args)
                    .arg(&obj)
                    .output()
                    .unwrap();
                (o, obj)
            };
            let (plain, p_obj) = run(&[], "plain");
            if !plain.status.success() {
                notes.push(format!(
                    "{}: refused without the option (a stale capture?): {}",
                    inp.elf.display(),
                    String::from_utf8_lossy(&plain.stderr)
                        .lines()
                        .next()
                        .unwrap_or("")
                ));
                continue;
            }
            let (tagged, t_obj) = run(&["--arg-decl-tags"], "tagged");
            assert!(
                tagged.status.success(),
                "{}: --arg-decl-tags: {}",
                inp.elf.display(),
                String::from_utf8_lossy(&tagged.stderr)
            );
            let read = |obj: &Path, suffix: &str| {
                let mut p = obj.as_os_str().to_owned();
                p.push(suffix);
                std::fs::read(PathBuf::from(p)).ok()
            };
            let (p_btf, t_btf) = (read(&p_obj, ".BTF").unwrap(), read(&t_obj, ".BTF").unwrap());
            let (p_ids, t_ids) = (read(&p_obj, ".BTF_ids"), read(&t_obj, ".BTF_ids"));
            let (p_base, t_base) = (read(&p_obj, ".BTF.base"), read(&t_obj, ".BTF.base"));
            assert!(
                p_base == t_base,
                "{}: OBJ.BTF.base differs",
                inp.elf.display()
            );
            let c = btfids_post::detached::collect(&inp.elf, &bytes).unwrap();
            let ext: Vec<_> = c
                .sets
                .iter()
                .filter(|s| s.layout == Layout::Extended)
                .collect();
            if ext.is_empty() {
                assert!(
                    p_btf == t_btf && p_ids == t_ids,
                    "{}: no extended set, but the option changed the output",
                    inp.elf.display()
                );
                unchanged += 1;
                continue;
            }
            let (p_ids, t_ids) = (p_ids.unwrap(), t_ids.unwrap());
            assert_eq!(p_ids.len(), t_ids.len(), "{}", inp.elf.display());
            // The base the output is split on: the distilled one, or the -b file.
            let base_file = match (&t_base, inp.module) {
                (Some(_), _) => Some({
                    let mut p = t_obj.as_os_str().to_owned();
                    p.push(".BTF.base");
                    PathBuf::from(p)
                }),
                (None, true) => base.clone(),
                (None, false) => None,
            };
            let base_bytes = base_file.as_ref().map(|p| std::fs::read(p).unwrap());
            let base_raw = base_bytes.as_deref().map(|b| {
                btfids_post::io::btf_bytes(base_file.as_deref().unwrap(), b, ".BTF").unwrap()
            });
            let base_btf = base_raw.map(|b| Btf::parse(b, None).unwrap());
            let pb = Btf::parse(&p_btf, base_btf.as_ref()).unwrap();
            let tb = Btf::parse(&t_btf, base_btf.as_ref()).unwrap_or_else(|e| {
                panic!(
                    "{}: the tagged OBJ.BTF does not load: {e}",
                    inp.elf.display()
                )
            });
            let tags: Vec<_> = tb
                .own_types_iter()
                .filter(|t| {
                    t.kind() == KIND_DECL_TAG
                        && tb.name(t.name_off).starts_with(DECL_TAG_ARG_PREFIX)
                })
                .collect();
            let strs = |b: &Btf<'_>| -> std::collections::BTreeSet<Vec<u8>> {
                b.own_strings()
                    .split(|&c| c == 0)
                    .map(<[u8]>::to_vec)
                    .collect()
            };
            let new_strs: usize = strs(&tb).difference(&strs(&pb)).map(|s| s.len() + 1).sum();
            assert_eq!(
                tb.own_count() as usize,
                pb.own_count() as usize + tags.len(),
                "{}",
                inp.elf.display()
            );
            assert_eq!(
                t_btf.len(),
                p_btf.len() + 16 * tags.len() + new_strs,
                "{}: size",
                inp.elf.display()
            );
            let facts = arg_facts_in_btf(&tb).unwrap();
            let e = c.endian();
            let mut with_facts = std::collections::BTreeSet::new();
            for s in &ext {
                for i in 0..s.cnt {
                    let en = s.entry(&t_ids, i, e).unwrap();
                    let f = tb.ty(en.id()).unwrap();
                    assert_eq!(f.kind(), KIND_FUNC, "{}: {}", inp.elf.display(), i);
                    let words = en.arg_flags().unwrap();
                    assert_eq!(
                        facts.get(&en.id()).copied().unwrap_or_default(),
                        words,
                        "{}: {}",
                        inp.elf.display(),
                        tb.name(f.name_off)
                    );
                    if words.iter().any(|w| *w != 0) {
                        with_facts.insert(en.id());
                    }
                }
            }
            // No tag on a FUNC that is not an extended entry with facts.
            assert!(
                facts.keys().all(|id| with_facts.contains(id)),
                "{}",
                inp.elf.display()
            );
            let t_path = {
                let mut p = t_obj.as_os_str().to_owned();
                p.push(".BTF");
                PathBuf::from(p)
            };
            match common::libbpf_decl_tags(&t_path, base_file.as_deref(), DECL_TAG_ARG_PREFIX) {
                Ok(Ok(lines)) => assert_eq!(lines.len(), tags.len(), "{}", inp.elf.display()),
                Ok(Err(why)) => panic!("{}: libbpf refuses it: {why}", inp.elf.display()),
                Err(why) => notes.push(format!("libbpf not checked: {why}")),
            }
            eprintln!(
                "tagged: {} ({} kf_param tags on {} kfuncs, OBJ.BTF {} -> {} bytes)",
                inp.elf.display(),
                tags.len(),
                facts.len(),
                p_btf.len(),
                t_btf.len()
            );
            tagged_inputs += 1;
        }
        let _ = std::fs::remove_dir_all(&work);
    }
    notes.sort();
    notes.dedup();
    for n in &notes {
        eprintln!("note: {n}");
    }
    eprintln!(
        "--arg-decl-tags on Linux 7.3 captures: {tagged_inputs} with extended sets checked, \
         {unchanged} without them unchanged"
    );
    if tagged_inputs == 0 {
        eprintln!(
            "SKIPPED captured_7_3_inputs_with_arg_decl_tags: no Linux 7.3 capture with extended \
             sets (a patched kernel's btfids-inputs/: cargo xtask kernel --variant patched)"
        );
    }
}
