//! Phase `write`: in place when only `.BTF_ids` (and section header fields) change, else a
//! new file (grown `.BTF` appended, section headers after it) written to a temporary file in
//! the same directory and renamed over the input.

use crate::elf::{ElfFile, Section};
use crate::Error;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

fn align(v: usize, a: usize) -> usize {
    v.div_ceil(a) * a
}

/// A temporary path next to `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.btfids-post.{}.tmp", std::process::id()))
}

/// Write `bytes` to a temporary file beside `path` (same permissions), then rename it over
/// `path`. On any error the temporary file is removed and `path` is untouched.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = temp_path(path);
    let perm = std::fs::metadata(path)
        .map_err(|e| Error::at(path, format!("cannot stat: {e}")))?
        .permissions();
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.set_permissions(perm)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::at(
            path,
            format!("cannot write (via {}): {e}", tmp.display()),
        ));
    }
    Ok(())
}

/// Write the results. Returns whether the file changed.
pub fn write_output(
    path: &Path,
    elf: &ElfFile<'_>,
    ids: &Section<'_>,
    new_ids: &[u8],
    fixes: &[(u64, Vec<u8>)],
    grown_btf: Option<&[u8]>,
) -> Result<bool, Error> {
    let data = elf.data;
    let ids_off = ids.offset as usize;
    let old_ids = &data[ids_off..ids_off + new_ids.len()];
    let mut changes: Vec<(usize, &[u8])> = Vec::new();
    if old_ids != new_ids {
        changes.push((ids_off, new_ids));
    }
    for (off, b) in fixes {
        let off = *off as usize;
        if data.get(off..off + b.len()) != Some(b.as_slice()) {
            changes.push((off, b));
        }
    }
    let Some(btf) = grown_btf else {
        if changes.is_empty() {
            return Ok(false);
        }
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::at(path, format!("cannot open for writing: {e}")))?;
        for (off, b) in changes {
            f.write_all_at(b, off as u64)
                .map_err(|e| Error::at(path, format!("cannot write at {off:#x}: {e}")))?;
        }
        return Ok(true);
    };

    // .BTF grew: append it and a new section header table.
    let btf_sec = elf
        .section_by_name(".BTF")
        .map_err(|e| Error::at(path, e))?
        .ok_or_else(|| Error::at(path, "no .BTF section to grow"))?;
    let mut out = Vec::with_capacity(
        data.len() + btf.len() + elf.sections.len() * elf.shentsize as usize + 16,
    );
    out.extend_from_slice(data);
    for (off, b) in changes {
        out[off..off + b.len()].copy_from_slice(b);
    }
    let shdrs_len = elf.sections.len() * elf.shentsize as usize;
    let old_shoff = elf.shoff as usize;
    let shdrs = out
        .get(old_shoff..old_shoff + shdrs_len)
        .ok_or_else(|| Error::at(path, "section header table beyond the end of the file"))?
        .to_vec();
    // A section header table at the very end (the usual layout) is replaced, not kept as
    // dead bytes; anything else stays where it is.
    if old_shoff + shdrs_len == out.len() {
        out.truncate(old_shoff);
    }
    let btf_off = align(out.len(), 8);
    out.resize(btf_off, 0);
    out.extend_from_slice(btf);
    let new_shoff = align(out.len(), 8);
    out.resize(new_shoff, 0);
    out.extend_from_slice(&shdrs);
    let h = new_shoff + btf_sec.index * elf.shentsize as usize;
    let (o, w) = elf.sh_offset_field();
    out[h + o..h + o + w].copy_from_slice(&elf.word_bytes(btf_off as u64, w));
    let (o, w) = elf.sh_size_field();
    out[h + o..h + o + w].copy_from_slice(&elf.word_bytes(btf.len() as u64, w));
    let (o, w) = elf.e_shoff_field();
    out[o..o + w].copy_from_slice(&elf.word_bytes(new_shoff as u64, w));
    // Re-parse what we are about to write: it must be a valid ELF with this BTF.
    let check = ElfFile::parse(&out)
        .map_err(|e| Error::at(path, format!("internal: rewritten ELF is invalid: {e}")))?;
    let sec = check
        .section_by_name(".BTF")
        .ok()
        .flatten()
        .ok_or_else(|| Error::at(path, "internal: .BTF lost"))?;
    if check.section_data(sec).ok() != Some(btf) {
        return Err(Error::at(path, "internal: rewritten .BTF differs"));
    }
    replace_file(path, &out)?;
    Ok(true)
}
