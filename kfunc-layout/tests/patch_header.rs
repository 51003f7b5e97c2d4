//! The header that `patches/0001-*.patch` adds as `include/linux/btf_kfunc_args.h` must be
//! exactly `kfunc_layout::c_header()` (what `cargo xtask gen-header` prints), and no later
//! patch of the series may change it; copies (`tools/include/linux/btf_kfunc_args.h`) must be
//! identical too.

mod common;

use common::patch::{
    file_section, first_difference, new_file_content, new_file_patch, patch_files,
};
use std::fs;
use std::path::{Path, PathBuf};

const HEADER: &str = "include/linux/btf_kfunc_args.h";

fn patches() -> Vec<PathBuf> {
    patch_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../patches"))
}

#[test]
fn first_patch_adds_exactly_the_generated_header() {
    let all = patches();
    let first = &all[0];
    let text = fs::read_to_string(first).unwrap();
    let name = first.file_name().unwrap().to_string_lossy().to_string();
    let section =
        file_section(&text, HEADER).unwrap_or_else(|| panic!("{name} does not add {HEADER}"));
    let in_patch = new_file_content(&section, &format!("{name}: {HEADER}"));
    let generated = kfunc_layout::c_header();
    if in_patch != generated {
        let line = first_difference(&in_patch, &generated);
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
                new_file_content(&section, &format!("{name}: {path}")) == generated,
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
    let patch = new_file_patch(HEADER, &gen);
    let section = file_section(&patch, HEADER).unwrap();
    assert_eq!(new_file_content(&section, "synthetic"), gen);
    let changed = patch.replacen("(1 << 0)", "(1 << 1)", 1);
    let section = file_section(&changed, HEADER).unwrap();
    assert_ne!(new_file_content(&section, "synthetic"), gen);
}

/// The cover letter `cargo xtask series` writes as `0000-cover-letter.patch` is not the first
/// patch: the reader leaves it out (and the tests above read the real first patch).
#[test]
fn reader_leaves_out_the_cover_letter() {
    let dir = std::env::temp_dir().join(format!("kfa-cover-test-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for f in [common::patch::COVER_LETTER, "0001-a.patch", "README.md"] {
        fs::write(dir.join(f), "x").unwrap();
    }
    let got = patch_files(&dir);
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(got, [dir.join("0001-a.patch")]);
}
