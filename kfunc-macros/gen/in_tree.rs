//! The in-tree copy of the macros: `rust/macros/kfunc.rs` and `rust/macros/kfunc/*.rs` of
//! the Linux tree (the first patch of `patches/rust/`), made from this crate's sources.
//!
//! Shared by `cargo xtask gen-rust-macros` (which writes the files into a kernel tree) and
//! `kfunc-macros/tests/in_tree.rs` (which fails if the patch holds anything else):
//! `#[path]`-included by both, it needs only `std` and `kfunc_layout`.
//!
//! - [`SHARED`] sources are copied byte for byte: they reach each other and the layout as
//!   `super::...`, which is the crate root here and `crate::kfunc` in the kernel.
//! - `layout.rs` is generated: every name this crate's `src/layout.rs` re-exports from
//!   `kfunc_layout`, defined with its value and its documentation (the kernel's macros
//!   crate can use only syn, quote and proc-macro2).
//! - `kfunc.rs`, the module root, declares the modules and the two entry points.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The sources copied verbatim, as `rust/macros/kfunc/<name>.rs`.
pub const SHARED: &[&str] = &[
    "ast", "attr", "check", "ctxt", "entry", "expand", "grammar", "parse", "symbol", "types",
    "validate",
];

/// Where the module lives in the kernel tree.
pub const TREE_DIR: &str = "rust/macros/kfunc";
/// Its root.
pub const TREE_ROOT: &str = "rust/macros/kfunc.rs";

/// One generated file: its path in the kernel tree and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path relative to the top of the kernel tree.
    pub path: String,
    /// Contents.
    pub text: String,
}

fn read(p: &Path) -> Result<String, String> {
    fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// Every file of the in-tree module, made from the crate at `crate_dir` (`kfunc-macros/`)
/// and the `kfunc-layout` crate beside it (for the documentation of the constants).
pub fn generate(crate_dir: &Path) -> Result<Vec<File>, String> {
    let src = crate_dir.join("src");
    let mut files = vec![File {
        path: TREE_ROOT.to_string(),
        text: root(),
    }];
    for name in SHARED {
        let text = read(&src.join(format!("{name}.rs")))?;
        let bad = ["use crate::", "(crate::", "`crate::", "kfunc_layout"];
        if let Some(b) = bad.iter().find(|b| text.contains(*b)) {
            return Err(format!(
                "src/{name}.rs has `{b}`: the shared sources reach each other and the \
                 layout as `super::...` (they are `crate::kfunc::...` in the kernel)"
            ));
        }
        files.push(File {
            path: format!("{TREE_DIR}/{name}.rs"),
            text,
        });
    }
    let layout_src = crate_dir.join("../kfunc-layout/src/lib.rs");
    files.push(File {
        path: format!("{TREE_DIR}/layout.rs"),
        text: layout(&read(&src.join("layout.rs"))?, &read(&layout_src)?)?,
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Write the files under the kernel tree `tree`; the paths written.
pub fn write(crate_dir: &Path, tree: &Path) -> Result<Vec<PathBuf>, String> {
    if !tree.join("rust/macros/lib.rs").exists() {
        return Err(format!(
            "{}: not a kernel tree (no rust/macros/lib.rs)",
            tree.display()
        ));
    }
    let mut out = Vec::new();
    for f in generate(crate_dir)? {
        let p = tree.join(&f.path);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        fs::write(&p, &f.text).map_err(|e| format!("{}: {e}", p.display()))?;
        out.push(p);
    }
    Ok(out)
}

/// `rust/macros/kfunc.rs`.
fn root() -> String {
    let mut mods: Vec<&str> = SHARED.iter().copied().chain(["layout"]).collect();
    mods.sort_unstable();
    let mut s = String::from(
        "// SPDX-License-Identifier: GPL-2.0

//! BPF kfuncs with per-argument flags: the implementation of [`macro@crate::kfunc`] and
//! [`crate::kfunc_set!`].
//!
//! `#[kfunc(...)]` parses the flags ([`parse`]), reads the signature ([`ast`]), resolves the
//! flags against it ([`attr`]) and checks every rule ([`check`]), reporting all errors at
//! once ([`ctxt`]); a valid kfunc is exported with the C ABI, with its flags in a hidden
//! constant and a metadata record in `.kfunc.meta` ([`expand`]). `kfunc_set!` emits an
//! extended kfunc set (`include/linux/btf_kfunc_args.h`) in `.BTF_ids`, reading the flags
//! of its kfuncs from their constants. [`layout`] holds the numbers of that header.
//!
//! These files are the sources of the `kfunc-macros` crate of the per-argument kfunc flags
//! prototype, which also builds them for userspace tests; `layout.rs` is generated from its
//! `kfunc-layout` crate (`cargo xtask gen-rust-macros` writes this directory).

",
    );
    for m in mods {
        let _ = writeln!(s, "mod {m};");
    }
    s.push_str(
        "
use proc_macro2::TokenStream;

/// `#[kfunc(attr)] item`.
pub(crate) fn kfunc(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::kfunc(attr, item, expand::nothing)
}

/// `kfunc_set!(input)`.
pub(crate) fn kfunc_set(input: TokenStream) -> TokenStream {
    entry::kfunc_set(input)
}
",
    );
    s
}

/// The names `src/layout.rs` re-exports from `kfunc_layout`, in its order.
fn reexports(layout_rs: &str) -> Result<Vec<String>, String> {
    let start = layout_rs
        .find("pub(crate) use kfunc_layout::{")
        .ok_or("src/layout.rs: no `pub(crate) use kfunc_layout::{...};`")?;
    let rest = &layout_rs[start + "pub(crate) use kfunc_layout::{".len()..];
    let end = rest
        .find("};")
        .ok_or("src/layout.rs: unterminated use list")?;
    Ok(rest[..end]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect())
}

/// The `///` lines right above `pub const NAME` (or `pub const fn NAME`) in `kfunc_layout`,
/// with intra-doc links made plain code (their targets are not all in the copy).
fn doc_of(layout_src: &str, item: &str) -> Result<Vec<String>, String> {
    let lines: Vec<&str> = layout_src.lines().collect();
    let at = lines
        .iter()
        .position(|l| {
            l.starts_with(&format!("pub const {item}:"))
                || l.starts_with(&format!("pub const fn {item}("))
        })
        .ok_or_else(|| format!("kfunc-layout/src/lib.rs: no `pub const {item}`"))?;
    let mut doc: Vec<String> = lines[..at]
        .iter()
        .rev()
        .take_while(|l| l.starts_with("///"))
        .map(|l| l.replace("[`", "`").replace("`]", "`"))
        .collect();
    doc.reverse();
    Ok(doc)
}

/// The type and value of the constant `name` of `kfunc_layout`, as Rust source.
fn constant(name: &str) -> Option<(&'static str, String)> {
    use kfunc_layout as kl;
    let hex = |v: u32| format!("{v:#x}");
    Some(match name {
        "MAX_ARGS" => ("usize", kl::MAX_ARGS.to_string()),
        "BTF_SET8_ARGS_HEADER_FLAGS" => ("u32", hex(kl::BTF_SET8_ARGS_HEADER_FLAGS)),
        "BTF_SET8_KFUNCS" => ("u32", hex(kl::BTF_SET8_KFUNCS)),
        "BTF_SET8_KFUNC_ARGS" => ("u32", hex(kl::BTF_SET8_KFUNC_ARGS)),
        "SET8_ARGS_VERSION" => ("u32", kl::SET8_ARGS_VERSION.to_string()),
        "SET8_HEADER_SIZE" => ("usize", kl::SET8_HEADER_SIZE.to_string()),
        "SET8_ARGS_ENTRY_SIZE" => ("usize", kl::SET8_ARGS_ENTRY_SIZE.to_string()),
        "KF_PARAM_MEM_SHIFT" => ("u32", kl::KF_PARAM_MEM_SHIFT.to_string()),
        "KF_PARAM_MEM_MASK" => ("u32", hex(kl::KF_PARAM_MEM_MASK)),
        "META_SECTION" => ("&str", format!("{:?}", kl::META_SECTION)),
        "META_MAGIC" => ("u32", hex(kl::META_MAGIC)),
        "META_VERSION" => ("u16", kl::META_VERSION.to_string()),
        "META_HEADER_SIZE" => ("usize", kl::META_HEADER_SIZE.to_string()),
        "META_TYPE_SIZE" => ("usize", kl::META_TYPE_SIZE.to_string()),
        "META_RET_OFFSET" => ("usize", kl::META_RET_OFFSET.to_string()),
        "META_ARGS_OFFSET" => ("usize", kl::META_ARGS_OFFSET.to_string()),
        "TYPE_VOID" => ("u8", kl::TYPE_VOID.to_string()),
        "TYPE_SCALAR" => ("u8", kl::TYPE_SCALAR.to_string()),
        "TYPE_POINTER" => ("u8", kl::TYPE_POINTER.to_string()),
        "TYPE_F_CONST" => ("u8", hex(kl::TYPE_F_CONST.into())),
        "TYPE_F_SIGNED" => ("u8", hex(kl::TYPE_F_SIGNED.into())),
        "TYPE_F_MODULE" => ("u8", hex(kl::TYPE_F_MODULE.into())),
        _ => return None,
    })
}

/// The type and value of `pub const NAME: TYPE = VALUE;` of `kfunc_layout` written on one
/// line with a literal value (a string, a number, or `1 << n`), as Rust source.
fn literal_constant(layout_src: &str, name: &str) -> Option<(&'static str, String)> {
    let rest = layout_src
        .lines()
        .find_map(|l| l.strip_prefix(&format!("pub const {name}: ")))?;
    let (ty, value) = rest.strip_suffix(';')?.split_once(" = ")?;
    let ty = ["&str", "u8", "u16", "u32", "usize"]
        .into_iter()
        .find(|t| *t == ty)?;
    let literal = |v: &str| {
        v.bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'x' || b == b'_')
            && v.starts_with(|c: char| c.is_ascii_digit())
    };
    let is_literal = (value.starts_with('"')
        && value.ends_with('"')
        && !value[1..value.len() - 1].contains(['"', '\\']))
        || literal(value)
        || value
            .split_once(" << ")
            .is_some_and(|(a, b)| literal(a) && literal(b));
    is_literal.then(|| (ty, value.to_string()))
}

/// `text` in lines of at most `width` columns, broken at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let cur = lines.last_mut().unwrap();
        if !cur.is_empty() && cur.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
    }
    lines
}

fn push_doc(s: &mut String, doc: &[String], indent: &str) {
    for l in doc {
        let _ = writeln!(s, "{indent}{l}");
    }
}

/// An enum of flags over a table of `kfunc_layout` (as its `flags!` makes them).
fn flag_enum(s: &mut String, name: &str, table: &str, doc: &str, defs: &[kfunc_layout::FlagDef]) {
    let variants: Vec<String> = defs
        .iter()
        .map(|d| {
            d.keyword
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let _ = writeln!(s, "/// {doc}, in bit order.");
    let _ = writeln!(s, "pub(crate) const {table}: &[FlagDef] = &[");
    for d in defs {
        let suffix = match d.suffix {
            Some(x) => format!("Some({x:?})"),
            None => "None".to_string(),
        };
        let _ = writeln!(s, "    FlagDef {{");
        let _ = writeln!(s, "        keyword: {:?},", d.keyword);
        let _ = writeln!(s, "        value: {:#x},", d.value);
        let _ = writeln!(s, "        suffix: {suffix},");
        let _ = writeln!(s, "    }},");
    }
    let _ = writeln!(s, "];\n");
    let _ = writeln!(s, "/// {doc}, by name:");
    let _ = writeln!(s, "/// variant `i` is entry `i` of [`{table}`].");
    let _ = writeln!(s, "#[derive(Debug, Clone, Copy, PartialEq, Eq)]");
    let _ = writeln!(s, "pub(crate) enum {name} {{");
    for (v, d) in variants.iter().zip(defs) {
        let text = format!("`{}` (`{}`): {}.", d.keyword, d.c_name, d.doc);
        for l in wrap(&text, 100 - "    /// ".len()) {
            let _ = writeln!(s, "    /// {l}");
        }
        let _ = writeln!(s, "    {v},");
    }
    let _ = writeln!(s, "}}\n");
    let _ = writeln!(s, "impl {name} {{");
    let _ = writeln!(s, "    /// Every flag, in the order of [`{table}`].");
    let _ = writeln!(s, "    pub(crate) const ALL: &'static [{name}] = &[");
    for v in &variants {
        let _ = writeln!(s, "        {name}::{v},");
    }
    let _ = writeln!(s, "    ];\n");
    let _ = writeln!(
        s,
        "    /// The flag's entry in [`{table}`].
    pub(crate) const fn def(self) -> &'static FlagDef {{
        &{table}[self as usize]
    }}

    /// The flag's bit.
    pub(crate) const fn value(self) -> u32 {{
        self.def().value
    }}

    /// The flag's `#[kfunc(...)]` keyword.
    pub(crate) const fn keyword(self) -> &'static str {{
        self.def().keyword
    }}

    /// The flag written `keyword` in `#[kfunc(...)]`, if there is one.
    pub(crate) fn from_keyword(keyword: &str) -> Option<Self> {{
        Self::ALL.iter().copied().find(|f| f.keyword() == keyword)
    }}
}}
"
    );
}

/// `rust/macros/kfunc/layout.rs`: every name `layout_rs` (`src/layout.rs`) re-exports.
fn layout(layout_rs: &str, layout_src: &str) -> Result<String, String> {
    let mut s = String::from(
        "// SPDX-License-Identifier: GPL-2.0

//! The numbers of `include/linux/btf_kfunc_args.h` and of the `#[kfunc]` metadata record
//! that the macros write, and the tables of the `#[kfunc(...)]` keywords.
//!
//! Generated from the `kfunc-layout` crate of the per-argument kfunc flags prototype, which
//! also generates that header (`cargo xtask gen-rust-macros`); do not edit.

",
    );
    let mut tables = String::new();
    let mut consts = String::new();
    let mut flag_def = false;
    for name in reexports(layout_rs)? {
        match name.as_str() {
            "FuncFlag" => {
                flag_def = true;
                flag_enum(
                    &mut tables,
                    "FuncFlag",
                    "FUNC_FLAGS",
                    "Function flags (`KF_*` of `include/linux/btf.h`)",
                    kfunc_layout::FUNC_FLAGS,
                );
            }
            "ArgFlag" => {
                flag_def = true;
                flag_enum(
                    &mut tables,
                    "ArgFlag",
                    "ARG_FLAGS",
                    "Per-argument flags (`KF_PARAM_*` of `include/linux/btf_kfunc_args.h`)",
                    kfunc_layout::ARG_FLAGS,
                );
            }
            "kf_arg_mem" => {
                push_doc(&mut consts, &doc_of(layout_src, "kf_arg_mem")?, "");
                let _ = writeln!(
                    consts,
                    "pub(crate) const fn kf_arg_mem(m: u32) -> u32 {{\n    (m & {:#x}) << {}\n}}\n",
                    kfunc_layout::KF_PARAM_MEM_MASK,
                    kfunc_layout::KF_PARAM_MEM_SHIFT
                );
            }
            other => {
                let (ty, value) = constant(other)
                    .or_else(|| literal_constant(layout_src, other))
                    .ok_or_else(|| {
                        format!(
                            "src/layout.rs re-exports `{other}`, which is neither a literal \
                             constant of kfunc-layout nor known to `constant()` of \
                             kfunc-macros/gen/in_tree.rs: add it there"
                        )
                    })?;
                push_doc(&mut consts, &doc_of(layout_src, other)?, "");
                let _ = writeln!(consts, "pub(crate) const {other}: {ty} = {value};");
            }
        }
    }
    s.push_str(&consts);
    if flag_def {
        s.push_str(
            "
/// A flag of `#[kfunc(...)]`: its keyword, its bit, and the argument-name suffix of the
/// verifier it replaces, if any.
#[derive(Debug)]
pub(crate) struct FlagDef {
    /// The attribute keyword.
    pub(crate) keyword: &'static str,
    /// The bit value.
    pub(crate) value: u32,
    /// The argument-name suffix this flag replaces (`\"__nullable\"`).
    pub(crate) suffix: Option<&'static str>,
}

",
        );
        s.push_str(&tables);
    }
    while s.ends_with("\n\n") {
        s.pop();
    }
    Ok(s)
}
