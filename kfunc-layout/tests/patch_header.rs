//! The header that `patches/0001-*.patch` adds as `include/linux/btf_kfunc_args.h` must be
//! exactly `kfunc_layout::c_header()` (what `cargo xtask gen-header` prints), and no later
//! patch of the series may change it; copies (`tools/include/linux/btf_kfunc_args.h`) must be
//! identical too.

use std::fs;
use std::path::{Path, PathBuf};

const HEADER: &str = "include/linux/btf_kfunc_args.h";

fn patches() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../patches");
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
fn new_file_content(section: &[&str], patch_name: &str, path: &str) -> String {
    assert!(
        section.iter().any(|l| l.starts_with("new file mode")),
        "{patch_name}: {path} is not added as a new file"
    );
    let hunk = section
        .iter()
        .position(|l| l.starts_with("@@ "))
        .unwrap_or_else(|| panic!("{patch_name}: {path} has no hunk"));
    let header = section[hunk];
    let count: usize = header
        .strip_prefix("@@ -0,0 +1,")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{patch_name}: unexpected hunk header {header:?}"));
    let body = &section[hunk + 1..];
    assert!(
        body.len() >= count,
        "{patch_name}: hunk of {path} says {count} lines, has {}",
        body.len()
    );
    let mut out = String::new();
    for (i, l) in body[..count].iter().enumerate() {
        let text = l
            .strip_prefix('+')
            .unwrap_or_else(|| panic!("{patch_name}: {path} line {} is not an addition", i + 1));
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
        "{patch_name}: {path} has more than one hunk"
    );
    out
}

#[test]
fn first_patch_adds_exactly_the_generated_header() {
    let all = patches();
    let first = &all[0];
    let text = fs::read_to_string(first).unwrap();
    let name = first.file_name().unwrap().to_string_lossy().to_string();
    let section =
        file_section(&text, HEADER).unwrap_or_else(|| panic!("{name} does not add {HEADER}"));
    let in_patch = new_file_content(&section, &name, HEADER);
    let generated = kfunc_layout::c_header();
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
            "{name}: {HEADER} differs from kfunc_layout::c_header() from line {line} on;\n\
             regenerate it with `cargo xtask gen-header` and re-export the series"
        );
    }
}

/// Paths of every `btf_kfunc_args.h` a patch touches (the kernel header and copies of it,
/// such as `tools/include/linux/btf_kfunc_args.h`).
fn header_paths(patch: &str) -> Vec<String> {
    patch
        .lines()
        .filter_map(|l| l.strip_prefix("diff --git a/"))
        .filter_map(|l| l.split(" b/").next())
        .filter(|p| p.ends_with("/btf_kfunc_args.h"))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_copy_is_the_generated_header_and_added_once() {
    let generated = kfunc_layout::c_header();
    let mut seen: Vec<String> = Vec::new();
    for (i, p) in patches().iter().enumerate() {
        let text = fs::read_to_string(p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        for path in header_paths(&text) {
            assert!(
                i > 0 || path == HEADER || path.starts_with("tools/"),
                "{name}: unexpected {path}"
            );
            assert!(
                !seen.contains(&path),
                "{name} changes {path} again: only the patch that adds it may touch it"
            );
            let section = file_section(&text, &path).unwrap();
            assert!(
                new_file_content(&section, &name, &path) == generated,
                "{name}: {path} differs from kfunc_layout::c_header()"
            );
            seen.push(path);
        }
    }
    assert!(seen.iter().any(|p| p == HEADER), "no patch adds {HEADER}");
}

#[test]
fn parser_detects_a_changed_header() {
    // The comparison above must be able to fail: a one-byte change is seen.
    let gen = kfunc_layout::c_header();
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
    assert_eq!(new_file_content(&section, "synthetic", HEADER), gen);
    let changed = patch.replacen("(1 << 0)", "(1 << 1)", 1);
    let section = file_section(&changed, HEADER).unwrap();
    assert_ne!(new_file_content(&section, "synthetic", HEADER), gen);
}
