//! The phases, one module each, in the order of `main()` of Linux 7.3's
//! `tools/bpf/resolve_btfids/main.c`, every one reading and filling one
//! [`crate::object::Object`]:
//!
//! | main.c | module |
//! |---|---|
//! | `elf_collect`, `symbols_collect` | [`collect`] (also the sets and `.kfunc.meta` records) |
//! | `load_btf` | [`load_btf`] |
//! | `btf2btf` | [`btf2btf`] (BTF for Rust kfuncs first) |
//! | `finalize_btf` | [`finalize`] |
//! | `symbols_resolve` | [`resolve`] |
//! | `symbols_patch` | [`patch`] |
//! | `dump` | [`dump`] (Linux 7.3 outputs) |
//!
//! The Linux 6.12 flow ends with [`write`](mod@write) (the object in place) or, for `check`,
//! [`check`] (what would change). The drivers are [`crate::detached`] (7.3) and
//! [`crate::pipeline`] (6.12).

pub mod btf2btf;
pub mod check;
pub mod collect;
pub mod dump;
pub mod finalize;
pub mod load_btf;
pub mod patch;
pub mod resolve;
pub mod write;
