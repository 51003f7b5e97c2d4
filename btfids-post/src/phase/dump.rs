//! Phase `dump` of the Linux 7.3 flow: `OBJ.BTF_ids` (when the object has `.BTF_ids`),
//! `OBJ.BTF` and `OBJ.BTF.base` (when distilled), named as main.c's `make_out_path()`
//! names them, each written to a temporary file first; they are renamed into place only
//! when all were written.

use crate::phase::write::temp_path;
use crate::Error;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Suffix of the BTF output (`BTF_ELF_SEC`).
pub const OUT_BTF: &str = kfunc_layout::BTF_SECTION;
/// Suffix of the `.BTF_ids` output (`BTF_IDS_SECTION`).
pub const OUT_BTF_IDS: &str = kfunc_layout::BTF_IDS_SECTION;
/// Suffix of the distilled base output (`BTF_BASE_ELF_SEC`), with `--distill_base`.
pub const OUT_BTF_BASE: &str = kfunc_layout::BTF_BASE_SECTION;
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

/// What the phase writes.
#[derive(Debug, Clone, Copy)]
pub struct Outputs<'a> {
    /// The resolved `.BTF_ids` contents (`OBJ.BTF_ids`), when the object has the section.
    pub btf_ids: Option<&'a [u8]>,
    /// The final BTF (`OBJ.BTF`).
    pub btf: &'a [u8],
    /// A temporary file beside `OBJ.BTF` that already holds the final BTF, and its size
    /// (written while the last phases ran, [`write_temp_with`]): renamed into place
    /// instead of writing [`Outputs::btf`].
    pub btf_tmp: Option<(&'a Path, usize)>,
    /// The distilled base BTF (`OBJ.BTF.base`).
    pub btf_base: Option<&'a [u8]>,
}

/// Write `bytes` to a temporary file beside `dest`; returns its path. Removed on error.
pub fn write_temp(dest: &Path, bytes: &[u8]) -> Result<PathBuf, Error> {
    write_temp_with(dest, |f| f.write_all(bytes))
}

/// Write a temporary file beside `dest` with `write`; returns its path. Removed on error.
pub fn write_temp_with(
    dest: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<PathBuf, Error> {
    let tmp = temp_path(dest);
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        write(&mut f)
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

/// Write `outs` beside `obj`; returns the files written, in order, and pushes a debug line
/// for each.
pub fn dump(obj: &Path, outs: Outputs<'_>, debug: &mut Vec<String>) -> Result<Vec<PathBuf>, Error> {
    let mut files: Vec<(PathBuf, &[u8], Option<&Path>, usize)> = Vec::new();
    if let Some(ids) = outs.btf_ids {
        files.push((out_path(obj, OUT_BTF_IDS)?, ids, None, ids.len()));
    }
    let (btf_tmp, btf_len) = match outs.btf_tmp {
        Some((p, n)) => (Some(p), n),
        None => (None, outs.btf.len()),
    };
    files.push((out_path(obj, OUT_BTF)?, outs.btf, btf_tmp, btf_len));
    if let Some(b) = outs.btf_base {
        files.push((out_path(obj, OUT_BTF_BASE)?, b, None, b.len()));
    }
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (dest, bytes, written, _) in &files {
        let t = match written {
            Some(t) => Ok(t.to_path_buf()),
            None => write_temp(dest, bytes),
        };
        match t {
            Ok(t) => temps.push((t, dest.clone())),
            Err(e) => {
                for (t, _) in &temps {
                    let _ = std::fs::remove_file(t);
                }
                if let Some(t) = btf_tmp {
                    let _ = std::fs::remove_file(t);
                }
                return Err(e);
            }
        }
    }
    let mut written = Vec::new();
    for (i, (tmp, dest)) in temps.iter().enumerate() {
        // The old output is removed first: renaming over an existing file makes ext4 (with
        // its default auto_da_alloc) start writing the new one back at once, a few ms for
        // vmlinux's BTF. Readers see the old file, no file, or the whole new one.
        let _ = std::fs::remove_file(dest);
        if let Err(e) = std::fs::rename(tmp, dest) {
            for (t, _) in &temps[i..] {
                let _ = std::fs::remove_file(t);
            }
            return Err(Error::at(
                dest,
                format!("cannot rename {} into place: {e}", tmp.display()),
            ));
        }
        debug.push(format!(
            "Dumped {} bytes of data to {}",
            files[i].3,
            dest.display()
        ));
        written.push(dest.clone());
    }
    Ok(written)
}
