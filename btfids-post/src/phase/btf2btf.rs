//! Phase `btf2btf`: BTF for Rust kfuncs first ([`crate::btfgen`]: FUNC + FUNC_PROTO for
//! every `.kfunc.meta` record without a FUNC), then, in the Linux 7.3 flow, main.c's
//! rewrites ([`crate::btf2btf`]: decl tags, `_impl` twins, arena attributes) on a
//! modifiable copy of the BTF. The Linux 6.12 flow only grows `.BTF` ([`btfgen_in_place`]).

use crate::btf2btf::{self, Btf2BtfReport};
use crate::btfgen;
use crate::btfmut::MutBtf;
use crate::object::Object;
use crate::Error;

/// What the Linux 7.3 phase made.
pub struct Rewritten<'a> {
    /// The modifiable BTF, with the generated types and the rewrites.
    pub btf: MutBtf<'a>,
    /// Kfuncs that got a FUNC + FUNC_PROTO ([`crate::btfgen`]).
    pub generated: Vec<String>,
    /// Types [`crate::btfgen`] added.
    pub types_added: u32,
    /// Kfuncs, warnings and debug lines of [`crate::btf2btf`].
    pub report: Btf2BtfReport,
}

/// Linux 7.3: [`crate::btfgen::generate_into`], then (with `.BTF_ids`)
/// [`crate::btf2btf::collect_kfuncs`] and [`crate::btf2btf::btf2btf`] (with
/// `arg_decl_tags`, `--arg-decl-tags`: the per-argument facts as decl tags too). Records
/// that disagree with existing FUNCs are an error.
pub fn btf2btf<'a>(o: &Object<'a>, arg_decl_tags: bool) -> Result<Rewritten<'a>, Error> {
    let btf0 = o
        .btf
        .as_ref()
        .ok_or_else(|| Error::at(o.path, "internal: btf2btf before load_btf"))?;
    btf2btf_on(o, MutBtf::from_btf(btf0), arg_decl_tags)
}

/// [`btf2btf()`] on `mb`, the modifiable copy of [`Object::btf`] made beforehand
/// ([`MutBtf::from_btf`], which the Linux 7.3 driver runs while `collect` runs).
pub fn btf2btf_on<'a>(
    o: &Object<'a>,
    mut mb: MutBtf<'a>,
    arg_decl_tags: bool,
) -> Result<Rewritten<'a>, Error> {
    let path = o.path;
    let btf0 = o
        .btf
        .as_ref()
        .ok_or_else(|| Error::at(path, "internal: btf2btf before load_btf"))?;
    let gen = btfgen::generate_into(btf0, &o.records, &mut mb).map_err(|e| Error::at(path, e))?;
    if !gen.problems.is_empty() {
        return Err(crate::problems(path, &gen.problems));
    }
    let mut report = Btf2BtfReport::default();
    if let Some(ids) = &o.ids {
        let kfuncs = btf2btf::collect_kfuncs(
            &mb,
            &o.symbols,
            &o.sets,
            ids.data,
            o.endian(),
            ids.section.addr,
            &mut report,
        )
        .map_err(|e| Error::at(path, e))?;
        btf2btf::btf2btf(&mut mb, kfuncs, arg_decl_tags, &mut report)
            .map_err(|e| Error::at(path, e))?;
    }
    if arg_decl_tags {
        // Also without .BTF_ids (nothing to tag then), so that the line is always there.
        let line = btf2btf::arg_decl_tags_line(&report);
        report.debug.push(line);
    }
    Ok(Rewritten {
        btf: mb,
        generated: gen.generated,
        types_added: gen.types_added,
        report,
    })
}

/// What the Linux 6.12 phase made.
#[derive(Debug, Default)]
pub struct Grown {
    /// The grown `.BTF` (raw), when types were added.
    pub btf: Option<Vec<u8>>,
    /// Kfuncs that got a FUNC + FUNC_PROTO.
    pub generated: Vec<String>,
    /// Types generated (added to `.BTF` only when [`Grown::btf`] is set).
    pub types_added: u32,
    /// Records that disagree with existing FUNCs.
    pub problems: Vec<String>,
}

/// Linux 6.12: [`crate::btfgen::generate`] on the object's BTF. New types can only go into
/// the `.BTF` of a relocatable object (a module), and not when `--btf` names a separate
/// file (`separate_btf`).
pub fn btfgen_in_place(o: &Object<'_>, separate_btf: bool) -> Result<Grown, Error> {
    let path = o.path;
    let btf = o
        .btf
        .as_ref()
        .ok_or_else(|| Error::at(path, "internal: btfgen before load_btf"))?;
    let gen = btfgen::generate(btf, &o.records).map_err(|e| Error::at(path, e))?;
    let mut out = Grown {
        problems: gen.problems.clone(),
        types_added: gen.types_added,
        ..Default::default()
    };
    if let Some(b) = gen.builder.as_ref().filter(|b| b.grown()) {
        if separate_btf {
            return Err(Error::at(
                path,
                "kfuncs need new BTF but --btf names a separate BTF file",
            ));
        }
        if o.elf.e_type != crate::elf::ET_REL {
            return Err(Error::at(
                path,
                format!(
                    "kfuncs {} have no BTF FUNC and .BTF can only grow in a relocatable object (a module)",
                    gen.generated.join(", ")
                ),
            ));
        }
        out.btf = Some(b.finish());
    }
    out.generated = gen.generated;
    Ok(out)
}
