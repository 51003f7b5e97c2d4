//! Reading `git format-patch` files, for the tests that check a generated file against the
//! copy a patch adds (`patch_header.rs`, `patch_meta_header.rs`, and kfunc-macros'
//! `in_tree.rs`, which includes this file by path).

#![allow(dead_code)] // each test uses part of it

use std::fs;
use std::path::{Path, PathBuf};

/// The cover letter `cargo xtask series` writes beside each series: no diff, not a patch.
pub const COVER_LETTER: &str = "0000-cover-letter.patch";

/// The `*.patch` files of `dir` but the [`COVER_LETTER`], in application order; panics if
/// there are none.
pub fn patch_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .filter(|p| p.file_name().is_some_and(|n| n != COVER_LETTER))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "{}: no *.patch files", dir.display());
    v
}

/// The lines of the diff section of `path` in a patch, if the patch touches it.
pub fn file_section<'a>(patch: &'a str, path: &str) -> Option<Vec<&'a str>> {
    let start = format!("diff --git a/{path} b/{path}");
    let mut lines = patch.lines();
    lines.by_ref().find(|l| *l == start)?;
    Some(
        lines
            .take_while(|l| !l.starts_with("diff --git ") && *l != "-- ")
            .collect(),
    )
}

/// Every file a patch touches, with the lines of its section (`diff --git` to the next).
pub fn sections(patch: &str) -> Vec<(String, Vec<&str>)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    let mut in_diff = false;
    for l in patch.lines() {
        if let Some(rest) = l.strip_prefix("diff --git a/") {
            let path = rest.split(" b/").next().unwrap_or("").to_string();
            out.push((path, Vec::new()));
            in_diff = true;
        } else if l == "-- " {
            in_diff = false;
        } else if in_diff {
            out.last_mut().unwrap().1.push(l);
        }
    }
    out
}

/// The content of a file that a patch section creates (`new file mode`, one hunk from 0,0);
/// `what` names the patch and file in panics.
pub fn new_file_content(section: &[&str], what: &str) -> String {
    assert!(
        section.iter().any(|l| l.starts_with("new file mode")),
        "{what}: not added as a new file"
    );
    let hunk = section
        .iter()
        .position(|l| l.starts_with("@@ "))
        .unwrap_or_else(|| panic!("{what}: no hunk"));
    let header = section[hunk];
    let count: usize = if header.starts_with("@@ -0,0 +1 @@") {
        1
    } else {
        header
            .strip_prefix("@@ -0,0 +1,")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{what}: unexpected hunk header {header:?}"))
    };
    let body = &section[hunk + 1..];
    assert!(
        body.len() >= count,
        "{what}: hunk says {count} lines, has {}",
        body.len()
    );
    let mut out = String::new();
    for (i, l) in body[..count].iter().enumerate() {
        let text = l
            .strip_prefix('+')
            .unwrap_or_else(|| panic!("{what}: line {} is not an addition", i + 1));
        out.push_str(text);
        out.push('\n');
    }
    if body.get(count) == Some(&"\\ No newline at end of file") {
        out.pop();
    }
    assert!(
        body[count..]
            .iter()
            .all(|l| l.is_empty() || l.starts_with("\\ ")),
        "{what}: more than one hunk"
    );
    out
}

/// The 1-based number of the first line where `a` and `b` differ (one past the shorter if
/// one is a prefix of the other).
pub fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .map_or(a.lines().count().min(b.lines().count()) + 1, |i| i + 1)
}

/// A patch section that adds `path` with content `text` (for testing the reader).
pub fn new_file_patch(path: &str, text: &str) -> String {
    let mut patch = format!(
        "diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{} @@\n",
        text.lines().count()
    );
    for l in text.lines() {
        patch.push('+');
        patch.push_str(l);
        patch.push('\n');
    }
    patch
}
