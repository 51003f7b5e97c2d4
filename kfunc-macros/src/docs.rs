//! The crate docs list every keyword of the `kfunc_layout` tables, and no other: the
//! grammar, and a row of the flag tables for each (a new flag in the layout crate cannot
//! stay undocumented).

use crate::grammar;
use kfunc_layout::{ArgFlag, ARG_FLAGS, FUNC_FLAGS};
use std::collections::BTreeSet;

const DOCS: &str = include_str!("lib.rs");

/// The keywords of the grammar production `name := a | b ...` (continued on `|` lines).
fn production(name: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut inside = false;
    for line in DOCS.lines() {
        let Some(l) = line.strip_prefix("//!") else {
            continue;
        };
        let l = l.trim();
        let rest = if let Some(r) = l
            .strip_prefix(name)
            .and_then(|r| r.trim().strip_prefix(":="))
        {
            inside = true;
            r
        } else if inside && l.starts_with('|') {
            l
        } else {
            inside = false;
            continue;
        };
        out.extend(
            rest.split('|')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(String::from),
        );
    }
    out
}

/// The keywords with a row in a flag table (first cell, up to `(`).
fn table_rows() -> BTreeSet<String> {
    DOCS.lines()
        .filter_map(|l| l.strip_prefix("//! | `"))
        .flat_map(|cell| {
            let cell = cell.split(" |").next().unwrap_or("");
            cell.split(" / ")
                .map(|k| {
                    k.trim_matches('`')
                        .split('(')
                        .next()
                        .unwrap_or("")
                        .to_string()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn grammar_lists_every_keyword() {
    let func: BTreeSet<String> = grammar::bare_keywords().map(String::from).collect();
    assert_eq!(production("func_flag"), func);
    let arg: BTreeSet<String> = ArgFlag::ALL
        .iter()
        .filter(|&&f| !grammar::is_size(f))
        .map(|f| f.keyword().to_string())
        .collect();
    assert_eq!(production("arg_flag"), arg);
    let size: BTreeSet<String> = grammar::SIZE
        .iter()
        .map(|f| f.keyword().to_string())
        .collect();
    assert_eq!(production("size_flag"), size);
}

#[test]
fn tables_have_a_row_for_every_flag_and_retired_keyword() {
    let rows = table_rows();
    for f in FUNC_FLAGS.iter().chain(ARG_FLAGS) {
        assert!(rows.contains(f.keyword), "no table row for `{}`", f.keyword);
        assert!(
            DOCS.contains(f.c_name),
            "the docs do not name `{}`",
            f.c_name
        );
    }
    for r in grammar::RETIRED {
        assert!(
            rows.contains(r.keyword.0),
            "no row for retired `{}`",
            r.keyword
        );
    }
}
