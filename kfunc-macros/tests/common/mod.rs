//! Shared by the kernel-mode tests: the proc-macro library of this test run, and checks on
//! the objects built with it.
#![allow(dead_code)]

use kfunc_layout::Endian;
use object::{Object, ObjectSymbol};
use std::path::PathBuf;

/// The proc-macro library cargo built for this test run (next to the test binary).
pub fn proc_macro_so() -> Option<PathBuf> {
    let deps = std::env::current_exe().ok()?.parent()?.to_path_buf();
    std::fs::read_dir(&deps)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libkfunc_macros-") && n.ends_with(".so"))
        })
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
}

/// The byte order of an object.
pub fn endian(file: &object::File<'_>) -> Endian {
    if file.is_little_endian() {
        Endian::Little
    } else {
        Endian::Big
    }
}

/// The symbol `name` of an object; panics naming it when it is missing.
pub fn symbol<'d, 'f>(file: &'f object::File<'d>, name: &str) -> object::Symbol<'d, 'f> {
    file.symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("no symbol {name}"))
}

/// The kfunc `name` is a global definition (exported) in the object.
pub fn assert_exported(file: &object::File<'_>, name: &str) {
    let s = symbol(file, name);
    assert!(s.is_global() && s.is_definition(), "{name} is not exported");
}
