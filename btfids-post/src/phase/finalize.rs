//! Phase `finalize` (main.c's `finalize_btf`): `btf__dedup` of what was added; with
//! `--distill_base` on split BTF, `btf__distill_base` (the distilled base, and the split
//! BTF moved onto it); then the sort by name (`btf__permute`: the kernel binary-searches
//! names).

use crate::btf::Btf;
use crate::btfmut::{Distilled, MutBtf};
use crate::timing::Timer;
use crate::{Error, Options};
use std::path::Path;

/// The final BTF, raw.
#[derive(Debug, Default)]
pub struct Finalized {
    /// The final BTF (`OBJ.BTF`).
    pub btf: Vec<u8>,
    /// The distilled base (`OBJ.BTF.base`), with `--distill_base` and a base.
    pub base: Option<Vec<u8>>,
}

impl Finalized {
    /// Parse the distilled base, if there is one.
    pub fn parse_base(&self, obj: &Path) -> Result<Option<Btf<'_>>, Error> {
        self.base
            .as_deref()
            .map(|raw| {
                Btf::parse_trusted(raw, None).map_err(|e| {
                    Error::at(
                        obj,
                        format!("internal: the distilled base BTF does not parse: {e}"),
                    )
                })
            })
            .transpose()
    }

    /// Parse the final BTF, split on `base` (the distilled one, else the original).
    pub fn parse<'a>(&'a self, base: Option<&'a Btf<'a>>, obj: &Path) -> Result<Btf<'a>, Error> {
        Btf::parse_trusted(&self.btf, base)
            .map_err(|e| Error::at(obj, format!("internal: the final BTF does not parse: {e}")))
    }
}

/// First part: `btf__dedup`; then, for `--distill_base` on split BTF, the first half of
/// `btf__distill_base` (the distilled base).
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

/// The whole phase: [`dedup_and_distill`], [`MutBtf::distill_split`] onto the distilled
/// base, [`MutBtf::sort_by_name`].
pub fn finalize_btf(
    mut btf: MutBtf<'_>,
    opts: &Options,
    obj: &Path,
    t: &mut Timer,
) -> Result<Finalized, Error> {
    let mut plan = dedup_and_distill(&mut btf, opts, obj)?;
    t.lap("dedup");
    let mut out = Finalized {
        base: plan.as_mut().map(|d| std::mem::take(&mut d.base_raw)),
        ..Default::default()
    };
    let new_base = out.parse_base(obj)?;
    let fin = match (&mut plan, &new_base) {
        (Some(d), Some(nb)) => btf
            .distill_split(d, nb)
            .map_err(|e| Error::at(obj, format!("FAILED to distill base BTF: {e}")))?,
        _ => btf,
    };
    t.lap("distill");
    let raw = fin.into_sorted().to_raw();
    t.lap("sort+raw");
    drop(new_base);
    out.btf = raw;
    Ok(out)
}
