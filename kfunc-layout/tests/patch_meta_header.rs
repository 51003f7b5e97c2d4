//! The record header that the resolve_btfids patch of the rust series adds
//! (`tools/bpf/resolve_btfids/kfunc_meta.h`) must be exactly `kfunc_layout::c_meta_header()`
//! (`cargo run -q -p kfunc-layout --example c_meta_header`), and no other patch of either
//! series may touch it.

mod common;

use common::patch::{
    file_section, first_difference, new_file_content, new_file_patch, patch_files,
};
use std::fs;
use std::path::{Path, PathBuf};

use kfunc_layout::C_META_HEADER_PATH as HEADER;

fn patches_in(dir: &str) -> Vec<PathBuf> {
    patch_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
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
            let line = first_difference(&in_patch, &generated);
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
    let patch = new_file_patch(HEADER, &gen);
    let section = file_section(&patch, HEADER).unwrap();
    assert_eq!(new_file_content(&section, "synthetic"), gen);
    let changed = patch.replacen("\tu8 nr_args;", "\tu16 nr_args;", 1);
    assert_ne!(changed, patch);
    let section = file_section(&changed, HEADER).unwrap();
    assert_ne!(new_file_content(&section, "synthetic"), gen);
}
