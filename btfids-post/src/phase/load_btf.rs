//! Phase `load_btf`: the base BTF (`-b`, or an object's own distilled `.BTF.base`) and the
//! BTF names are resolved against, split on the base when there is one. The files are
//! mapped by the caller, which keeps them as long as the [`Object`] that borrows them.

use crate::btf::{Btf, BtfError};
use crate::io::{btf_bytes, load, Bytes};
use crate::object::Object;
use crate::{Error, Options};
use kfunc_layout::{BTF_BASE_SECTION, BTF_SECTION};
use std::path::Path;

/// A mapped input file and its path.
pub type File<'p> = (&'p Path, Bytes);

/// Map `path`, if given.
pub fn open(path: Option<&Path>) -> Result<Option<File<'_>>, Error> {
    path.map(|p| Ok((p, load(p)?))).transpose()
}

/// Linux 7.3: parse a base BTF file (raw BTF or an ELF's `.BTF`).
pub fn load_base<'a>(path: &Path, bytes: &'a [u8]) -> Result<Btf<'a>, Error> {
    let raw = btf_bytes(path, bytes, BTF_SECTION)?;
    Btf::parse(raw, None).map_err(|e| Error::at(path, format!("FAILED: load base BTF: {e}")))
}

/// Linux 7.3: the object's BTF (`--btf`: raw BTF or an ELF's `.BTF`), split on the base
/// when there is one.
pub fn load_btf<'a>(
    base: Option<(&Path, &'a Btf<'a>)>,
    btf_path: &Path,
    btf_file: &'a [u8],
) -> Result<Btf<'a>, Error> {
    let raw = btf_bytes(btf_path, btf_file, BTF_SECTION)?;
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

fn load_error(base: Option<(&Path, &Btf<'_>)>, btf_path: &Path, e: BtfError) -> Error {
    Error::at(
        btf_path,
        match base {
            Some((bp, _)) => format!("FAILED: load BTF (split on {}): {e}", bp.display()),
            None => format!("FAILED: load BTF: {e}"),
        },
    )
}

/// [`load_btf`] without the checks of every type's names and references
/// ([`Btf::parse_trusted`]); [`check_btf`] makes them (the driver runs it on a second
/// thread while it copies the BTF for modification).
pub fn load_btf_unchecked<'a>(
    base: Option<(&Path, &'a Btf<'a>)>,
    btf_path: &Path,
    btf_file: &'a [u8],
) -> Result<Btf<'a>, Error> {
    let raw = btf_bytes(btf_path, btf_file, BTF_SECTION)?;
    Btf::parse_trusted(raw, base.map(|(_, b)| b)).map_err(|e| load_error(base, btf_path, e))
}

/// The checks [`load_btf_unchecked`] left out ([`Btf::validate`]), with [`load_btf`]'s
/// error.
pub fn check_btf(
    btf: &Btf<'_>,
    base: Option<(&Path, &Btf<'_>)>,
    btf_path: &Path,
) -> Result<(), Error> {
    btf.validate().map_err(|e| load_error(base, btf_path, e))
}

/// Linux 7.3: [`load_btf`] into [`Object::btf`], split on `base` (from `base_file`).
pub fn detached<'a>(
    o: &mut Object<'a>,
    base_file: Option<&Path>,
    base: Option<&'a Btf<'a>>,
    btf_path: &Path,
    btf_file: &'a [u8],
) -> Result<(), Error> {
    let base_ref = base_file.zip(base);
    o.btf = Some(load_btf(base_ref, btf_path, btf_file)?);
    Ok(())
}

/// Linux 6.12: whether the object carries its own distilled base (`.BTF.base`), which
/// then is the base, as libbpf takes it (else `-b`).
pub fn has_own_base(o: &Object<'_>) -> Result<bool, Error> {
    Ok(o.elf
        .section_by_name(BTF_BASE_SECTION)
        .map_err(|e| Error::at(o.path, e))?
        .is_some())
}

/// Linux 6.12: the `-b` file to map, unless the object has its own `.BTF.base`.
pub fn base_path_in_place<'p>(
    o: &Object<'_>,
    opts: &'p Options,
) -> Result<Option<&'p Path>, Error> {
    Ok(match (&opts.base, has_own_base(o)?) {
        (Some(b), false) => Some(b.as_path()),
        _ => None,
    })
}

/// Linux 6.12: the base BTF: the mapped `-b` file's, else the object's own `.BTF.base`.
pub fn base_in_place<'a>(
    o: &Object<'a>,
    base_file: Option<&'a File<'a>>,
) -> Result<Option<Btf<'a>>, Error> {
    let (base_path, raw) = match base_file {
        Some((p, b)) => (*p, btf_bytes(p, b, BTF_SECTION)?),
        None if has_own_base(o)? => (o.path, btf_bytes(o.path, o.elf.data, BTF_BASE_SECTION)?),
        None => return Ok(None),
    };
    Btf::parse(raw, None)
        .map(Some)
        .map_err(|e| Error::at(base_path, format!("FAILED: load base BTF: {e}")))
}

/// Linux 6.12: the BTF into [`Object::btf`]: `--btf`'s (mapped as `btf_file`) or the
/// object's `.BTF`, split on `base`. Returns the path the BTF came from.
pub fn in_place<'a>(
    o: &mut Object<'a>,
    base: Option<&'a Btf<'a>>,
    btf_file: Option<&'a File<'a>>,
) -> Result<&'a Path, Error> {
    let (btf_path, raw) = match btf_file {
        Some((p, b)) => (*p, btf_bytes(p, b, BTF_SECTION)?),
        None => (o.path, btf_bytes(o.path, o.elf.data, BTF_SECTION)?),
    };
    let btf = Btf::parse(raw, base).map_err(|e| {
        Error::at(
            btf_path,
            format!("FAILED: load BTF: section {BTF_SECTION}: {e}"),
        )
    })?;
    o.btf = Some(btf);
    Ok(btf_path)
}
