//! `btfids-post`: a drop-in for the kernel's `tools/bpf/resolve_btfids` that also writes
//! the extended set8 layout (per-argument kfunc flags) and builds BTF for Rust kfuncs.
//!
//! Like `resolve_btfids/main.c`, one object and a list of phases: [`object::Object`] (the
//! ELF, `.BTF_ids`, the `__BTF_ID__*` symbols by [`object::IdKind`], the sets, the
//! `.kfunc.meta` records, the BTF), and one module per phase in [`phase`]: collect,
//! load_btf, btf2btf ([`btfgen`] for Rust kfuncs, then [`btf2btf`] on a
//! [`btfmut::MutBtf`]), finalize (dedup, distill, sort by name), resolve, patch, and dump
//! (Linux 7.3) or write (6.12). Set headers and entries are decoded through
//! [`kfunc_layout`].
//!
//! Two drivers, each a short list of phase calls. Linux 7.3's (`scripts/gen-btf.sh`:
//! `--btf OBJ.BTF.1`, results in `OBJ.BTF` and `OBJ.BTF_ids`, then `--patch_btfids`):
//! [`detached`]. Linux 6.12's (the object modified in place, and `check`):
//! [`pipeline::run`]. [`dump`] decodes the sets for `btfids-post dump`; [`io`] maps the
//! input files.

// `u64::is_multiple_of` is newer than the workspace's rust-version (1.82).
#![allow(clippy::manual_is_multiple_of)]

pub mod annotate;
pub mod btf;
pub mod btf2btf;
pub mod btfgen;
pub mod btfmut;
pub mod capture;
pub mod dedup;
pub mod detached;
pub mod dump;
pub mod elf;
pub mod fxhash;
pub mod io;
pub mod object;
pub mod phase;
pub mod pipeline;
pub mod strset;
pub mod timing;

/// Every error: a message naming the file, and the section, symbol or argument concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

impl Error {
    /// An error about `path`.
    pub fn at(path: &std::path::Path, msg: impl std::fmt::Display) -> Self {
        Error(format!("{}: {msg}", path.display()))
    }
}

/// Options of a run (the command line, decoded).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `-v` count.
    pub verbose: u8,
    /// `--btf FILE`: read BTF from this file instead of the ELF.
    pub btf: Option<std::path::PathBuf>,
    /// `-b FILE`: base BTF (vmlinux) for a module's split BTF.
    pub base: Option<std::path::PathBuf>,
    /// `--strict`: an unresolved name is an error.
    pub strict: bool,
    /// `--legacy-set8`: write extended sets as legacy 8-byte pairs.
    pub legacy_set8: bool,
    /// `--fatal_warnings`: any `WARN:` line makes the run fail (nothing is written).
    pub fatal_warnings: bool,
    /// `--distill_base`: distill the base into `OBJ.BTF.base` (Linux 7.3 modules built out
    /// of tree), see [`phase::finalize`].
    pub distill_base: bool,
    /// `--arg-decl-tags`: the Linux 7.3 flow also writes the per-argument facts of the
    /// kfuncs of extended sets as BTF decl tags on their FUNCs ([`btf2btf`]), to measure
    /// that representation; off by default (the output is then resolve_btfids').
    pub arg_decl_tags: bool,
}

/// The error of a run that found problems (listed, one a line): nothing is written.
pub(crate) fn problems(obj: &std::path::Path, list: &[String]) -> Error {
    Error::at(
        obj,
        format!(
            "{} problem(s), nothing written:\n  {}",
            list.len(),
            list.join("\n  ")
        ),
    )
}
