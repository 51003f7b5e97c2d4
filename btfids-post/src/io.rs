//! Reading the input files: a read-only mapping of each, and the BTF bytes of a file that
//! is either raw BTF or an ELF with a BTF section.

use crate::btf::BTF_MAGIC;
use crate::elf::ElfFile;
use crate::Error;
use std::path::Path;

/// File contents: a read-only mapping (or bytes, for tests and small files).
pub enum Bytes {
    /// A mapped file.
    Map(memmap2::Mmap),
    /// Owned bytes.
    Vec(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Map(m) => m,
            Bytes::Vec(v) => v,
        }
    }
}

/// Map a file read-only.
pub fn load(path: &Path) -> Result<Bytes, Error> {
    let f = std::fs::File::open(path).map_err(|e| Error::at(path, format!("cannot open: {e}")))?;
    let len = f
        .metadata()
        .map_err(|e| Error::at(path, format!("cannot stat: {e}")))?
        .len();
    if len == 0 {
        return Ok(Bytes::Vec(Vec::new()));
    }
    // SAFETY: the mapping is read-only and private; the tools that write the file (this one)
    // finish reading before writing.
    let m = unsafe { memmap2::Mmap::map(&f) }
        .map_err(|e| Error::at(path, format!("cannot map: {e}")))?;
    Ok(Bytes::Map(m))
}

/// Read a BTF source: raw BTF (by magic) or the `section` of an ELF.
pub fn btf_bytes<'a>(path: &Path, data: &'a [u8], section: &str) -> Result<&'a [u8], Error> {
    if data.len() >= 2 {
        let m = u16::from_le_bytes([data[0], data[1]]);
        if m == BTF_MAGIC || m.swap_bytes() == BTF_MAGIC {
            return Ok(data);
        }
    }
    let elf = ElfFile::parse(data).map_err(|e| {
        if data.starts_with(b"\x7fELF") {
            Error::at(path, e)
        } else {
            Error::at(
                path,
                "FAILED: load BTF: neither raw BTF (magic 0xeb9f) nor an ELF file",
            )
        }
    })?;
    let sec = elf
        .section_by_name(section)
        .map_err(|e| Error::at(path, e))?
        .ok_or_else(|| Error::at(path, format!("FAILED: load BTF: no {section} section")))?;
    elf.section_data(sec).map_err(|e| Error::at(path, e))
}
