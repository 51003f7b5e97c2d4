//! `btfids-post dump`: every set of an object and its entries, decoded (entries through
//! [`kfunc_layout`]), named from the object's BTF when it can be read.

use crate::btf::{Btf, KIND_FUNC, KIND_FUNC_PROTO};
use crate::elf::ElfFile;
use crate::io::{btf_bytes, load};
use crate::object::{IdsSection, Layout, Object, BTF_IDS_SECTION};
use crate::phase::collect;
use crate::{Error, Options};
use kfunc_layout::{
    describe_arg_flags, describe_flags, BTF_BASE_SECTION, BTF_SECTION, FUNC_FLAGS, MAX_ARGS,
};
use serde::Serialize;
use std::path::Path;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One argument of a dumped entry.
#[derive(Debug, Serialize)]
pub struct ArgDump {
    /// Argument index.
    pub index: usize,
    /// Parameter name from BTF (empty if unknown).
    pub name: String,
    /// Raw flags.
    pub flags: u32,
    /// Decoded flags.
    pub decoded: String,
}

/// One dumped entry.
#[derive(Debug, Serialize)]
pub struct EntryDump {
    /// BTF id.
    pub id: u32,
    /// Name of the BTF type with that id.
    pub name: String,
    /// Function flags (set8 only).
    pub flags: Option<u32>,
    /// Decoded function flags.
    pub flags_decoded: Option<String>,
    /// Per-argument flags (extended sets only).
    pub args: Vec<ArgDump>,
}

/// One dumped set.
#[derive(Debug, Serialize)]
pub struct SetDump {
    /// Set name.
    pub name: String,
    /// Layout.
    pub layout: Layout,
    /// Offset in `.BTF_ids`.
    pub offset: usize,
    /// `cnt` as stored.
    pub cnt: u32,
    /// Header flags (set8).
    pub header_flags: u32,
    /// Entries as stored.
    pub entries: Vec<EntryDump>,
}

/// Decode every set of an ELF.
pub fn dump(path: &Path, opts: &Options) -> Result<Vec<SetDump>, Error> {
    let bytes = load(path)?;
    let elf = ElfFile::parse(&bytes).map_err(|e| Error::at(path, e))?;
    let Some(section) = elf
        .section_by_name(BTF_IDS_SECTION)
        .map_err(|e| Error::at(path, e))?
        .cloned()
    else {
        return Ok(Vec::new());
    };
    let data = elf.section_data(&section).map_err(|e| Error::at(path, e))?;
    let mut o = Object::new(path, elf);
    o.ids = Some(IdsSection { section, data });
    collect::symbols_collect(&mut o)?;
    collect::sets_collect(&mut o)?;
    let elf = &o.elf;
    // A distilled base in the object (`.BTF.base`, Linux 7.3 out-of-tree modules) is the
    // base its `.BTF` is split on, as libbpf takes it; else `-b`.
    let own_base = elf
        .section_by_name(BTF_BASE_SECTION)
        .map_err(|e| Error::at(path, e))?
        .is_some();
    let base_bytes = match (&opts.base, own_base) {
        (Some(b), false) => Some(load(b)?),
        _ => None,
    };
    let base = match (&opts.base, &base_bytes) {
        (Some(p), Some(b)) => {
            Some(Btf::parse(btf_bytes(p, b, BTF_SECTION)?, None).map_err(|e| Error::at(p, e))?)
        }
        _ if own_base => Some(
            Btf::parse(btf_bytes(path, &bytes, BTF_BASE_SECTION)?, None)
                .map_err(|e| Error::at(path, format!("section {BTF_BASE_SECTION}: {e}")))?,
        ),
        _ => None,
    };
    // Names are a convenience: without usable BTF (e.g. a module without -b) entries are
    // still dumped, unnamed.
    let btf = btf_bytes(path, &bytes, BTF_SECTION)
        .ok()
        .and_then(|raw| Btf::parse(raw, base.as_ref()).ok());
    let e = elf.endian;
    let mut out = Vec::new();
    for st in &o.sets {
        let stored = st.stored_cnt(data, e).unwrap_or(0) as usize;
        let n = stored.min(st.cnt);
        let mut entries = Vec::new();
        for i in 0..n {
            let entry = st.entry(data, i, e);
            let id = entry.map_or(0, |en| en.id());
            let bty = btf.as_ref().and_then(|b| b.ty(id).map(|t| (b, t)));
            let name = bty.map_or(String::new(), |(b, t)| b.name(t.name_off));
            let pnames: Vec<String> = match bty {
                Some((b, t)) if t.kind() == KIND_FUNC => b
                    .ty(t.size_type)
                    .filter(|p| p.kind() == KIND_FUNC_PROTO)
                    .map(|p| p.params().map(|(n, _)| b.name(n)).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            let flags = entry.and_then(|en| en.flags());
            let mut args = Vec::new();
            if let Some(arg_flags) = entry.and_then(|en| en.arg_flags()) {
                for (a, &v) in arg_flags.iter().enumerate().take(MAX_ARGS) {
                    if v != 0 || a < pnames.len() {
                        args.push(ArgDump {
                            index: a,
                            name: pnames.get(a).cloned().unwrap_or_default(),
                            flags: v,
                            decoded: describe_arg_flags(v),
                        });
                    }
                }
            }
            entries.push(EntryDump {
                id,
                name,
                flags,
                flags_decoded: flags.map(|f| describe_flags(FUNC_FLAGS, f)),
                args,
            });
        }
        out.push(SetDump {
            name: s(st.name),
            layout: st.layout,
            offset: st.off,
            cnt: stored as u32,
            header_flags: st.header_flags,
            entries,
        });
    }
    out.sort_by_key(|a| a.offset);
    Ok(out)
}

/// Text form of a dump.
pub fn dump_text(sets: &[SetDump]) -> String {
    let mut o = String::new();
    for st in sets {
        o.push_str(&format!(
            "set {} ({:?}) at {:#x}: cnt {}, header flags {:#x}\n",
            st.name, st.layout, st.offset, st.cnt, st.header_flags
        ));
        for en in &st.entries {
            o.push_str(&format!(
                "  [{}] {}",
                en.id,
                if en.name.is_empty() { "?" } else { &en.name }
            ));
            if let Some(f) = &en.flags_decoded {
                o.push_str(&format!("  flags {f}"));
            }
            o.push('\n');
            for a in &en.args {
                o.push_str(&format!(
                    "      arg {} {}: {}\n",
                    a.index, a.name, a.decoded
                ));
            }
        }
    }
    o
}
