//! `cargo xtask repr-sizes`: what the per-argument facts of a kernel cost in each of the two
//! representations the RFC weighs, computed from `btfids-post audit` tables (the facts that
//! the parameter-name suffixes and KF_RELEASE / KF_RCU / KF_ITER_* imply, per argument):
//!
//! - extended set8 entries: 20 bytes more per kfunc than a legacy `{id, flags}` pair (five
//!   `KF_PARAM_*` words), for every kfunc of an extended set, in `.BTF_ids`; at run time the
//!   same 20 bytes again per kfunc in each hook's merged table;
//! - BTF decl tags on kfunc parameters (`component_idx` = argument): one
//!   `BTF_KIND_DECL_TAG` per (argument, fact) pair, 16 bytes (`struct btf_type` and `struct
//!   btf_decl_tag`), plus each distinct tag string once (`kf_param:<fact>` and its NUL).
//!
//! Computed, not measured on a kernel built with tags.
//!
//! `cargo xtask repr-sizes --measure` measures instead ([`measure`]): each input's
//! gen-btf.sh step is run by `btfids-post` twice, without and with `--arg-decl-tags` (which
//! writes the facts of the extended sets as those decl tags, one per (argument, fact),
//! `kf_param:<fact>`, `component_idx` = argument), on the same ELF and the same pahole
//! BTF; the difference of the two `OBJ.BTF` files is what the tags cost, next to the 20
//! bytes per entry of the same object's extended sets.

use crate::bench::capture;
use crate::flags::ReprSizes;
use kfunc_layout::{ARG_FLAGS, MAX_ARGS, SET8_ARGS_ENTRY_SIZE, SET8_LEGACY_ENTRY_SIZE};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `sizeof(struct btf_type) + sizeof(struct btf_decl_tag)`.
const DECL_TAG_SIZE: usize = 12 + 4;

/// The facts one audit table lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Distinct kfuncs.
    pub kfuncs: usize,
    /// Kfuncs with at least one per-argument fact.
    pub with_facts: usize,
    /// (argument, fact) pairs.
    pub pairs: usize,
    /// Distinct facts (KF_PARAM_* names, the memory-argument field left out).
    pub kinds: BTreeSet<String>,
}

/// Read an audit table: `name [id] flags ...` lines, then `argN ...  => KF_PARAM_A|...`.
pub fn parse(table: &str) -> Facts {
    let mut f = Facts::default();
    let mut seen = BTreeSet::new();
    let mut with = BTreeSet::new();
    let mut cur: Option<&str> = None;
    for l in table.lines() {
        if l.starts_with('#') || l.starts_with("==") {
            continue;
        }
        if !l.starts_with(' ') {
            if let Some((name, rest)) = l.split_once(" [") {
                if rest.contains("] flags") {
                    seen.insert(name);
                    cur = Some(name);
                }
            }
            continue;
        }
        let (Some(k), Some((_, implied))) = (cur, l.split_once("=> ")) else {
            continue;
        };
        let facts: Vec<&str> = implied
            .split_whitespace()
            .next()
            .unwrap_or("")
            .split('|')
            .filter(|x| x.starts_with("KF_PARAM_") && !x.starts_with("KF_PARAM_MEM"))
            .collect();
        if !facts.is_empty() {
            with.insert(k);
        }
        f.pairs += facts.len();
        f.kinds.extend(facts.iter().map(|s| s.to_string()));
    }
    f.kfuncs = seen.len();
    f.with_facts = with.len();
    f
}

/// Bytes of the decl tags for `f`: one tag per pair and each distinct string once.
pub fn decl_tag_bytes(f: &Facts) -> usize {
    let strings: usize = f
        .kinds
        .iter()
        .map(|k| "kf_param:".len() + k.len() - "KF_PARAM_".len() + 1)
        .sum();
    DECL_TAG_SIZE * f.pairs + strings
}

/// Extra bytes of extended set8 entries for `f`: every kfunc in an extended set.
pub fn set8_bytes(f: &Facts) -> usize {
    (SET8_ARGS_ENTRY_SIZE - SET8_LEGACY_ENTRY_SIZE) * f.kfuncs
}

/// `cargo xtask repr-sizes`.
pub fn run(flags: &ReprSizes) -> Result<(), String> {
    if flags.measure {
        return measure(&flags.inputs);
    }
    let mut tables = flags.tables.clone();
    if tables.is_empty() {
        let docs = crate::kernel::repo_root().join("docs");
        let mut v: Vec<PathBuf> = fs::read_dir(&docs)
            .map_err(|e| format!("{}: {e}", docs.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("audit-7.3") && n.ends_with(".txt"))
            })
            .collect();
        v.sort();
        tables = v;
    }
    println!(
        "repr-sizes: {} per-argument fact kinds defined, {MAX_ARGS} argument words per extended entry",
        ARG_FLAGS.len()
    );
    for t in &tables {
        let text = fs::read_to_string(t).map_err(|e| format!("{}: {e}", t.display()))?;
        let f = parse(&text);
        if f.kfuncs == 0 {
            return Err(format!("{}: no kfunc in this audit table", t.display()));
        }
        println!(
            "{}: {} kfuncs, {} with per-argument facts, {} (argument, fact) pairs of {} kinds; \
             extended set8: +{} bytes of .BTF_ids (and as much per hook at run time); \
             decl tags: {} bytes of BTF",
            t.display(),
            f.kfuncs,
            f.with_facts,
            f.pairs,
            f.kinds.len(),
            set8_bytes(&f),
            decl_tag_bytes(&f)
        );
    }
    Ok(())
}

/// Start of btfids-post's `-v` line after `--arg-decl-tags` (`ARG_DECL_TAGS_LINE` of
/// `btfids-post/src/btf2btf.rs`): `kf_param decl tags: N tags on K kfuncs; E entries in
/// extended sets`.
const ARG_DECL_TAGS_LINE: &str = "kf_param decl tags: ";

/// The name [`crate::figures::say`] records [`measure`]'s summary under.
pub const MEASURE_RECORD: &str = "repr-sizes-measure";

/// One input as `scripts/gen-btf.sh` hands it to `RESOLVE_BTFIDS`.
#[derive(Debug)]
struct GenBtfInput {
    /// `name (where)`, for the table.
    label: String,
    /// The ELF (only read).
    elf: PathBuf,
    /// The arguments before the ELF (`--btf FILE`, `-b BASE`, `--distill_base`).
    args: Vec<OsString>,
}

/// What the two runs on one input gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    /// `name (where)`.
    pub label: String,
    /// `OBJ.BTF` bytes without the option.
    pub btf_plain: u64,
    /// `OBJ.BTF` bytes with `--arg-decl-tags`.
    pub btf_tagged: u64,
    /// Decl tags added.
    pub tags: usize,
    /// Kfuncs that got at least one.
    pub kfuncs: usize,
    /// Entries of the object's extended sets.
    pub entries: usize,
}

impl Measured {
    /// The bytes the tags add to `OBJ.BTF`.
    pub fn tag_bytes(&self) -> i64 {
        self.btf_tagged as i64 - self.btf_plain as i64
    }
    /// The bytes the extended entries add to `.BTF_ids` (20 per entry).
    pub fn set8_bytes(&self) -> usize {
        (SET8_ARGS_ENTRY_SIZE - SET8_LEGACY_ENTRY_SIZE) * self.entries
    }
}

/// `N tags on K kfuncs; E entries in extended sets` of btfids-post's `-v` output.
pub fn parse_tags_line(stderr: &str) -> Option<(usize, usize, usize)> {
    let l = stderr
        .lines()
        .find_map(|l| l.strip_prefix(ARG_DECL_TAGS_LINE))?;
    let mut n = l
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty());
    let tags = n.next()?.parse().ok()?;
    let kfuncs = n.next()?.parse().ok()?;
    let entries = n.next()?.parse().ok()?;
    (l.contains(" tags on ") && l.contains(" entries in extended sets"))
        .then_some((tags, kfuncs, entries))
}

/// What [`measure_one`] found.
#[derive(Debug)]
enum Outcome {
    /// Both runs wrote their outputs.
    Measured(Measured),
    /// The plain run succeeded, the one with `--arg-decl-tags` refused the object: its
    /// facts cannot be written as tags (btfids-post's reason).
    Refused(String),
}

/// Run btfids-post on `inp` without and with `--arg-decl-tags`, each in its own directory
/// of `work` holding a symbolic link to the ELF (the outputs go beside it).
fn measure_one(post: &Path, inp: &GenBtfInput, work: &Path) -> Result<Outcome, String> {
    let name = inp.elf.file_name().ok_or("an input without a file name")?;
    let mut sizes = Vec::new();
    let mut line = None;
    for (sub, extra) in [("plain", None), ("tagged", Some("--arg-decl-tags"))] {
        let d = work.join(sub);
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        let obj = d.join(name);
        std::os::unix::fs::symlink(&inp.elf, &obj)
            .map_err(|e| format!("{}: {e}", obj.display()))?;
        let o = Command::new(post)
            .arg("-v")
            .args(extra)
            .args(&inp.args)
            .arg(&obj)
            .output()
            .map_err(|e| format!("{}: {e}", post.display()))?;
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        if !o.status.success() && extra.is_some() {
            let _ = fs::remove_file(&obj);
            let why = stderr.lines().rev().find(|l| !l.trim().is_empty());
            let why = why.unwrap_or("").trim();
            let why = why.split_once("ERROR: ").map_or(why, |(_, w)| w);
            return Ok(Outcome::Refused(why.to_string()));
        }
        if !o.status.success() {
            return Err(format!(
                "{}: btfids-post {}failed: {}",
                inp.label,
                extra.map_or(String::new(), |x| format!("{x} ")),
                stderr.trim()
            ));
        }
        let size = |suffix: &str| {
            let mut p = obj.as_os_str().to_owned();
            p.push(suffix);
            fs::metadata(PathBuf::from(p)).map(|m| m.len()).ok()
        };
        sizes.push((size(".BTF"), size(".BTF_ids"), size(".BTF.base")));
        if extra.is_some() {
            line = Some(parse_tags_line(&stderr).ok_or_else(|| {
                format!(
                    "{}: btfids-post -v --arg-decl-tags printed no `{ARG_DECL_TAGS_LINE}` line \
                     (an old build?)",
                    inp.label
                )
            })?);
        }
        let _ = fs::remove_file(&obj);
    }
    let ((Some(a), ids_a, base_a), (Some(b), ids_b, base_b)) = (sizes[0], sizes[1]) else {
        return Err(format!("{}: no OBJ.BTF written", inp.label));
    };
    if ids_a != ids_b || base_a != base_b {
        return Err(format!(
            "{}: --arg-decl-tags changed the size of OBJ.BTF_ids or OBJ.BTF.base \
             ({ids_a:?} -> {ids_b:?}, {base_a:?} -> {base_b:?})",
            inp.label
        ));
    }
    let (tags, kfuncs, entries) = line.expect("set by the tagged run");
    Ok(Outcome::Measured(Measured {
        label: inp.label.clone(),
        btf_plain: a,
        btf_tagged: b,
        tags,
        kfuncs,
        entries,
    }))
}

/// The Linux 7.3 inputs of a capture directory.
fn capture_inputs(dir: &Path) -> Result<Vec<GenBtfInput>, String> {
    let base = capture::read(dir)?.base;
    let tree = dir
        .parent()
        .filter(|p| p.file_name().is_some_and(|n| n == "linux"))
        .and_then(Path::parent)
        .unwrap_or(dir);
    let what = tree
        .file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
    let mut out = Vec::new();
    for inp in capture::read_detached(dir)? {
        let args = inp.replay_args(base.as_deref()).ok_or_else(|| {
            format!(
                "{}: a module, but no base.vmlinux in its capture",
                inp.elf.display()
            )
        })?;
        let name = inp.elf.file_name().unwrap_or_default().to_string_lossy();
        out.push(GenBtfInput {
            label: format!("{name} ({what}, captured)"),
            elf: inp.elf.clone(),
            args,
        });
    }
    Ok(out)
}

/// The command a module's `.X.ko.cmd` saved (`savedcmd_<target> := <command>`): the target
/// as the command names it, and the command's words.
fn saved_ld_command(cmd_file: &str) -> Option<(String, Vec<String>)> {
    let l = cmd_file.lines().find(|l| l.starts_with("savedcmd_"))?;
    let (lhs, cmd) = l.split_once(" := ")?;
    let target = lhs.strip_prefix("savedcmd_")?.to_string();
    let words: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
    let o = words.iter().position(|w| w == "-o")?;
    (words.get(o + 1) == Some(&target)).then_some((target, words))
}

/// A built module as gen-btf.sh got it: `ko` relinked into `work` by the command its
/// `.ko.cmd` saved (run where Kbuild ran it: the tree for an in-tree module, the module's
/// directory for an external one), then pahole's detached BTF of it as its tree's Kbuild
/// makes it (`PAHOLE_FLAGS` without `-j`), split on the tree's vmlinux; `--distill_base`
/// for an external module, as Kbuild passes it.
fn rebuilt_input(ko: &Path, work: &Path) -> Result<GenBtfInput, String> {
    let name = ko
        .file_name()
        .ok_or_else(|| format!("{}: no file name", ko.display()))?
        .to_string_lossy()
        .into_owned();
    let dir = ko.parent().unwrap_or(Path::new("."));
    let cmd_path = dir.join(format!(".{name}.cmd"));
    let text = fs::read_to_string(&cmd_path).map_err(|e| format!("{}: {e}", cmd_path.display()))?;
    let (target, mut words) = saved_ld_command(&text).ok_or_else(|| {
        format!(
            "{}: no `savedcmd_... := ... -o <target> ...` line",
            cmd_path.display()
        )
    })?;
    let ko_s = ko.to_string_lossy();
    let cwd = ko_s
        .strip_suffix(&target)
        .map(|p| PathBuf::from(if p.is_empty() { "." } else { p }))
        .ok_or_else(|| {
            format!(
                "{}: its saved command writes {target}, not this file",
                cmd_path.display()
            )
        })?;
    let lds = words
        .iter()
        .position(|w| w == "-T")
        .and_then(|i| words.get(i + 1))
        .ok_or_else(|| format!("{}: no -T <module.lds>", cmd_path.display()))?;
    let lds = cwd.join(lds);
    let tree = lds
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{}: no tree above {}", cmd_path.display(), lds.display()))?
        .to_path_buf();
    let vmlinux = tree.join("vmlinux");
    if !vmlinux.exists() {
        return Err(format!("{}: no {}", ko.display(), vmlinux.display()));
    }
    fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let out = work.join(&name);
    let o = words.iter().position(|w| w == "-o").expect("checked");
    words[o + 1] = out.to_string_lossy().into_owned();
    let st = Command::new(&words[0])
        .args(&words[1..])
        .current_dir(&cwd)
        .output()
        .map_err(|e| format!("{}: {e}", words[0]))?;
    if !st.status.success() {
        return Err(format!(
            "relinking {}: {}",
            ko.display(),
            String::from_utf8_lossy(&st.stderr).trim()
        ));
    }
    let env = crate::bench::kbuild_btf_env(&tree)?;
    let var = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let btf1 = work.join(format!("{name}.BTF.1"));
    let st = Command::new(var("PAHOLE"))
        .arg("-J")
        .args(
            var("PAHOLE_FLAGS")
                .split_whitespace()
                .filter(|f| *f != "-j" && !f.starts_with("-j")),
        )
        .arg("--btf_base")
        .arg(&vmlinux)
        .arg(format!("--btf_encode_detached={}", btf1.display()))
        .arg(&out)
        .output()
        .map_err(|e| format!("pahole: {e}"))?;
    if !st.status.success() {
        return Err(format!(
            "pahole on {}: {}",
            out.display(),
            String::from_utf8_lossy(&st.stderr).trim()
        ));
    }
    let external = cwd != tree && !cwd.starts_with(&tree);
    let mut args: Vec<OsString> = Vec::new();
    if external {
        args.push("--distill_base".into());
    }
    args.extend(["-b".into(), vmlinux.into_os_string()]);
    args.extend(["--btf".into(), btf1.into_os_string()]);
    let what = dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tree_name = tree
        .parent()
        .and_then(Path::file_name)
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    Ok(GenBtfInput {
        label: format!("{name} ({what}, against {tree_name}, relinked)"),
        elf: out,
        args,
    })
}

/// The newest directory of `kernel/` (by modification time) whose name starts with
/// `prefix` and that `keep` accepts.
fn newest_kernel_dir(prefix: &str, keep: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let root = crate::kernel::cache_dir("kernel").ok()?;
    fs::read_dir(root)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .filter(|p| p.is_dir() && keep(p))
        .max_by_key(|p| fs::metadata(p).and_then(|m| m.modified()).ok())
}

/// Every `*.ko` below `dir`, sorted.
fn modules_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "ko") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The default inputs (see `cargo xtask repr-sizes --help`), and what was not found.
fn default_inputs() -> (Vec<PathBuf>, Vec<String>) {
    use crate::kernel::{Flavor, Variant};
    let mut v = Vec::new();
    let mut missing = Vec::new();
    let capture = crate::kernel::cached_kernel(Variant::Patched, Flavor::Tiny)
        .map(|kt| kt.tree.join("btfids-inputs"))
        .filter(|d| d.is_dir())
        .or_else(|| {
            newest_kernel_dir("patched-", |d| {
                d.join("stamp").exists() && d.join("linux/btfids-inputs").is_dir()
            })
            .map(|d| d.join("linux/btfids-inputs"))
        });
    match capture {
        Some(c) => v.push(c),
        None => missing.push(
            "no capture of a patched tinyconfig kernel (cargo xtask kernel --variant patched)"
                .to_string(),
        ),
    }
    match newest_kernel_dir("dropin-", |d| d.join("oot").is_dir()) {
        Some(d) => v.extend(modules_below(&d.join("oot"))),
        None => missing.push("no out-of-tree modules of a dropin tree (cargo xtask dropin)".into()),
    }
    let testmod = crate::source::cached_source()
        .and_then(|s| crate::kernel::cache_dir(&format!("regress/{}", s.version)).ok())
        .map(|d| d.join("bpf_testmod-selftests-patched-args/bpf_testmod.ko"))
        .filter(|p| p.exists());
    match testmod {
        Some(t) => v.push(t),
        None => missing
            .push("no bpf_testmod.ko with per-argument flags (cargo xtask progs builds it)".into()),
    }
    (v, missing)
}

/// `cargo xtask repr-sizes --measure`.
pub fn measure(paths: &[PathBuf]) -> Result<(), String> {
    // Only a run on the default inputs is the figure `cargo xtask figures` reads.
    let record = paths.is_empty();
    let say = |line: String| {
        if record {
            crate::figures::say(MEASURE_RECORD, line);
        } else {
            println!("{line}");
        }
    };
    let (paths, missing) = if paths.is_empty() {
        default_inputs()
    } else {
        (paths.to_vec(), Vec::new())
    };
    for m in &missing {
        println!("repr-sizes --measure: left out: {m}");
    }
    if paths.is_empty() {
        return Err("repr-sizes --measure: no input".into());
    }
    let post = crate::bench::build_post()?;
    let work = crate::sample::target_dir().join("repr-sizes-measure");
    let _ = fs::remove_dir_all(&work);
    let mut inputs = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        if p.is_dir() {
            inputs.extend(capture_inputs(p)?);
        } else {
            inputs.push(rebuilt_input(p, &work.join(format!("input-{i}")))?);
        }
    }
    println!(
        "repr-sizes --measure: {} inputs, each through btfids-post ({}) without and with \
         --arg-decl-tags",
        inputs.len(),
        post.display()
    );
    let mut rows = Vec::new();
    let mut unchanged = Vec::new();
    let mut refused = Vec::new();
    for (i, inp) in inputs.iter().enumerate() {
        let m = match measure_one(&post, inp, &work.join(format!("run-{i}")))? {
            Outcome::Measured(m) => m,
            Outcome::Refused(why) => {
                refused.push((inp.label.clone(), why));
                continue;
            }
        };
        if m.entries == 0 {
            if m.tag_bytes() != 0 || m.tags != 0 {
                return Err(format!(
                    "{}: no extended set, yet --arg-decl-tags changed OBJ.BTF ({} -> {} bytes)",
                    m.label, m.btf_plain, m.btf_tagged
                ));
            }
            unchanged.push(m.label);
            continue;
        }
        rows.push(m);
    }
    println!(
        "\n{:>9} {:>7} {:>5} {:>8} {:>6} {:>8} {:>7}  object with extended sets (where)",
        "OBJ.BTF", "+tags", "tags", "strings", "kfuncs", "entries", "+set8"
    );
    for m in &rows {
        println!(
            "{:>9} {:>+7} {:>5} {:>8} {:>6} {:>8} {:>+7}  {}",
            m.btf_plain,
            m.tag_bytes(),
            m.tags,
            m.tag_bytes() - (DECL_TAG_SIZE * m.tags) as i64,
            m.kfuncs,
            m.entries,
            m.set8_bytes(),
            m.label
        );
    }
    println!(
        "(+tags: OBJ.BTF with --arg-decl-tags minus without, measured; strings: +tags minus \
         16 bytes per tag, the kf_param strings new to the object (a module split on a vmlinux \
         built with tags would share those vmlinux has); +set8: 20 bytes per entry of the \
         object's extended sets, each 28 bytes instead of a legacy 8-byte pair)"
    );
    println!(
        "{} object(s) without extended sets: OBJ.BTF unchanged by --arg-decl-tags ({})",
        unchanged.len(),
        unchanged.join(", ")
    );
    for (label, why) in &refused {
        println!("not representable as decl tags, left out of the total: {label}: {why}");
    }
    for m in &rows {
        say(object_line(m));
    }
    say(total_line(&rows, unchanged.len()));
    if !refused.is_empty() {
        say(format!(
            "repr-sizes --measure: {} object(s) whose facts decl tags cannot hold: {}",
            refused.len(),
            refused
                .iter()
                .map(|(l, _)| l.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

/// The record line of one object.
pub fn object_line(m: &Measured) -> String {
    format!(
        "repr-sizes --measure: {}: decl tags {} bytes of BTF ({} tags on {} kfuncs); \
         extended set8 {} bytes ({} entries)",
        m.label,
        m.tag_bytes(),
        m.tags,
        m.kfuncs,
        m.set8_bytes(),
        m.entries
    )
}

/// The record line of the total.
pub fn total_line(rows: &[Measured], unchanged: usize) -> String {
    format!(
        "repr-sizes --measure: total of {} objects with extended sets: decl tags {} bytes of \
         BTF ({} tags on {} kfuncs); extended set8 {} bytes ({} entries); {} objects without \
         extended sets unchanged",
        rows.len(),
        rows.iter().map(Measured::tag_bytes).sum::<i64>(),
        rows.iter().map(|m| m.tags).sum::<usize>(),
        rows.iter().map(|m| m.kfuncs).sum::<usize>(),
        rows.iter().map(Measured::set8_bytes).sum::<usize>(),
        rows.iter().map(|m| m.entries).sum::<usize>(),
        unchanged
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_pairs_and_kinds() {
        let t = "# comment\n== vmlinux set s (Legacy)\n\
                 a [1] flags KF_RELEASE\n    arg0 p: struct x *  => KF_PARAM_RELEASE\n\
                 b [2] flags 0\n    arg0 d: void *  [__sz]\n    arg1 n: int  [__sz]  => KF_PARAM_SIZE|KF_PARAM_MEM(0)\n\
                 c [3] flags 0\n    arg0 q: int\n\
                 a [1] flags KF_RELEASE\n";
        let f = parse(t);
        assert_eq!(
            (f.kfuncs, f.with_facts, f.pairs, f.kinds.len()),
            (3, 2, 2, 2)
        );
        // "kf_param:release\0" (17) + "kf_param:size\0" (14) + 2 tags of 16.
        assert_eq!(decl_tag_bytes(&f), 32 + 17 + 14);
        assert_eq!(set8_bytes(&f), 60);
    }

    #[test]
    fn reads_btfids_posts_tags_line() {
        let e = "collect: x\nkf_param decl tags: 27 tags on 22 kfuncs; 26 entries in extended sets\nwrote y\n";
        assert_eq!(parse_tags_line(e), Some((27, 22, 26)));
        assert_eq!(parse_tags_line("kf_param decl tags: 27 tags\n"), None);
        assert_eq!(parse_tags_line("nothing\n"), None);
    }

    #[test]
    fn reads_a_saved_link_command() {
        let c = "savedcmd_net/ipv4/fou.ko := ld.lld-19 -r -m elf_x86_64 -T ./scripts/module.lds -o net/ipv4/fou.ko net/ipv4/fou.o .module-common.o\n\nsource_x := y\n";
        let (t, w) = saved_ld_command(c).unwrap();
        assert_eq!(t, "net/ipv4/fou.ko");
        assert_eq!(w[0], "ld.lld-19");
        assert_eq!(w.last().unwrap(), ".module-common.o");
        // A command that writes another file is not this module's link.
        assert_eq!(
            saved_ld_command("savedcmd_a.ko := ld -r -o b.ko a.o\n"),
            None
        );
        assert_eq!(saved_ld_command("cmd_a.o := cc -c a.c\n"), None);
    }

    #[test]
    fn measured_bytes() {
        let m = Measured {
            label: "x.ko (t)".into(),
            btf_plain: 1839,
            btf_tagged: 2515,
            tags: 27,
            kfuncs: 22,
            entries: 26,
        };
        assert_eq!((m.tag_bytes(), m.set8_bytes()), (676, 520));
        assert_eq!(
            object_line(&m),
            "repr-sizes --measure: x.ko (t): decl tags 676 bytes of BTF (27 tags on 22 kfuncs); \
             extended set8 520 bytes (26 entries)"
        );
        assert_eq!(
            total_line(&[m.clone(), m], 3),
            "repr-sizes --measure: total of 2 objects with extended sets: decl tags 1352 bytes \
             of BTF (54 tags on 44 kfuncs); extended set8 1040 bytes (52 entries); 3 objects \
             without extended sets unchanged"
        );
    }
}
