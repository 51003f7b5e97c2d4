//! `dump` (every set and its entries, decoded) and the comparison behind `check`.

use crate::btf::{Btf, KIND_FUNC, KIND_FUNC_PROTO};
use crate::elf::ElfFile;
use crate::pipeline::{
    btf_bytes, collect_symbols, load, set_infos, Layout, SetInfo, Symbols, BTF_IDS_SECTION, KINDS,
};
use crate::{Error, Options};
use kfunc_layout::{describe_arg_flags, describe_flags, Endian, FUNC_FLAGS, MAX_ARGS};
use serde::Serialize;
use std::path::Path;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Differences between the section as found and as it should be, one line each.
pub fn diff_ids(
    syms: &Symbols<'_>,
    sets: &[SetInfo<'_>],
    old: &[u8],
    new: &[u8],
    e: Endian,
    ids_addr: u64,
) -> Vec<String> {
    let mut out = Vec::new();
    let in_set = |o: usize| {
        sets.iter()
            .any(|st| o >= st.off && o < st.off + st.layout.header() + st.cnt * st.layout.stride())
    };
    for (k, tree) in syms.trees.iter().enumerate() {
        for (name, sym) in tree {
            for &a in &sym.addrs {
                let o = (a.wrapping_sub(ids_addr) / 4 * 4) as usize;
                if in_set(o) {
                    continue;
                }
                let (have, want) = (e.u32(old, o), e.u32(new, o));
                if have != want {
                    out.push(format!(
                        "section {BTF_IDS_SECTION}: {} '{}' at offset {o}: id {}, expected {}",
                        KINDS[k].0,
                        s(name),
                        have.unwrap_or(0),
                        want.unwrap_or(0)
                    ));
                }
            }
        }
    }
    for st in sets {
        let cnt = e.u32(old, st.off).unwrap_or(0);
        let want_cnt = e.u32(new, st.off).unwrap_or(0);
        if cnt != want_cnt {
            out.push(format!(
                "set '{}': count {cnt}, expected {want_cnt}",
                s(st.name)
            ));
        }
        let end = st.off + st.layout.header() + st.cnt * st.layout.stride();
        if old[st.off + 4..end] != new[st.off + 4..end] {
            let ds = st.layout.data_stride();
            let first = st.off + st.layout.header();
            let bad = (0..st.cnt).find(|i| {
                old[first + i * ds..first + (i + 1) * ds]
                    != new[first + i * ds..first + (i + 1) * ds]
            });
            let ids: Vec<u32> = (0..st.cnt)
                .map(|i| e.u32(old, first + i * ds).unwrap_or(0))
                .collect();
            let sorted = ids.windows(2).all(|w| w[0] <= w[1]);
            out.push(format!(
                "set '{}': entries are not the resolved, sorted ones{}{}",
                s(st.name),
                bad.map_or(String::new(), |i| format!(
                    " (first difference at entry {i})"
                )),
                if sorted { "" } else { "; ids are not sorted" }
            ));
        }
    }
    if out.is_empty() && old != new {
        let o = old.iter().zip(new).position(|(a, b)| a != b).unwrap_or(0);
        out.push(format!("section {BTF_IDS_SECTION}: differs at offset {o}"));
    }
    out
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
    let Some(ids) = elf
        .section_by_name(BTF_IDS_SECTION)
        .map_err(|e| Error::at(path, e))?
        .cloned()
    else {
        return Ok(Vec::new());
    };
    let data = elf.section_data(&ids).map_err(|e| Error::at(path, e))?;
    let syms = collect_symbols(path, &elf, &ids)?;
    let sets = set_infos(path, &syms, ids.addr, data, elf.endian)?;
    // A distilled base in the object (`.BTF.base`, Linux 7.3 out-of-tree modules) is the
    // base its `.BTF` is split on, as libbpf takes it; else `-b`.
    let own_base = elf
        .section_by_name(".BTF.base")
        .map_err(|e| Error::at(path, e))?
        .is_some();
    let base_bytes = match (&opts.base, own_base) {
        (Some(b), false) => Some(load(b)?),
        _ => None,
    };
    let base = match (&opts.base, &base_bytes) {
        (Some(p), Some(b)) => {
            Some(Btf::parse(btf_bytes(p, b, ".BTF")?, None).map_err(|e| Error::at(p, e))?)
        }
        _ if own_base => Some(
            Btf::parse(btf_bytes(path, &bytes, ".BTF.base")?, None)
                .map_err(|e| Error::at(path, format!("section .BTF.base: {e}")))?,
        ),
        _ => None,
    };
    // Names are a convenience: without usable BTF (e.g. a module without -b) entries are
    // still dumped, unnamed.
    let btf = btf_bytes(path, &bytes, ".BTF")
        .ok()
        .and_then(|raw| Btf::parse(raw, base.as_ref()).ok());
    let e = elf.endian;
    let mut out = Vec::new();
    for st in &sets {
        let first = st.off + st.layout.header();
        let ds = st.layout.data_stride();
        let stored = e.u32(data, st.off).unwrap_or(0) as usize;
        let n = stored.min(st.cnt);
        let mut entries = Vec::new();
        for i in 0..n {
            let at = first + i * ds;
            let id = e.u32(data, at).unwrap_or(0);
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
            let flags = (st.layout != Layout::Set).then(|| e.u32(data, at + 4).unwrap_or(0));
            let mut args = Vec::new();
            if st.layout == Layout::Extended {
                for a in 0..MAX_ARGS {
                    let v = e.u32(data, at + 8 + 4 * a).unwrap_or(0);
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
