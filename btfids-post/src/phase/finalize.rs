//! Phase `finalize` (main.c's `finalize_btf`): `btf__dedup` of what was added; with
//! `--distill_base` on split BTF, `btf__distill_base` (the distilled base, and the split
//! BTF moved onto it); then the sort by name (`btf__permute`: the kernel binary-searches
//! names).

use crate::btf::Btf;
use crate::btfmut::{Distilled, MutBtf};
use crate::{Error, Options};
use std::path::Path;

/// Parse the distilled base (`OBJ.BTF.base`), if `--distill_base` made one.
pub fn parse_distilled_base<'a>(
    raw: Option<&'a [u8]>,
    obj: &Path,
) -> Result<Option<Btf<'a>>, Error> {
    raw.map(|raw| {
        Btf::parse_trusted(raw, None).map_err(|e| {
            Error::at(
                obj,
                format!("internal: the distilled base BTF does not parse: {e}"),
            )
        })
    })
    .transpose()
}

/// `btf__dedup`; then, for `--distill_base` on split BTF, the first half of
/// `btf__distill_base` (the distilled base). The driver ([`crate::detached`]) moves the
/// split BTF onto it with [`MutBtf::distill_split`] and sorts it by name
/// ([`MutBtf::into_sorted`]), streaming the result while resolve and patch run.
pub fn dedup_and_distill(
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
