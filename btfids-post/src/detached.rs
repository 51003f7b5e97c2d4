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
//! [`process`] is main.c's `main()`: the phases of [`crate::phase`] in its order, over one
//! [`Object`]. Nothing is written unless every phase succeeded ([`run_detached`]); each
//! output goes to a temporary file in the same directory that is renamed into place.

use crate::btfmut::MutBtf;
use crate::elf::{ElfFile, SHF_COMPRESSED};
use crate::io::load;
use crate::object::{Object, BTF_IDS_SECTION};
use crate::phase::collect::{self, Compressed};
use crate::phase::{btf2btf, dump, finalize, load_btf, patch, resolve};
use crate::timing::Timer;
use crate::{problems, Error, Options};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// What [`process`] produced (and [`run_detached`] wrote).
#[derive(Debug, Default)]
pub struct Detached {
    /// The final BTF (`OBJ.BTF`); empty when [`run_detached`] had it written to
    /// [`Detached::btf_tmp`] already.
    pub btf: Vec<u8>,
    /// The size of the final BTF.
    pub btf_len: usize,
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
    /// A temporary file beside `OBJ.BTF` already holding [`Detached::btf`] (only from
    /// [`run_detached`], which renames it into place or removes it).
    pub btf_tmp: Option<PathBuf>,
}

/// Phase `collect` as the Linux 7.3 flow runs it: `elf_collect` (a compressed `.BTF_ids`
/// is refused), `symbols_collect`, the sets, the `.kfunc.meta` records.
pub fn collect<'a>(path: &'a Path, bytes: &'a [u8]) -> Result<Object<'a>, Error> {
    let mut o = collect::elf_collect(path, bytes, Compressed::Refuse)?;
    collect::symbols_collect(&mut o)?;
    collect::sets_collect(&mut o)?;
    collect::records_collect(&mut o)?;
    Ok(o)
}

fn collect_debug(o: &Object<'_>) -> String {
    match &o.ids {
        Some(_) => collect::summary(o, false),
        None => {
            format!("Cannot find {BTF_IDS_SECTION} or symbols sections, skip symbols resolution")
        }
    }
}

/// Size of the loaded BTF from which [`process`] runs independent work on other threads.
pub const PARALLEL_BTF_BYTES: usize = 256 << 10;

/// Work run on a scoped thread, or done already (when not worth a thread).
enum Task<'s, T> {
    Thread(std::thread::ScopedJoinHandle<'s, T>),
    Done(T),
}

/// `f` on a thread of `sc` when `parallel`, else right away.
fn task<'s, T: Send + 's>(
    sc: &'s std::thread::Scope<'s, '_>,
    parallel: bool,
    f: impl FnOnce() -> T + Send + 's,
) -> Task<'s, T> {
    if parallel {
        Task::Thread(sc.spawn(f))
    } else {
        Task::Done(f())
    }
}

impl<T> Task<'_, T> {
    /// The result (`panicked()` if the thread panicked).
    fn join(self, panicked: impl FnOnce() -> T) -> T {
        match self {
            Task::Thread(h) => h.join().unwrap_or_else(|_| panicked()),
            Task::Done(v) => v,
        }
    }
}

/// Every phase but `dump`: nothing is written.
pub fn process(obj: &Path, opts: &Options) -> Result<Detached, Error> {
    process_timed(obj, opts, &mut Timer::from_env(), false)
}

/// [`process`]; with `write_early`, the final BTF is written to a temporary file beside
/// `OBJ.BTF` ([`Detached::btf_tmp`]) by a second thread while resolve and patch run
/// (removed again if they fail).
fn process_timed(
    obj: &Path,
    opts: &Options,
    t: &mut Timer,
    write_early: bool,
) -> Result<Detached, Error> {
    let mut out = Detached::default();
    let btf_path = opts
        .btf
        .as_deref()
        .ok_or_else(|| Error::at(obj, "internal: detached mode without --btf"))?;
    // The files and the BTF made on the way, which the object borrows: declared first,
    // filled as the phases need them.
    let (base_file, base, btf_file, base_raw, final_base);

    // collect (the ELF's symbols) runs on a second thread while the BTF is loaded and
    // copied for modification. Errors are reported in main.c's order: collect's first (an
    // input that fails early runs collect alone, to report its error if it has one).
    let bytes = load(obj)?;
    let collect_first = |e: Error| -> Error { collect(obj, &bytes).err().unwrap_or(e) };
    base_file = load_btf::open(opts.base.as_deref()).map_err(collect_first)?;
    base = match &base_file {
        Some((p, b)) => Some(load_btf::load_base(p, b).map_err(collect_first)?),
        None => None,
    };
    btf_file = load(btf_path).map_err(collect_first)?;
    let base_ref = opts.base.as_deref().zip(base.as_ref());
    // Threads pay off for vmlinux's megabytes of BTF, not for a module's few kilobytes (on a
    // busy machine a thread can wait longer for a CPU than its work takes).
    let parallel = btf_file.len() >= PARALLEL_BTF_BYTES;
    let (o, loaded) = std::thread::scope(|sc| {
        let collector = task(sc, parallel, || collect(obj, &bytes));
        // The types' names and references are checked on a third thread meanwhile; the
        // copy does not depend on them (its reads are bounds-checked).
        let loaded = load_btf::load_btf_unchecked(base_ref, btf_path, &btf_file).and_then(|btf| {
            let mb = std::thread::scope(|vs| {
                let checker = task(vs, parallel, || {
                    load_btf::check_btf(&btf, base_ref, btf_path)
                });
                let mb = MutBtf::from_btf(&btf);
                checker
                    .join(|| Err(Error::at(btf_path, "internal: the check panicked")))
                    .map(|()| mb)
            })?;
            Ok((btf, mb))
        });
        let o = collector.join(|| Err(Error::at(obj, "internal: the collect thread panicked")));
        (o, loaded)
    });
    let mut o = o?;
    out.debug.push(collect_debug(&o));
    let (btf, mb) = loaded?;
    o.btf = Some(btf);
    t.lap("collect+load");

    let mut rw = btf2btf::btf2btf_on(&o, mb, opts.arg_decl_tags)?;
    out.types_added = rw.types_added;
    if !rw.generated.is_empty() {
        out.debug.push(format!(
            "btfgen: FUNC + FUNC_PROTO for {} ({} types added)",
            rw.generated.join(", "),
            rw.types_added
        ));
    }
    out.kfuncs = rw.report.kfuncs.len();
    out.warnings.append(&mut rw.report.warnings);
    out.debug.append(&mut rw.report.debug);
    t.lap("btf2btf");

    // Phase finalize: dedup, distill (the split BTF moved onto the distilled base), the
    // sort by name, not copied: the final BTF is streamed to OBJ.BTF's temporary file by a
    // second thread while resolve and patch look its names up.
    let mut btf = rw.btf;
    let mut plan = finalize::dedup_and_distill(&mut btf, opts, obj)?;
    t.lap("dedup");
    base_raw = plan.as_mut().map(|d| std::mem::take(&mut d.base_raw));
    final_base = finalize::parse_distilled_base(base_raw.as_deref(), obj)?;
    let sorted = match (&mut plan, &final_base) {
        (Some(d), Some(nb)) => btf
            .distill_split(d, nb)
            .map_err(|e| Error::at(obj, format!("FAILED to distill base BTF: {e}")))?,
        _ => btf,
    }
    .into_sorted();
    t.lap("distill+sort");
    if let Some(b) = &base_raw {
        out.debug.push(format!("distilled base: {} bytes", b.len()));
    }
    let btf_dest = if write_early {
        Some(dump::out_path(obj, dump::OUT_BTF)?)
    } else {
        None
    };
    let sorted_ref = &sorted;
    let (res, tmp) = std::thread::scope(|sc| {
        let writer = btf_dest.as_deref().map(|d| {
            task(sc, parallel, move || {
                dump::write_temp_with(d, |f| sorted_ref.write_raw(f))
            })
        });
        let res = (|| -> Result<(), Error> {
            if o.ids.is_some() {
                resolve::symbols_resolve_with(&mut o, &sorted, btf_path, &mut out.warnings)?;
                let p = patch::symbols_patch(&o, opts)?;
                out.warnings.extend(p.warnings);
                if !p.errors.is_empty() {
                    return Err(problems(obj, &p.errors));
                }
                out.btf_ids = Some(p.ids);
            }
            t.lap("resolve+patch");
            Ok(())
        })();
        let tmp =
            writer.map(|w| w.join(|| Err(Error::at(obj, "internal: the writer thread panicked"))));
        (res, tmp)
    });
    match (res, tmp) {
        (Ok(()), Some(Ok(p))) => out.btf_tmp = Some(p),
        (Ok(()), Some(Err(e))) => return Err(e),
        (Err(e), tmp) => {
            if let Some(Ok(p)) = tmp {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        (Ok(()), None) => {}
    }
    drop(o);
    out.btf_len = sorted.raw_len();
    if !write_early {
        out.btf = sorted.to_raw();
    }
    drop(sorted);
    drop(final_base);
    out.btf_base = base_raw;
    Ok(out)
}

/// The whole 7.3 flow on `obj`: [`process`], then (unless `--fatal_warnings` and there
/// are warnings, an error) phase [`crate::phase::dump`].
pub fn run_detached(obj: &Path, opts: &Options) -> Result<Detached, Error> {
    let mut t = Timer::from_env();
    let mut out = process_timed(obj, opts, &mut t, true)?;
    if opts.fatal_warnings && !out.warnings.is_empty() {
        if let Some(p) = out.btf_tmp.take() {
            let _ = std::fs::remove_file(p);
        }
        return Err(Error::at(
            obj,
            format!(
                "{} warning(s) with --fatal_warnings, nothing written:\n  {}",
                out.warnings.len(),
                out.warnings.join("\n  ")
            ),
        ));
    }
    let outs = dump::Outputs {
        btf_ids: out.btf_ids.as_deref(),
        btf: &out.btf,
        btf_tmp: out.btf_tmp.as_deref().map(|p| (p, out.btf_len)),
        btf_base: out.btf_base.as_deref(),
    };
    out.written = dump::dump(obj, outs, &mut out.debug)?;
    t.lap("dump");
    Ok(out)
}

/// `--patch_btfids FILE OBJ` (main.c's `patch_btfids()`): FILE's bytes become the contents
/// of OBJ's `.BTF_ids` section, in place. The sizes must match; on any error OBJ is left
/// as it was. Returns whether OBJ changed (identical contents are not rewritten).
pub fn patch_btfids(blob_path: &Path, obj: &Path) -> Result<bool, Error> {
    let blob =
        std::fs::read(blob_path).map_err(|e| Error::at(blob_path, format!("cannot read: {e}")))?;
    if let Some(done) = patch_btfids_pread(&blob, obj) {
        return done;
    }
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

/// Where `.BTF_ids` is in an ELF file, read with a few `pread`s (the ELF header, the
/// section headers, the section name table) instead of mapping the file: `(sh_offset,
/// sh_size, sh_flags, sh_type)`. `None` for anything but one plain `.BTF_ids` section of a
/// well-formed file (the mapped path then finds it or says what is wrong).
fn btf_ids_section_pread(f: &std::fs::File) -> Option<(u64, u64, u64, u32)> {
    let len = f.metadata().ok()?.len();
    let mut eh = [0u8; 64];
    f.read_exact_at(&mut eh, 0).ok()?;
    if &eh[..4] != b"\x7fELF" {
        return None;
    }
    let is64 = match eh[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let le = match eh[5] {
        1 => true,
        2 => false,
        _ => return None,
    };
    let u = |b: &[u8], off: usize, w: usize| -> Option<u64> {
        let b = b.get(off..off + w)?;
        let mut v = 0u64;
        for i in 0..w {
            let byte = u64::from(if le { b[w - 1 - i] } else { b[i] });
            v = (v << 8) | byte;
        }
        Some(v)
    };
    let (shoff, shentsize, shnum, shstrndx) = if is64 {
        (
            u(&eh, 0x28, 8)?,
            u(&eh, 0x3a, 2)?,
            u(&eh, 0x3c, 2)?,
            u(&eh, 0x3e, 2)?,
        )
    } else {
        (
            u(&eh, 0x20, 4)?,
            u(&eh, 0x2e, 2)?,
            u(&eh, 0x30, 2)?,
            u(&eh, 0x32, 2)?,
        )
    };
    let min_ent = if is64 { 64 } else { 40 };
    if shnum == 0 || shstrndx == 0 || shstrndx >= shnum || shentsize < min_ent {
        return None;
    }
    let table_len = shentsize.checked_mul(shnum)?;
    if shoff.checked_add(table_len)? > len {
        return None;
    }
    let mut sh = vec![0u8; table_len as usize];
    f.read_exact_at(&mut sh, shoff).ok()?;
    // (name, type, flags, offset, size) of section i.
    let hdr = |i: u64| -> Option<(u64, u32, u64, u64, u64)> {
        let b = sh.get((i * shentsize) as usize..)?;
        Some(if is64 {
            (
                u(b, 0, 4)?,
                u(b, 4, 4)? as u32,
                u(b, 8, 8)?,
                u(b, 24, 8)?,
                u(b, 32, 8)?,
            )
        } else {
            (
                u(b, 0, 4)?,
                u(b, 4, 4)? as u32,
                u(b, 8, 4)?,
                u(b, 16, 4)?,
                u(b, 20, 4)?,
            )
        })
    };
    let (_, _, _, str_off, str_size) = hdr(shstrndx)?;
    if str_size > 1 << 20 || str_off.checked_add(str_size)? > len {
        return None;
    }
    let mut names = vec![0u8; str_size as usize];
    f.read_exact_at(&mut names, str_off).ok()?;
    let mut found = None;
    for i in 1..shnum {
        let (name, ty, flags, off, size) = hdr(i)?;
        let n = names.get(name as usize..)?;
        let n = std::ffi::CStr::from_bytes_until_nul(n).ok()?.to_bytes();
        if n == BTF_IDS_SECTION.as_bytes() {
            if found.is_some() {
                return None;
            }
            found = Some((off, size, flags, ty));
        }
    }
    let (off, size, flags, ty) = found?;
    (ty != object::elf::SHT_NOBITS && off.checked_add(size)? <= len)
        .then_some((off, size, flags, ty))
}

/// [`patch_btfids`] without mapping OBJ, for the usual case (see
/// [`btf_ids_section_pread`]): `None` when that does not find the section or the sizes
/// differ (the mapped path then reports it).
fn patch_btfids_pread(blob: &[u8], obj: &Path) -> Option<Result<bool, Error>> {
    let f = std::fs::File::open(obj).ok()?;
    let (offset, size, flags, _) = btf_ids_section_pread(&f)?;
    if flags & SHF_COMPRESSED != 0 || size != blob.len() as u64 {
        return None;
    }
    let mut cur = vec![0u8; blob.len()];
    f.read_exact_at(&mut cur, offset).ok()?;
    if cur == blob {
        return Some(Ok(false));
    }
    drop(f);
    let res = std::fs::OpenOptions::new()
        .write(true)
        .open(obj)
        .map_err(|e| Error::at(obj, format!("cannot open for writing: {e}")))
        .and_then(|f| {
            f.write_all_at(blob, offset).map_err(|e| {
                Error::at(
                    obj,
                    format!("cannot write section {BTF_IDS_SECTION} at {offset:#x}: {e}"),
                )
            })
        });
    Some(res.map(|()| true))
}
