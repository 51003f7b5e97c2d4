//! Linux 7.3's resolve_btfids, as `scripts/gen-btf.sh` calls it: the BTF comes from a
//! detached file written by pahole (`--btf OBJ.BTF.1`, split on `-b vmlinux` for a
//! module), OBJ is only read, and the results are written beside it, named as main.c's
//! `make_out_path()` names them: `OBJ.BTF` (the final BTF, raw), `OBJ.BTF_ids` (the
//! resolved contents of OBJ's `.BTF_ids` section, only when OBJ has that section and a
//! symbol table) and, with `--distill_base` and a base, `OBJ.BTF.base` (the distilled base
//! `OBJ.BTF` is then split on). gen-btf.sh then links or objcopies `OBJ.BTF` (and
//! `OBJ.BTF.base`) in and copies `OBJ.BTF_ids` over the section with `--patch_btfids`
//! ([`patch_btfids`]).
//!
//! Phases, as in main.c's `main()`: [`collect`] (ELF, `__BTF_ID__*` symbols, sets,
//! `.kfunc.meta` records), [`load_btf`], `btf2btf` ([`crate::btfgen`] for Rust kfuncs, then
//! [`crate::btf2btf`]), [`finalize`] (dedup, distill, sort by name), resolve and patch (the same
//! code as the in-place mode: [`crate::pipeline::resolve`], [`crate::pipeline::patch`]),
//! and [`dump`]. Nothing is written unless every phase succeeded; each output goes to a
//! temporary file in the same directory that is renamed into place.

use crate::btf::Btf;
use crate::btf2btf::{self, Btf2BtfReport};
use crate::btfmut::{Distilled, MutBtf};
use crate::elf::{ElfFile, Section, SHF_COMPRESSED};
use crate::pipeline::{
    btf_bytes, collect_symbols, load, patch, resolve, set_infos, SetInfo, Symbols, BTF_IDS_SECTION,
};
use crate::{btfgen, Error, Options};
use kfunc_layout::{MetaRecord, META_SECTION};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Suffix of the BTF output (`BTF_ELF_SEC`).
pub const OUT_BTF: &str = ".BTF";
/// Suffix of the `.BTF_ids` output (`BTF_IDS_SECTION`).
pub const OUT_BTF_IDS: &str = ".BTF_ids";
/// Suffix of the distilled base output (`BTF_BASE_ELF_SEC`), with `--distill_base`.
pub const OUT_BTF_BASE: &str = ".BTF.base";
/// `PATH_MAX`: main.c's output path buffer (the path and its NUL must fit).
pub const PATH_MAX: usize = 4096;

/// `make_out_path()`: `obj` with `suffix` appended to its name.
pub fn out_path(obj: &Path, suffix: &str) -> Result<PathBuf, Error> {
    let mut s = OsString::from(obj.as_os_str());
    s.push(suffix);
    if s.len() >= PATH_MAX {
        return Err(Error::at(
            obj,
            format!("output path is too long: {}", Path::new(&s).display()),
        ));
    }
    Ok(PathBuf::from(s))
}

/// The `.BTF_ids` part of an object: section, data, symbols and sets.
pub struct IdsInput<'a> {
    /// The section.
    pub section: Section<'a>,
    /// Its data (target byte order).
    pub data: &'a [u8],
    /// Every `__BTF_ID__*` symbol.
    pub syms: Symbols<'a>,
    /// The sets, located (in main.c's order).
    pub sets: Vec<SetInfo<'a>>,
}

/// What phase [`collect`] found in the object.
pub struct Collected<'a> {
    /// The ELF.
    pub elf: ElfFile<'a>,
    /// `.BTF_ids` and its symbols: `None` when the object has no `.BTF_ids` section or no
    /// symbol table (main.c then only processes the BTF).
    pub ids: Option<IdsInput<'a>>,
    /// `#[kfunc]` records of `.kfunc.meta`.
    pub records: Vec<MetaRecord<'a>>,
}

/// Phase `collect` (main.c's `elf_collect` and `symbols_collect`, plus the records).
pub fn collect<'a>(path: &Path, bytes: &'a [u8]) -> Result<Collected<'a>, Error> {
    let elf = ElfFile::parse(bytes).map_err(|e| Error::at(path, e))?;
    let ids_sec = elf
        .section_by_name(BTF_IDS_SECTION)
        .map_err(|e| Error::at(path, e))?
        .cloned();
    let symtab = elf.symtab().map_err(|e| Error::at(path, e))?.cloned();
    let ids = match (ids_sec, symtab) {
        (Some(section), Some(_)) => {
            if section.flags & SHF_COMPRESSED != 0 {
                return Err(Error::at(
                    path,
                    format!("section {BTF_IDS_SECTION} is compressed (SHF_COMPRESSED)"),
                ));
            }
            let data = elf
                .section_data(&section)
                .map_err(|e| Error::at(path, format!("section {BTF_IDS_SECTION}: {e}")))?;
            let syms = collect_symbols(path, &elf, &section)?;
            let sets = set_infos(path, &syms, section.addr, data, elf.endian)?;
            Some(IdsInput {
                section,
                data,
                syms,
                sets,
            })
        }
        _ => None,
    };
    let records = match elf
        .section_by_name(META_SECTION)
        .map_err(|e| Error::at(path, e))?
    {
        Some(sec) => {
            let d = elf.section_data(sec).map_err(|e| Error::at(path, e))?;
            MetaRecord::read_all(d, elf.endian)
                .map_err(|e| Error::at(path, format!("section {META_SECTION}: {e}")))?
        }
        None => Vec::new(),
    };
    Ok(Collected { elf, ids, records })
}

/// Phase `load_btf`: the base (`-b`: raw BTF or an ELF's `.BTF`), then the object's BTF
/// (`--btf`: raw BTF or an ELF's `.BTF`), split on the base when there is one.
pub fn load_btf<'a>(
    base: Option<(&Path, &'a Btf<'a>)>,
    btf_path: &Path,
    btf_file: &'a [u8],
) -> Result<Btf<'a>, Error> {
    let raw = btf_bytes(btf_path, btf_file, ".BTF")?;
    Btf::parse(raw, base.map(|(_, b)| b)).map_err(|e| {
        Error::at(
            btf_path,
            match base {
                Some((bp, _)) => format!("FAILED: load BTF (split on {}): {e}", bp.display()),
                None => format!("FAILED: load BTF: {e}"),
            },
        )
    })
}

/// Parse a base BTF file (raw BTF or an ELF's `.BTF`).
pub fn load_base<'a>(path: &Path, bytes: &'a [u8]) -> Result<Btf<'a>, Error> {
    let raw = btf_bytes(path, bytes, ".BTF")?;
    Btf::parse(raw, None).map_err(|e| Error::at(path, format!("FAILED: load base BTF: {e}")))
}

/// Phase `finalize` (main.c's `finalize_btf`), first part: `btf__dedup`; then, for
/// `--distill_base` on split BTF, the first half of `btf__distill_base` (the distilled base).
/// [`process`] goes on with [`MutBtf::distill_split`] and [`MutBtf::sort_by_name`].
pub fn finalize(
    btf: &mut MutBtf<'_>,
    opts: &Options,
    obj: &Path,
) -> Result<Option<Distilled>, Error> {
    btf.dedup()
        .map_err(|e| Error::at(obj, format!("FAILED to dedup BTF: {e}")))?;
    if !opts.distill_base || btf.base().is_none() {
        return Ok(None);
    }
    btf.distill_base()
        .map(Some)
        .map_err(|e| Error::at(obj, format!("FAILED to distill base BTF: {e}")))
}

/// What [`process`] produced (and [`run_detached`] wrote).
#[derive(Debug, Default)]
pub struct Detached {
    /// The final BTF (`OBJ.BTF`).
    pub btf: Vec<u8>,
    /// The resolved `.BTF_ids` contents (`OBJ.BTF_ids`), when the object has the section.
    pub btf_ids: Option<Vec<u8>>,
    /// The distilled base BTF (`OBJ.BTF.base`), with `--distill_base` and a base.
    pub btf_base: Option<Vec<u8>>,
    /// `WARN:` lines, in main.c's order (btf2btf, resolve, patch).
    pub warnings: Vec<String>,
    /// Debug lines (`-v`).
    pub debug: Vec<String>,
    /// Files written, in order.
    pub written: Vec<PathBuf>,
    /// Types `btfgen` added for Rust kfuncs.
    pub types_added: u32,
    /// Kfuncs that got a `bpf_kfunc` decl tag.
    pub kfuncs: usize,
}

/// Every phase but `dump`: nothing is written.
pub fn process(obj: &Path, opts: &Options) -> Result<Detached, Error> {
    let mut out = Detached::default();
    let btf_path = opts
        .btf
        .as_deref()
        .ok_or_else(|| Error::at(obj, "internal: detached mode without --btf"))?;

    // ---- collect
    let bytes = load(obj)?;
    let c = collect(obj, &bytes)?;
    match &c.ids {
        Some(ids) => out.debug.push(format!(
            "collect: {} struct, {} union, {} typedef, {} func symbols; {} sets; {} .kfunc.meta records",
            ids.syms.nr[0],
            ids.syms.nr[1],
            ids.syms.nr[2],
            ids.syms.nr[3],
            ids.sets.len(),
            c.records.len()
        )),
        None => out.debug.push(format!(
            "Cannot find {BTF_IDS_SECTION} or symbols sections, skip symbols resolution"
        )),
    }

    // ---- load_btf
    let base_bytes = match &opts.base {
        Some(p) => Some((p.as_path(), load(p)?)),
        None => None,
    };
    let base = match &base_bytes {
        Some((p, b)) => Some(load_base(p, b)?),
        None => None,
    };
    let btf_file = load(btf_path)?;
    let base_ref = match (&base_bytes, &base) {
        (Some((p, _)), Some(b)) => Some((*p, b)),
        _ => None,
    };
    let btf0 = load_btf(base_ref, btf_path, &btf_file)?;
    let mut mb = MutBtf::from_btf(&btf0);

    // ---- btf2btf (btfgen for Rust kfuncs first: their FUNCs must exist)
    let gen = btfgen::generate_into(&btf0, &c.records, &mut mb).map_err(|e| Error::at(obj, e))?;
    if !gen.problems.is_empty() {
        return Err(problems(obj, &gen.problems));
    }
    out.types_added = gen.types_added;
    if !gen.generated.is_empty() {
        out.debug.push(format!(
            "btfgen: FUNC + FUNC_PROTO for {} ({} types added)",
            gen.generated.join(", "),
            gen.types_added
        ));
    }
    let mut report = Btf2BtfReport::default();
    if let Some(ids) = &c.ids {
        let kfuncs = btf2btf::collect_kfuncs(
            &mb,
            &ids.syms,
            &ids.sets,
            ids.data,
            c.elf.endian,
            ids.section.addr,
            &mut report,
        )
        .map_err(|e| Error::at(obj, e))?;
        btf2btf::btf2btf(&mut mb, kfuncs, &mut report).map_err(|e| Error::at(obj, e))?;
    }
    out.kfuncs = report.kfuncs.len();
    out.warnings.append(&mut report.warnings);
    out.debug.append(&mut report.debug);

    // ---- finalize: dedup, distill, sort
    let mut plan = finalize(&mut mb, opts, obj)?;
    let distilled_raw = plan
        .as_mut()
        .map(|d| std::mem::take(&mut d.base_raw))
        .unwrap_or_default();
    let new_base = match &plan {
        Some(_) => Some(Btf::parse(&distilled_raw, None).map_err(|e| {
            Error::at(
                obj,
                format!("internal: the distilled base BTF does not parse: {e}"),
            )
        })?),
        None => None,
    };
    let mut fin = match (&mut plan, &new_base) {
        (Some(d), Some(nb)) => mb
            .distill_split(d, nb)
            .map_err(|e| Error::at(obj, format!("FAILED to distill base BTF: {e}")))?,
        _ => mb,
    };
    fin.sort_by_name();
    out.btf = fin.to_raw();
    if new_base.is_some() {
        out.btf_base = Some(distilled_raw.clone());
        out.debug
            .push(format!("distilled base: {} bytes", distilled_raw.len()));
    }
    let final_base = new_base.as_ref().or(base.as_ref());
    let btf = Btf::parse(&out.btf, final_base)
        .map_err(|e| Error::at(obj, format!("internal: the final BTF does not parse: {e}")))?;

    // ---- resolve, patch
    let Some(mut ids) = c.ids else {
        return Ok(out);
    };
    resolve(&mut ids.syms, &btf, &mut out.warnings).map_err(|e| Error::at(btf_path, e))?;
    let p = patch(
        obj,
        &ids.syms,
        &ids.sets,
        &c.records,
        ids.data,
        c.elf.endian,
        ids.section.addr,
        opts,
    )?;
    out.warnings.extend(p.warnings);
    if !p.errors.is_empty() {
        return Err(problems(obj, &p.errors));
    }
    out.btf_ids = Some(p.ids);
    Ok(out)
}

fn problems(obj: &Path, list: &[String]) -> Error {
    Error::at(
        obj,
        format!(
            "{} problem(s), nothing written:\n  {}",
            list.len(),
            list.join("\n  ")
        ),
    )
}

/// Write `bytes` to a temporary file beside `dest`; returns its path. Removed on error.
fn write_temp(dest: &Path, bytes: &[u8]) -> Result<PathBuf, Error> {
    let tmp = crate::write::temp_path(dest);
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::at(
            dest,
            format!("cannot write (via {}): {e}", tmp.display()),
        ));
    }
    Ok(tmp)
}

/// Phase `dump`: `OBJ.BTF_ids` (when there is one), `OBJ.BTF` and `OBJ.BTF.base` (when
/// distilled), each written to a temporary file first; they are renamed into place only
/// when all were written.
pub fn dump(obj: &Path, out: &mut Detached) -> Result<(), Error> {
    let mut files: Vec<(PathBuf, &[u8])> = Vec::new();
    if let Some(ids) = &out.btf_ids {
        files.push((out_path(obj, OUT_BTF_IDS)?, ids));
    }
    files.push((out_path(obj, OUT_BTF)?, &out.btf));
    if let Some(b) = &out.btf_base {
        files.push((out_path(obj, OUT_BTF_BASE)?, b));
    }
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (dest, bytes) in &files {
        match write_temp(dest, bytes) {
            Ok(t) => temps.push((t, dest.clone())),
            Err(e) => {
                for (t, _) in &temps {
                    let _ = std::fs::remove_file(t);
                }
                return Err(e);
            }
        }
    }
    for (i, (tmp, dest)) in temps.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, dest) {
            for (t, _) in &temps[i..] {
                let _ = std::fs::remove_file(t);
            }
            return Err(Error::at(
                dest,
                format!("cannot rename {} into place: {e}", tmp.display()),
            ));
        }
        out.debug.push(format!(
            "Dumped {} bytes of data to {}",
            files[i].1.len(),
            dest.display()
        ));
        out.written.push(dest.clone());
    }
    Ok(())
}

/// The whole 7.3 flow on `obj`: [`process`], then (unless `--fatal_warnings` and there
/// are warnings, an error) [`dump`].
pub fn run_detached(obj: &Path, opts: &Options) -> Result<Detached, Error> {
    let mut out = process(obj, opts)?;
    if opts.fatal_warnings && !out.warnings.is_empty() {
        return Err(Error::at(
            obj,
            format!(
                "{} warning(s) with --fatal_warnings, nothing written:\n  {}",
                out.warnings.len(),
                out.warnings.join("\n  ")
            ),
        ));
    }
    dump(obj, &mut out)?;
    Ok(out)
}

/// `--patch_btfids FILE OBJ` (main.c's `patch_btfids()`): FILE's bytes become the contents
/// of OBJ's `.BTF_ids` section, in place. The sizes must match; on any error OBJ is left
/// as it was. Returns whether OBJ changed (identical contents are not rewritten).
pub fn patch_btfids(blob_path: &Path, obj: &Path) -> Result<bool, Error> {
    let blob =
        std::fs::read(blob_path).map_err(|e| Error::at(blob_path, format!("cannot read: {e}")))?;
    let (offset, size, same) = {
        let bytes = load(obj)?;
        let elf = ElfFile::parse(&bytes).map_err(|e| Error::at(obj, e))?;
        let sec = elf
            .section_by_name(BTF_IDS_SECTION)
            .map_err(|e| Error::at(obj, e))?
            .ok_or_else(|| {
                Error::at(obj, format!("FAILED: section {BTF_IDS_SECTION} not found"))
            })?;
        if sec.flags & SHF_COMPRESSED != 0 {
            return Err(Error::at(
                obj,
                format!("section {BTF_IDS_SECTION} is compressed (SHF_COMPRESSED): not patched"),
            ));
        }
        let data = elf
            .section_data(sec)
            .map_err(|e| Error::at(obj, format!("section {BTF_IDS_SECTION}: {e}")))?;
        if data.len() != blob.len() {
            return Err(Error::at(
                obj,
                format!(
                    "FAILED: size mismatch - section {BTF_IDS_SECTION} is {} bytes, {} is {} bytes; {} left unchanged",
                    data.len(),
                    blob_path.display(),
                    blob.len(),
                    obj.display()
                ),
            ));
        }
        (sec.offset, data.len(), data == blob.as_slice())
    };
    if same {
        return Ok(false);
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(obj)
        .map_err(|e| Error::at(obj, format!("cannot open for writing: {e}")))?;
    f.write_all_at(&blob[..size], offset).map_err(|e| {
        Error::at(
            obj,
            format!("cannot write section {BTF_IDS_SECTION} at {offset:#x}: {e}"),
        )
    })?;
    Ok(true)
}
