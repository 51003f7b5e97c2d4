//! The record header that the resolve_btfids patch of the rust series adds
//! (`tools/bpf/resolve_btfids/kfunc_meta.h`) must be exactly `kfunc_layout::c_meta_header()`
//! (`cargo run -q -p kfunc-layout --example c_meta_header`), and no other patch of either
//! series may touch it.

use std::fs;
use std::path::{Path, PathBuf};

use kfunc_layout::C_META_HEADER_PATH as HEADER;

fn patches_in(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "{}: no *.patch files", dir.display());
    v
}

/// The lines of the diff section of `path` in a patch, if the patch touches it.
fn file_section<'a>(patch: &'a str, path: &str) -> Option<Vec<&'a str>> {
    let start = format!("diff --git a/{path} b/{path}");
    let mut lines = patch.lines();
    lines.by_ref().find(|l| *l == start)?;
    Some(
        lines
            .take_while(|l| !l.starts_with("diff --git ") && *l != "-- ")
            .collect(),
    )
}

/// The content of a file that a patch section creates (`new file`, one hunk from 0,0).
fn new_file_content(section: &[&str], what: &str) -> String {
    assert!(
        section.iter().any(|l| l.starts_with("new file mode")),
        "{what}: not added as a new file"
    );
    let hunk = section
        .iter()
        .position(|l| l.starts_with("@@ "))
        .unwrap_or_else(|| panic!("{what}: no hunk"));
    let header = section[hunk];
    let count: usize = header
        .strip_prefix("@@ -0,0 +1,")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{what}: unexpected hunk header {header:?}"));
    let body = &section[hunk + 1..];
    assert!(body.len() >= count, "{what}: hunk says {count} lines");
    let mut out = String::new();
    for (i, l) in body[..count].iter().enumerate() {
        let text = l
            .strip_prefix('+')
            .unwrap_or_else(|| panic!("{what}: line {} is not an addition", i + 1));
        out.push_str(text);
        out.push('\n');
    }
    assert!(
        body[count..]
            .iter()
            .all(|l| l.is_empty() || l.starts_with("\\ ")),
        "{what}: more than one hunk"
    );
    out
}

#[test]
fn resolve_btfids_patch_adds_exactly_the_generated_record_header() {
    let generated = kfunc_layout::c_meta_header();
    let mut found = Vec::new();
    for p in patches_in("../patches")
        .into_iter()
        .chain(patches_in("../patches/rust"))
    {
        let text = fs::read_to_string(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some(section) = file_section(&text, HEADER) else {
            continue;
        };
        let in_patch = new_file_content(&section, &format!("{name}: {HEADER}"));
        if in_patch != generated {
            let line = in_patch
                .lines()
                .zip(generated.lines())
                .position(|(a, b)| a != b)
                .map_or_else(
                    || in_patch.lines().count().min(generated.lines().count()) + 1,
                    |i| i + 1,
                );
            panic!(
                "{name}: {HEADER} differs from kfunc_layout::c_meta_header() from line {line} \
                 on; regenerate it with `cargo run -q -p kfunc-layout --example c_meta_header` \
                 and re-export the rust series (patches/rust/README.md)"
            );
        }
        // Added by the resolve_btfids patch, and there only.
        assert!(
            text.lines()
                .any(|l| l.starts_with("Subject: ") && l.contains("resolve_btfids")),
            "{name} adds {HEADER} but is not the resolve_btfids patch"
        );
        found.push(name);
    }
    assert_eq!(
        found.len(),
        1,
        "exactly one patch must add {HEADER}: {found:?}"
    );
}

#[test]
fn parser_detects_a_changed_record_header() {
    let gen = kfunc_layout::c_meta_header();
    let mut patch = format!(
        "diff --git a/{HEADER} b/{HEADER}\nnew file mode 100644\n--- /dev/null\n+++ b/{HEADER}\n@@ -0,0 +1,{} @@\n",
        gen.lines().count()
    );
    for l in gen.lines() {
        patch.push('+');
        patch.push_str(l);
        patch.push('\n');
    }
    let section = file_section(&patch, HEADER).unwrap();
    assert_eq!(new_file_content(&section, "synthetic"), gen);
    let changed = patch.replacen("\tu8 nr_args;", "\tu16 nr_args;", 1);
    assert_ne!(changed, patch);
    let section = file_section(&changed, HEADER).unwrap();
    assert_ne!(new_file_content(&section, "synthetic"), gen);
}
