//! The in-tree copy of the macros (`rust/macros/kfunc.rs`, `rust/macros/kfunc/*.rs`) that
//! the first patch of `patches/rust/` adds is exactly what `cargo xtask gen-rust-macros`
//! writes: this crate's shared sources, byte for byte, and `layout.rs` generated from
//! `kfunc-layout`. No later patch of the series may change those files.
//!
//! After changing a shared source or the layout: `cargo xtask gen-rust-macros <tree>` in a
//! kernel tree with the series applied, amend the first rust patch, `git format-patch`
//! (patches/rust/README.md).

#[path = "../gen/in_tree.rs"]
#[allow(dead_code)] // `write` is the xtask command's
mod in_tree;

#[path = "../../kfunc-layout/tests/common/patch.rs"]
mod patch;

use patch::{first_difference, new_file_content, patch_files, sections};
use std::fs;
use std::path::{Path, PathBuf};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_patches() -> Vec<PathBuf> {
    patch_files(&crate_dir().join("../patches/rust"))
}

fn is_in_tree_module(path: &str) -> bool {
    path == in_tree::TREE_ROOT || path.starts_with(&format!("{}/", in_tree::TREE_DIR))
}

#[test]
fn first_rust_patch_adds_exactly_the_generated_module() {
    let generated = in_tree::generate(crate_dir()).unwrap();
    let patches = rust_patches();
    let first = fs::read_to_string(&patches[0]).unwrap();
    let first_name = patches[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let in_patch: Vec<(String, String)> = sections(&first)
        .into_iter()
        .filter(|(p, _)| is_in_tree_module(p))
        .map(|(p, lines)| {
            let text = new_file_content(&lines, &format!("{first_name}: {p}"));
            (p, text)
        })
        .collect();
    let gen_paths: Vec<&str> = generated.iter().map(|f| f.path.as_str()).collect();
    let patch_paths: Vec<&str> = in_patch.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        patch_paths, gen_paths,
        "{first_name} must add exactly the files `cargo xtask gen-rust-macros` writes"
    );
    let mut stale = Vec::new();
    for (f, (_, text)) in generated.iter().zip(&in_patch) {
        if &f.text != text {
            let line = first_difference(&f.text, text);
            stale.push(format!("{} (first difference at line {line})", f.path));
        }
    }
    assert!(
        stale.is_empty(),
        "{first_name} is stale: {}; regenerate with `cargo xtask gen-rust-macros <tree>` \
         (patches/rust/README.md)",
        stale.join(", ")
    );
}

#[test]
fn no_later_patch_touches_the_generated_module() {
    for p in rust_patches().iter().skip(1) {
        let text = fs::read_to_string(p).unwrap();
        for (path, _) in sections(&text) {
            assert!(
                !is_in_tree_module(&path),
                "{}: changes {path}, which the first patch generates",
                p.display()
            );
        }
    }
}

/// The generated layout defines each value the shared sources use with the value
/// `kfunc_layout` has (the text is checked against the patch above; this checks the
/// generator).
#[test]
fn generated_layout_has_the_layout_values() {
    let files = in_tree::generate(crate_dir()).unwrap();
    let layout = &files
        .iter()
        .find(|f| f.path.ends_with("/layout.rs"))
        .unwrap()
        .text;
    for (line, want) in [
        (
            "pub(crate) const MAX_ARGS: usize =",
            kfunc_layout::MAX_ARGS.to_string(),
        ),
        (
            "pub(crate) const BTF_SET8_ARGS_HEADER_FLAGS: u32 =",
            format!("{:#x}", kfunc_layout::BTF_SET8_ARGS_HEADER_FLAGS),
        ),
        (
            "pub(crate) const SET8_ARGS_ENTRY_SIZE: usize =",
            kfunc_layout::SET8_ARGS_ENTRY_SIZE.to_string(),
        ),
        (
            "pub(crate) const META_SECTION: &str =",
            format!("{:?}", kfunc_layout::META_SECTION),
        ),
    ] {
        assert!(
            layout.contains(&format!("{line} {want};")),
            "layout.rs lacks `{line} {want};`"
        );
    }
    for f in kfunc_layout::ARG_FLAGS
        .iter()
        .chain(kfunc_layout::FUNC_FLAGS)
    {
        assert!(
            layout.contains(&format!(
                "keyword: {:?},\n        value: {:#x},",
                f.keyword, f.value
            )),
            "layout.rs lacks the entry of `{}`",
            f.keyword
        );
    }
    // Every shared source is copied as it is.
    for name in in_tree::SHARED {
        let src = fs::read_to_string(crate_dir().join(format!("src/{name}.rs"))).unwrap();
        let copy = files
            .iter()
            .find(|f| f.path == format!("{}/{name}.rs", in_tree::TREE_DIR))
            .unwrap();
        assert_eq!(copy.text, src, "{name}.rs is not copied verbatim");
    }
}

/// Each `#[kfunc(...)]` line with the signature after it, and the `kfunc_set!` entries.
fn kfunc_decls(text: &str) -> (Vec<String>, Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let decls = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("#[kfunc"))
        .map(|(i, l)| format!("{l}\n{}", lines.get(i + 1).unwrap_or(&"")))
        .collect();
    let start = text.find("kfunc_set!(").expect("a kfunc_set!");
    let end = start + text[start..].find(");").expect("kfunc_set! closed");
    let set = text[start..end]
        .split(['[', ']'])
        .nth(1)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    (decls, set)
}

/// The in-tree sample (`samples/rust/rust_kfunc.rs`, added by the last rust patch) declares
/// the kfuncs of `kernel-sample/kfunc_sample.rs` with the same flags and signatures, in the
/// same set: it covers every per-argument flag the out-of-tree sample does, and the BPF
/// selftests written for one fit the other.
#[test]
fn in_tree_sample_mirrors_kernel_sample() {
    let path = "samples/rust/rust_kfunc.rs";
    let mut in_tree = None;
    for p in rust_patches() {
        let text = fs::read_to_string(&p).unwrap();
        for (f, lines) in sections(&text) {
            if f == path {
                in_tree = Some(new_file_content(&lines, &format!("{}: {f}", p.display())));
            }
        }
    }
    let in_tree = in_tree.unwrap_or_else(|| panic!("no rust patch adds {path}"));
    let sample = fs::read_to_string(crate_dir().join("../kernel-sample/kfunc_sample.rs")).unwrap();
    let (a, set_a) = kfunc_decls(&in_tree);
    let (b, set_b) = kfunc_decls(&sample);
    assert_eq!(
        a, b,
        "{path} and kernel-sample/kfunc_sample.rs declare other kfuncs"
    );
    assert_eq!(set_a, set_b, "the kfunc sets differ");
    assert!(a.len() >= 20, "only {} kfuncs found", a.len());
}
