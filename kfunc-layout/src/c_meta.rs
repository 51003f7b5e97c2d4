//! The C definitions of the `#[kfunc]` metadata record ([`c_meta_header`]), for the
//! resolve_btfids patch of the rust series (`patches/rust/*-resolve_btfids-*.patch` adds it
//! as `tools/bpf/resolve_btfids/kfunc_meta.h`; `tests/patch_meta_header.rs` compares).
//!
//! The structs are written from field tables whose offsets are checked against
//! [`META_RET_OFFSET`], [`META_ARGS_OFFSET`], [`META_TYPE_SIZE`] and [`META_HEADER_SIZE`]
//! when the text is generated, so the C layout cannot drift from the Rust one.

use crate::{
    MAX_ARGS, META_ARGS_OFFSET, META_HEADER_SIZE, META_MAGIC, META_RET_OFFSET, META_SECTION,
    META_TYPE_SIZE, META_VERSION, TYPE_F_CONST, TYPE_F_KNOWN_MASK, TYPE_F_MODULE, TYPE_F_SIGNED,
    TYPE_POINTER, TYPE_SCALAR, TYPE_VOID,
};

/// Path of the header in the kernel tree.
pub const C_META_HEADER_PATH: &str = "tools/bpf/resolve_btfids/kfunc_meta.h";

/// One C struct member: declaration (type and name, array suffix included), size in bytes,
/// comment (empty: none).
struct Field {
    decl: &'static str,
    size: usize,
    comment: &'static str,
}

const fn f(decl: &'static str, size: usize, comment: &'static str) -> Field {
    Field {
        decl,
        size,
        comment,
    }
}

/// `struct kfunc_meta_type`, in order.
const TYPE_FIELDS: &[Field] = &[
    f("u32 name_off", 4, "parameter name, 0 for the return value"),
    f(
        "u32 type_off",
        4,
        "C type name; of the pointee for a pointer",
    ),
    f("u8 kind", 1, "KFUNC_META_TYPE_*"),
    f("u8 tflags", 1, "KFUNC_META_F_*"),
    f("u16 reserved", 2, ""),
    f("u32 size", 4, "scalar or module pointee: its size; else 0"),
];

/// `struct kfunc_meta_record` up to the string table, in order.
const RECORD_FIELDS: &[Field] = &[
    f("u32 magic", 4, "KFUNC_META_MAGIC"),
    f("u16 version", 2, "KFUNC_META_VERSION"),
    f("u16 size", 2, "whole record in bytes, a multiple of 4"),
    f("u32 flags", 4, "KF_* function flags"),
    f(
        "u32 arg_flags[KF_MAX_ARGS]",
        4 * MAX_ARGS,
        "KF_PARAM_* per argument",
    ),
    f("u32 name_off", 4, "kfunc name"),
    f("u8 nr_args", 1, ""),
    f("u8 reserved[3]", 3, ""),
    f("struct kfunc_meta_type ret", META_TYPE_SIZE, ""),
    f(
        "struct kfunc_meta_type args[KF_MAX_ARGS]",
        META_TYPE_SIZE * MAX_ARGS,
        "",
    ),
];

/// Offset of the member whose declaration ends in `name` (after the table's earlier ones).
fn offset_of(fields: &[Field], name: &str) -> usize {
    let i = fields
        .iter()
        .position(|x| {
            x.decl
                .split(['[', ' '])
                .nth(1 + usize::from(x.decl.starts_with("struct ")))
                == Some(name)
        })
        .unwrap_or_else(|| panic!("no field {name}"));
    fields[..i].iter().map(|x| x.size).sum()
}

fn size_of(fields: &[Field]) -> usize {
    fields.iter().map(|x| x.size).sum()
}

/// Kernel style: the member, then its comment tab-aligned at column 40 (tabs of 8).
fn members(s: &mut String, fields: &[Field]) {
    for x in fields {
        let decl = format!("\t{};", x.decl);
        if x.comment.is_empty() {
            s.push_str(&decl);
        } else {
            let width = 8 + decl.len() - 1;
            let tabs = 40usize.saturating_sub(width).div_ceil(8).max(1);
            s.push_str(&format!("{decl}{}/* {} */", "\t".repeat(tabs), x.comment));
        }
        s.push('\n');
    }
}

/// `#define NAME<tabs>value`, the value at column 32 when the name allows.
fn define(s: &mut String, name: &str, value: &str) {
    let head = format!("#define {name}");
    let tabs = 32usize.saturating_sub(head.len()).div_ceil(8).max(1);
    s.push_str(&format!("{head}{}{value}\n", "\t".repeat(tabs)));
}

/// The C header with the record layout: section name, magic, version, type kinds and
/// flags, `struct kfunc_meta_type` and `struct kfunc_meta_record`, and their sizes.
///
/// Uses `KF_MAX_ARGS` of `<linux/btf_kfunc_args.h>` ([`crate::c_header`]).
pub fn c_meta_header() -> String {
    // The tables are the layout the Rust side reads and writes.
    assert_eq!(size_of(TYPE_FIELDS), META_TYPE_SIZE);
    assert_eq!(offset_of(RECORD_FIELDS, "ret"), META_RET_OFFSET);
    assert_eq!(offset_of(RECORD_FIELDS, "args"), META_ARGS_OFFSET);
    assert_eq!(size_of(RECORD_FIELDS), META_HEADER_SIZE);
    let magic = META_MAGIC.to_le_bytes().map(char::from);
    let magic: String = magic.iter().collect();

    let mut s = String::new();
    s.push_str("/* SPDX-License-Identifier: GPL-2.0 */\n");
    s.push_str(
        "/*\n * The records #[kfunc] (rust/macros/kfunc) emits into .kfunc.meta: one per\n \
         * Rust kfunc, with its flags, parameter names and C type names, from\n \
         * which resolve_btfids generates the BTF that pahole does not generate\n \
         * for Rust. Records are 4-byte aligned and follow each other; their\n \
         * integers are in the target's byte order, string offsets index the\n \
         * record's string table, whose byte 0 is NUL.\n *\n \
         * Generated from the kfunc-layout crate; do not edit by hand.\n */\n",
    );
    s.push_str("#ifndef _RESOLVE_BTFIDS_KFUNC_META_H\n#define _RESOLVE_BTFIDS_KFUNC_META_H\n\n");
    s.push_str("#include <linux/types.h>\n#include <linux/btf_kfunc_args.h>\n\n");
    define(&mut s, "KFUNC_META_SECTION", &format!("\"{META_SECTION}\""));
    s.push_str(&format!(
        "/* \"{magic}\" in memory on a little-endian target */\n"
    ));
    define(&mut s, "KFUNC_META_MAGIC", &format!("{META_MAGIC:#010x}"));
    define(&mut s, "KFUNC_META_VERSION", &META_VERSION.to_string());
    s.push_str("\n/* Kinds of a type descriptor */\n");
    for (name, v, doc) in [
        ("VOID", TYPE_VOID, "void, only as a return type"),
        ("SCALAR", TYPE_SCALAR, "an integer scalar"),
        (
            "POINTER",
            TYPE_POINTER,
            "a pointer; the type name is the pointee's",
        ),
    ] {
        s.push_str(&format!("/* {doc} */\n"));
        define(&mut s, &format!("KFUNC_META_TYPE_{name}"), &v.to_string());
    }
    s.push_str("\n/* Flags of a type descriptor */\n");
    for (name, v, doc) in [
        ("CONST", TYPE_F_CONST, "the pointee is const"),
        ("SIGNED", TYPE_F_SIGNED, "the scalar is signed"),
        (
            "MODULE",
            TYPE_F_MODULE,
            "the pointee is a type of the module itself, of the given size",
        ),
    ] {
        s.push_str(&format!("/* {doc} */\n"));
        define(
            &mut s,
            &format!("KFUNC_META_F_{name}"),
            &format!("(1 << {})", v.trailing_zeros()),
        );
    }
    define(
        &mut s,
        "KFUNC_META_F_KNOWN_MASK",
        &format!("{TYPE_F_KNOWN_MASK:#x}"),
    );
    s.push_str(&format!(
        "\n/* The return value or one argument ({META_TYPE_SIZE} bytes) */\nstruct kfunc_meta_type {{\n"
    ));
    members(&mut s, TYPE_FIELDS);
    s.push_str(&format!(
        "}};\n\n/* A record: {META_HEADER_SIZE} bytes, then the string table */\nstruct kfunc_meta_record {{\n"
    ));
    members(&mut s, RECORD_FIELDS);
    s.push_str("};\n\n");
    define(&mut s, "KFUNC_META_TYPE_SIZE", &META_TYPE_SIZE.to_string());
    define(
        &mut s,
        "KFUNC_META_HEADER_SIZE",
        &META_HEADER_SIZE.to_string(),
    );
    s.push_str("\n#endif /* _RESOLVE_BTFIDS_KFUNC_META_H */\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_record_layout() {
        let h = c_meta_header();
        assert!(h.contains("#define KFUNC_META_MAGIC\t0x524d464b\n"), "{h}");
        assert!(h.contains("\"KFMR\""));
        assert!(h.contains(&format!("KFUNC_META_HEADER_SIZE\t{META_HEADER_SIZE}")));
        assert_eq!(offset_of(TYPE_FIELDS, "size"), 12);
        assert_eq!(offset_of(RECORD_FIELDS, "name_off"), 32);
        assert_eq!(offset_of(RECORD_FIELDS, "nr_args"), 36);
        for l in h.lines() {
            let cols: usize = l.chars().map(|c| if c == '\t' { 8 } else { 1 }).sum();
            assert!(cols <= 100, "line longer than 100 columns: {l}");
            assert_eq!(l.trim_end(), l, "trailing white space: {l:?}");
        }
    }
}
