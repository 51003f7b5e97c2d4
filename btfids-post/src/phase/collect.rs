//! Phase `collect` (main.c's `elf_collect` and `symbols_collect`): the ELF and its
//! `.BTF_ids` section, every `__BTF_ID__*` symbol, the sets (located, bounds-checked,
//! decoded through [`kfunc_layout`]) and the `.kfunc.meta` records.

use crate::elf::{ElfFile, Section, SHF_COMPRESSED};
use crate::object::{
    IdKind, IdSym, IdsSection, Layout, Object, SetInfo, SetKind, SetSym, Symbols, ADDR_CNT,
    BTF_IDS_SECTION, BTF_ID_PREFIX,
};
use crate::Error;
use kfunc_layout::{
    Endian, MetaRecord, Set8Header, BTF_SET8_KFUNCS, KFUNC_ARGS_SET_KIND, META_SECTION,
    SET8_ARGS_ENTRY_SIZE, SET8_HEADER_SIZE, SET8_LEGACY_ENTRY_SIZE, SET_ENTRY_SIZE,
    SET_HEADER_SIZE,
};
use std::path::Path;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Whether a compressed `.BTF_ids` (`SHF_COMPRESSED`) is refused (the Linux 7.3 flow) or
/// read as it is (the 6.12 flow, like its resolve_btfids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compressed {
    /// An error.
    Refuse,
    /// Read the raw section bytes.
    Allow,
}

/// `elf_collect`: parse the ELF and find `.BTF_ids` and the symbol table; the object's
/// [`Object::ids`] is `None` unless it has both.
pub fn elf_collect<'a>(
    path: &'a Path,
    bytes: &'a [u8],
    compressed: Compressed,
) -> Result<Object<'a>, Error> {
    let elf = ElfFile::parse(bytes).map_err(|e| Error::at(path, e))?;
    let ids_sec = elf
        .section_by_name(BTF_IDS_SECTION)
        .map_err(|e| Error::at(path, e))?
        .cloned();
    let symtab = elf.symtab().map_err(|e| Error::at(path, e))?.cloned();
    let ids = match (ids_sec, symtab) {
        (Some(section), Some(_)) => {
            if compressed == Compressed::Refuse && section.flags & SHF_COMPRESSED != 0 {
                return Err(Error::at(
                    path,
                    format!("section {BTF_IDS_SECTION} is compressed (SHF_COMPRESSED)"),
                ));
            }
            let data = elf
                .section_data(&section)
                .map_err(|e| Error::at(path, format!("section {BTF_IDS_SECTION}: {e}")))?;
            Some(IdsSection { section, data })
        }
        _ => None,
    };
    let mut o = Object::new(path, elf);
    o.ids = ids;
    Ok(o)
}

/// `symbols_collect`: [`collect_symbols`] of the object's `.BTF_ids` (nothing without it).
pub fn symbols_collect(o: &mut Object<'_>) -> Result<(), Error> {
    if let Some(ids) = &o.ids {
        o.symbols = collect_symbols(o.path, &o.elf, &ids.section)?;
    }
    Ok(())
}

/// The sets of the object's `.BTF_ids`: [`set_infos`] (nothing without the section).
pub fn sets_collect(o: &mut Object<'_>) -> Result<(), Error> {
    if let Some(ids) = &o.ids {
        o.sets = set_infos(o.path, &o.symbols, ids.section.addr, ids.data, o.elf.endian)?;
    }
    Ok(())
}

/// The `#[kfunc]` records of `.kfunc.meta`, if the object has that section.
pub fn records_collect(o: &mut Object<'_>) -> Result<(), Error> {
    let path = o.path;
    if let Some(sec) = o
        .elf
        .section_by_name(META_SECTION)
        .map_err(|e| Error::at(path, e))?
    {
        let d = o.elf.section_data(sec).map_err(|e| Error::at(path, e))?;
        o.records = MetaRecord::read_all(d, o.elf.endian)
            .map_err(|e| Error::at(path, format!("section {META_SECTION}: {e}")))?;
    }
    Ok(())
}

/// The `-v` line of the phase: symbol counts by kind, sets (each with its layout and
/// count when `list_sets`), records.
pub fn summary(o: &Object<'_>, list_sets: bool) -> String {
    let n = &o.symbols.nr;
    let sets = if list_sets {
        let each: Vec<String> = o
            .sets
            .iter()
            .map(|st| format!("{} {:?} cnt {}", s(st.name), st.layout, st.cnt))
            .collect();
        format!("{} sets ({})", o.sets.len(), each.join(", "))
    } else {
        format!("{} sets", o.sets.len())
    };
    format!(
        "collect: {} struct, {} union, {} typedef, {} func symbols; {sets}; {} .kfunc.meta records",
        n.structs,
        n.unions,
        n.typedefs,
        n.funcs,
        o.records.len()
    )
}

/// `get_id()` of main.c: skip two characters after the kind, cut at the last `'_'`, which
/// must follow another `'_'`.
fn cut_name(prefix_end: &[u8]) -> Option<&[u8]> {
    if 2 >= prefix_end.len() {
        return None;
    }
    let id = &prefix_end[2..];
    let p = id.iter().rposition(|&c| c == b'_')?;
    if p == 0 || id[p - 1] != b'_' {
        return None;
    }
    Some(&id[..p - 1])
}

/// Every `__BTF_ID__*` symbol of `.BTF_ids`, as main.c's `symbols_collect` reads them.
pub fn collect_symbols<'a>(
    path: &Path,
    elf: &ElfFile<'a>,
    ids: &Section<'a>,
) -> Result<Symbols<'a>, Error> {
    let mut out = Symbols::default();
    let syms = elf.symbols_in(ids.index).map_err(|e| Error::at(path, e))?;
    for sym in syms {
        let Some(prefix) = sym.name.strip_prefix(BTF_ID_PREFIX) else {
            continue;
        };
        let kind = IdKind::ALL
            .into_iter()
            .find(|k| prefix.starts_with(k.name().as_bytes()));
        let entry = if let Some(k) = kind {
            out.nr[k] += 1;
            let name = cut_name(&prefix[k.name().len()..]).ok_or_else(|| {
                Error::at(
                    path,
                    format!(
                        "symbol {}: FAILED to parse symbol name: {}",
                        s(sym.name),
                        s(prefix)
                    ),
                )
            })?;
            let e: &mut IdSym = out.ids[k].entry(name).or_default();
            &mut e.addrs
        } else if prefix.starts_with(b"set") || prefix.starts_with(KFUNC_ARGS_SET_KIND.as_bytes()) {
            // As main.c: "set8" and "set" by their first letters; the extended kind in full.
            let (kind, skip) = if prefix.starts_with(KFUNC_ARGS_SET_KIND.as_bytes()) {
                (SetKind::KfuncArgs, KFUNC_ARGS_SET_KIND.len() + 2)
            } else if prefix.starts_with(b"set8") {
                (SetKind::Set8, "set8__".len())
            } else {
                (SetKind::Set, "set__".len())
            };
            if skip >= prefix.len() {
                return Err(Error::at(
                    path,
                    format!(
                        "symbol {}: FAILED to parse set name: {}",
                        s(sym.name),
                        s(prefix)
                    ),
                ));
            }
            let name = &prefix[skip..];
            if out.sets.contains_key(name) {
                return Err(Error::at(
                    path,
                    format!("symbol {}: duplicate set '{}'", s(sym.name), s(name)),
                ));
            }
            out.sets.insert(
                name,
                SetSym {
                    kind,
                    addr: sym.value,
                    size: sym.size,
                    symbol: sym.name,
                },
            );
            continue;
        } else {
            return Err(Error::at(
                path,
                format!(
                    "section {BTF_IDS_SECTION}: symbol {}: FAILED unsupported prefix {}",
                    s(sym.name),
                    s(prefix)
                ),
            ));
        };
        if entry.len() >= ADDR_CNT {
            return Err(Error::at(
                path,
                format!(
                    "symbol {}: FAILED symbol crossed the number of allowed lists ({ADDR_CNT})",
                    s(sym.name)
                ),
            ));
        }
        entry.push(sym.value);
    }
    Ok(out)
}

/// Locate and decode every set: layout, count (bounds-checked), members.
pub fn set_infos<'a>(
    path: &Path,
    syms: &Symbols<'a>,
    ids_addr: u64,
    data: &[u8],
    e: Endian,
) -> Result<Vec<SetInfo<'a>>, Error> {
    let funcs = syms.func_at(ids_addr);
    let mut out = Vec::new();
    for (&name, set) in syms.sets.iter().rev() {
        let what = || {
            format!(
                "section {BTF_IDS_SECTION}: set '{}' ({})",
                s(name),
                s(set.symbol)
            )
        };
        let off = set.addr.wrapping_sub(ids_addr);
        if off >= data.len() as u64 {
            return Err(Error::at(
                path,
                format!(
                    "{}: FAILED patching index {off} out of bounds {}",
                    what(),
                    data.len()
                ),
            ));
        }
        let off = off as usize;
        let mut header_flags = 0;
        let (layout, cnt) = if set.kind == SetKind::Set {
            if set.size < SET_HEADER_SIZE as u64 {
                return Err(Error::at(
                    path,
                    format!(
                        "{}: symbol size {} is too small for a set",
                        what(),
                        set.size
                    ),
                ));
            }
            (
                Layout::Set,
                ((set.size - SET_HEADER_SIZE as u64) / SET_ENTRY_SIZE as u64) as usize,
            )
        } else {
            if set.size < SET8_HEADER_SIZE as u64 || off + SET8_HEADER_SIZE > data.len() {
                return Err(Error::at(
                    path,
                    format!(
                        "{}: symbol size {} is too small for a set8",
                        what(),
                        set.size
                    ),
                ));
            }
            let header = Set8Header::read(&data[off..], e).unwrap_or_default();
            header_flags = header.flags;
            let ext = header
                .is_extended()
                .map_err(|err| Error::at(path, format!("{}: {err}", what())))?;
            let body = set.size - SET8_HEADER_SIZE as u64;
            match (set.kind, ext) {
                (SetKind::KfuncArgs, _) if body % SET8_ARGS_ENTRY_SIZE as u64 != 0 => {
                    return Err(Error::at(
                        path,
                        format!(
                            "{}: extended set of {} bytes is not a header and whole {SET8_ARGS_ENTRY_SIZE}-byte entries",
                            what(),
                            set.size
                        ),
                    ));
                }
                (SetKind::KfuncArgs, true) => (
                    Layout::Extended,
                    (body / SET8_ARGS_ENTRY_SIZE as u64) as usize,
                ),
                // Rewritten by --legacy-set8: pairs under a BTF_SET8_KFUNCS header, the
                // symbol and its members keep the 28-byte stride.
                (SetKind::KfuncArgs, false) if header_flags == BTF_SET8_KFUNCS => (
                    Layout::Converted,
                    (body / SET8_ARGS_ENTRY_SIZE as u64) as usize,
                ),
                (SetKind::KfuncArgs, false) => {
                    return Err(Error::at(
                        path,
                        format!(
                            "{}: header flags {header_flags:#x} are not those of an extended kfunc set",
                            what()
                        ),
                    ));
                }
                (_, true) => {
                    return Err(Error::at(
                        path,
                        format!(
                            "{}: a set8 symbol with an extended header (flags {header_flags:#x}): \
                             extended sets are __BTF_ID__{KFUNC_ARGS_SET_KIND}__<name>",
                            what()
                        ),
                    ));
                }
                (_, false) => (
                    Layout::Legacy,
                    (body / SET8_LEGACY_ENTRY_SIZE as u64) as usize,
                ),
            }
        };
        let end = cnt
            .checked_mul(layout.stride())
            .and_then(|n| n.checked_add(off + layout.header()));
        if end.is_none_or(|end| end > data.len()) {
            return Err(Error::at(
                path,
                format!(
                    "{}: {cnt} entries overflow the {} bytes of {BTF_IDS_SECTION}",
                    what(),
                    data.len()
                ),
            ));
        }
        let members = (0..cnt)
            .map(|i| {
                funcs
                    .get(&((off + layout.header() + i * layout.stride()) as u64))
                    .copied()
            })
            .collect();
        out.push(SetInfo {
            name,
            off,
            layout,
            cnt,
            header_flags,
            members,
        });
    }
    Ok(out)
}
