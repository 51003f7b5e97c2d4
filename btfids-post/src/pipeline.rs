//! Linux 6.12's resolve_btfids (the object modified in place), and `check`: [`run`] is its
//! `main()`, the phases of [`crate::phase`] over one [`crate::object::Object`], ending in
//! [`crate::phase::write`] or, for `check`, [`crate::phase::check`].

use crate::btf::Btf;
use crate::elf::{ElfFile, SHF_COMPRESSED};
use crate::io::load;
use crate::object::BTF_IDS_SECTION;
use crate::phase::collect::{self, Compressed};
use crate::phase::{btf2btf, check, load_btf, patch, resolve, write};
use crate::{Error, Options};
use std::path::Path;

/// What a run did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Warnings, in order.
    pub warnings: Vec<String>,
    /// Whether the file was written.
    pub changed: bool,
    /// Whether `.BTF` grew (types added for Rust kfuncs).
    pub btf_grown: bool,
    /// Types added.
    pub types_added: u32,
    /// Problems found (check mode; in write mode they are an error).
    pub problems: Vec<String>,
    /// Debug lines (-v).
    pub debug: Vec<String>,
}

/// Whether [`run`] writes the result or only compares it with the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Resolve and write (the default command).
    Write,
    /// Verify an already processed file; nothing is written.
    Check,
}

/// main.c's `compressed_section_fix`: the `sh_addralign` of every compressed section that
/// does not have the word size, as `(file offset, new bytes)`.
pub fn compressed_section_fix(elf: &ElfFile<'_>) -> Vec<(u64, Vec<u8>)> {
    let mut fixes = Vec::new();
    let expected_align = if elf.is64 { 8 } else { 4 };
    for sec in &elf.sections[1..] {
        if sec.flags & SHF_COMPRESSED != 0 && sec.addralign != expected_align {
            let (o, w) = elf.sh_addralign_field();
            fixes.push((sec.hdr_off + o as u64, elf.word_bytes(expected_align, w)));
        }
    }
    fixes
}

/// The whole Linux 6.12 flow on one file: collect, load_btf, btfgen, resolve, patch, then
/// write (or, in [`Mode::Check`], the differences as problems).
pub fn run(path: &Path, opts: &Options, mode: Mode) -> Result<Outcome, Error> {
    let mut out = Outcome::default();
    // The files and the grown BTF, which the object borrows: declared first, filled as
    // the phases need them.
    let (base_file, base, btf_file, grown_btf);

    let bytes = load(path)?;
    let mut o = collect::elf_collect(path, &bytes, Compressed::Allow)?;
    if o.ids.is_none() {
        out.debug.push(format!(
            "Cannot find {BTF_IDS_SECTION} or symbols sections, nothing to do"
        ));
        return Ok(out);
    }
    collect::symbols_collect(&mut o)?;
    collect::records_collect(&mut o)?;
    collect::sets_collect(&mut o)?;
    out.debug.push(collect::summary(&o, true));

    base_file = load_btf::open(load_btf::base_path_in_place(&o, opts)?)?;
    base = load_btf::base_in_place(&o, base_file.as_ref())?;
    btf_file = load_btf::open(opts.btf.as_deref())?;
    let btf_path = load_btf::in_place(&mut o, base.as_ref(), btf_file.as_ref())?;

    let gen = btf2btf::btfgen_in_place(&o, btf_file.is_some())?;
    out.problems.extend(gen.problems.iter().cloned());
    grown_btf = gen.btf;
    if let Some(g) = &grown_btf {
        out.types_added = gen.types_added;
        o.btf = Some(
            Btf::parse(g, base.as_ref())
                .map_err(|e| Error::at(path, format!("generated BTF: {e}")))?,
        );
    }
    if !gen.generated.is_empty() {
        out.debug.push(format!(
            "btfgen: FUNC + FUNC_PROTO for {} ({} types added)",
            gen.generated.join(", "),
            gen.types_added
        ));
    }

    resolve::symbols_resolve(&mut o, btf_path, &mut out.warnings)?;
    let p = patch::symbols_patch(&o, opts)?;
    out.warnings.extend(p.warnings);
    out.problems.extend(p.errors);
    let fixes = compressed_section_fix(&o.elf);

    match mode {
        Mode::Check => {
            if grown_btf.is_some() {
                out.problems.push(format!(
                    "kfuncs without BTF FUNC: {}",
                    gen.generated.join(", ")
                ));
            }
            if !fixes.is_empty() {
                out.problems
                    .push("compressed sections with a wrong sh_addralign".into());
            }
            out.problems.extend(check::diff_ids(&o, &p.ids));
            Ok(out)
        }
        Mode::Write => {
            if opts.fatal_warnings && !out.warnings.is_empty() {
                return Err(Error::at(
                    path,
                    format!(
                        "{} warning(s) with --fatal_warnings, file left unchanged:\n  {}",
                        out.warnings.len(),
                        out.warnings.join("\n  ")
                    ),
                ));
            }
            if !out.problems.is_empty() {
                return Err(Error::at(
                    path,
                    format!(
                        "{} problem(s), file left unchanged:\n  {}",
                        out.problems.len(),
                        out.problems.join("\n  ")
                    ),
                ));
            }
            out.btf_grown = grown_btf.is_some();
            let ids = &o.ids.as_ref().expect("checked above").section;
            out.changed =
                write::write_output(path, &o.elf, ids, &p.ids, &fixes, grown_btf.as_deref())?;
            Ok(out)
        }
    }
}
