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

use crate::flags::ReprSizes;
use kfunc_layout::{ARG_FLAGS, MAX_ARGS, SET8_ARGS_ENTRY_SIZE, SET8_LEGACY_ENTRY_SIZE};
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

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
}
