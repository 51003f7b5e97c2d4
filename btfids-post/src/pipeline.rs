//! The phases: collect, (btfgen), resolve, patch; and [`run`], which chains them and
//! hands the result to [`crate::write`].

use crate::btf::{Btf, KIND_FUNC, KIND_STRUCT, KIND_TYPEDEF, KIND_UNION};
use crate::elf::{ElfFile, Section, SHF_COMPRESSED};
use crate::{btfgen, write, Error, Options};
use kfunc_layout::{
    set8_is_extended, validate_arg_flags, Endian, MetaRecord, BTF_SET8_KFUNCS, KF_KNOWN_MASK,
    MAX_ARGS, META_SECTION, SET8_ARGS_ENTRY_SIZE, SET8_HEADER_SIZE, SET8_LEGACY_ENTRY_SIZE,
};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Name of the section holding BTF ids.
pub const BTF_IDS_SECTION: &str = ".BTF_ids";
/// Prefix of every BTF id symbol.
pub const BTF_ID_PREFIX: &[u8] = b"__BTF_ID__";
/// Number of addresses one name may have (`ADDR_CNT` in main.c).
pub const ADDR_CNT: usize = 100;

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

/// The four kinds of id symbols, in main.c's patch order.
pub const KINDS: [(&str, u32); 4] = [
    ("struct", KIND_STRUCT),
    ("union", KIND_UNION),
    ("typedef", KIND_TYPEDEF),
    ("func", KIND_FUNC),
];

/// One named id (`__BTF_ID__<kind>__<name>__<n>` symbols of the same name).
#[derive(Debug, Clone, Default)]
pub struct IdSym {
    /// Resolved BTF id (0 until resolved).
    pub id: u32,
    /// Addresses of every symbol with this name.
    pub addrs: Vec<u64>,
}

/// A `set` or `set8` symbol.
#[derive(Debug, Clone)]
pub struct SetSym<'a> {
    /// `set8` (else `set`).
    pub is_set8: bool,
    /// Address (`st_value`).
    pub addr: u64,
    /// Size (`st_size`).
    pub size: u64,
    /// The full symbol name.
    pub symbol: &'a [u8],
}

/// Collected `.BTF_ids` symbols.
#[derive(Debug, Default)]
pub struct Symbols<'a> {
    /// struct, union, typedef, func names (as [`KINDS`]).
    pub trees: [BTreeMap<&'a [u8], IdSym>; 4],
    /// Symbol counts per kind (main.c's `nr_*`).
    pub nr: [usize; 4],
    /// Sets by name.
    pub sets: BTreeMap<&'a [u8], SetSym<'a>>,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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

/// Phase `collect` (symbols): every `__BTF_ID__*` symbol of `.BTF_ids`, as main.c's
/// `symbols_collect` does.
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
        let kind = KINDS
            .iter()
            .position(|(k, _)| prefix.starts_with(k.as_bytes()));
        let entry = if let Some(k) = kind {
            out.nr[k] += 1;
            let name = cut_name(&prefix[KINDS[k].0.len()..]).ok_or_else(|| {
                Error::at(
                    path,
                    format!(
                        "symbol {}: FAILED to parse symbol name: {}",
                        s(sym.name),
                        s(prefix)
                    ),
                )
            })?;
            let e = out.trees[k].entry(name).or_default();
            &mut e.addrs
        } else if prefix.starts_with(b"set") {
            let is_set8 = prefix.starts_with(b"set8");
            let skip = if is_set8 {
                "set8__".len()
            } else {
                "set__".len()
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
                    is_set8,
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

/// A small multiply-rotate hasher (the FxHash scheme) for name lookups: names come from
/// the ELF and BTF being processed, not from an adversary of a long-running service.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            h = (h.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        self.0 = h;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// `BuildHasher` for [`FxHasher`].
pub type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// Phase `resolve`: every collected name to its BTF id, exactly as main.c's
/// `symbols_resolve` (type id order, first match wins, the same warnings).
pub fn resolve(
    syms: &mut Symbols<'_>,
    btf: &Btf<'_>,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    let mut nr = syms.nr;
    let mut lookup: [HashMap<&[u8], u32, FxBuild>; 4] = Default::default();
    for (k, tree) in syms.trees.iter().enumerate() {
        lookup[k] = tree.keys().map(|&n| (n, 0)).collect();
    }
    if nr.iter().all(|&n| n == 0) {
        return Ok(());
    }
    let mut failed = None;
    btf.for_each_kind_name(&mut |id, kind, name_off| {
        let k = match kind {
            KIND_FUNC => 3,
            KIND_STRUCT => 0,
            KIND_UNION => 1,
            KIND_TYPEDEF => 2,
            _ => return,
        };
        if nr[k] == 0 || failed.is_some() {
            return;
        }
        let Some(name) = btf.str_at(name_off) else {
            failed = Some(id);
            return;
        };
        if let Some(slot) = lookup[k].get_mut(name) {
            if *slot != 0 {
                warnings.push(format!(
                    "WARN: multiple IDs found for '{}': {}, {} - using {}",
                    s(name),
                    *slot,
                    id,
                    *slot
                ));
            } else {
                *slot = id;
                nr[k] -= 1;
            }
        }
    });
    if let Some(id) = failed {
        return Err(Error(format!(
            "FAILED: malformed BTF, can't resolve name for ID {id}"
        )));
    }
    for (k, tree) in syms.trees.iter_mut().enumerate() {
        for (name, sym) in tree.iter_mut() {
            sym.id = lookup[k][name];
        }
    }
    Ok(())
}

/// How a set's entries are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Layout {
    /// `struct btf_id_set`: `u32 cnt` and `u32 ids[]`.
    Set,
    /// Legacy `struct btf_id_set8`: 8-byte `{ id, flags }` pairs.
    Legacy,
    /// Extended set8 (`BTF_SET8_KFUNC_ARGS`): 28-byte entries.
    Extended,
    /// An extended set already rewritten as legacy pairs by `--legacy-set8` (its symbol
    /// size and member symbols keep the 28-byte stride).
    Converted,
}

impl Layout {
    /// Bytes before the first entry.
    pub fn header(self) -> usize {
        match self {
            Layout::Set => 4,
            _ => SET8_HEADER_SIZE,
        }
    }
    /// Stride of the member symbols.
    pub fn stride(self) -> usize {
        match self {
            Layout::Set => 4,
            Layout::Legacy => SET8_LEGACY_ENTRY_SIZE,
            Layout::Extended | Layout::Converted => SET8_ARGS_ENTRY_SIZE,
        }
    }
    /// Stride of the entries as stored (a converted set holds legacy pairs).
    pub fn data_stride(self) -> usize {
        match self {
            Layout::Converted => SET8_LEGACY_ENTRY_SIZE,
            l => l.stride(),
        }
    }
}

/// A set, located and decoded.
#[derive(Debug, Clone)]
pub struct SetInfo<'a> {
    /// Set name.
    pub name: &'a [u8],
    /// Offset in `.BTF_ids`.
    pub off: usize,
    /// Layout.
    pub layout: Layout,
    /// Number of entries (from the symbol size).
    pub cnt: usize,
    /// Header flags as found (set8 only).
    pub header_flags: u32,
    /// Name of the func symbol at each entry (before sorting), if any.
    pub members: Vec<Option<&'a [u8]>>,
}

/// Map of `.BTF_ids` offset → func name, for every func symbol.
pub fn func_at<'a>(syms: &Symbols<'a>, base_addr: u64) -> HashMap<u64, &'a [u8]> {
    let mut m = HashMap::new();
    for (name, sym) in &syms.trees[3] {
        for &a in &sym.addrs {
            m.entry(a.wrapping_sub(base_addr)).or_insert(*name);
        }
    }
    m
}

/// Locate and decode every set: layout, count (bounds-checked), members.
pub fn set_infos<'a>(
    path: &Path,
    syms: &Symbols<'a>,
    ids_addr: u64,
    data: &[u8],
    e: Endian,
) -> Result<Vec<SetInfo<'a>>, Error> {
    let funcs = func_at(syms, ids_addr);
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
        let (layout, cnt) = if !set.is_set8 {
            if set.size < 4 {
                return Err(Error::at(
                    path,
                    format!(
                        "{}: symbol size {} is too small for a set",
                        what(),
                        set.size
                    ),
                ));
            }
            (Layout::Set, (set.size / 4 - 1) as usize)
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
            header_flags = e.u32(data, off + 4).unwrap_or(0);
            let ext = set8_is_extended(header_flags)
                .map_err(|err| Error::at(path, format!("{}: {err}", what())))?;
            let body = set.size - SET8_HEADER_SIZE as u64;
            if ext {
                if body % SET8_ARGS_ENTRY_SIZE as u64 != 0 {
                    return Err(Error::at(
                        path,
                        format!(
                            "{}: extended set of {} bytes is not a header and whole {SET8_ARGS_ENTRY_SIZE}-byte entries",
                            what(),
                            set.size
                        ),
                    ));
                }
                (
                    Layout::Extended,
                    (body / SET8_ARGS_ENTRY_SIZE as u64) as usize,
                )
            } else {
                // Members at a 28-byte stride that an 8-byte stride cannot explain: an
                // extended set already rewritten by --legacy-set8.
                let rel: Vec<u64> = funcs
                    .keys()
                    .filter(|&&a| a >= off as u64 + 8 && a < off as u64 + set.size)
                    .map(|&a| a - off as u64 - 8)
                    .collect();
                let on28 =
                    !rel.is_empty() && rel.iter().all(|r| r % SET8_ARGS_ENTRY_SIZE as u64 == 0);
                let not8 = rel.iter().any(|r| r % 8 != 0) || body % 8 != 0;
                if header_flags == BTF_SET8_KFUNCS
                    && on28
                    && not8
                    && body % SET8_ARGS_ENTRY_SIZE as u64 == 0
                {
                    (
                        Layout::Converted,
                        (body / SET8_ARGS_ENTRY_SIZE as u64) as usize,
                    )
                } else {
                    (Layout::Legacy, (set.size / 8 - 1) as usize)
                }
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

/// main.c's `cmp_id` (`*a - *b` on ints) as a total order: the same result whenever the
/// subtraction does not overflow, i.e. for every BTF id (at most 2^20 types), and still a
/// total order (as `sort` requires) for any garbage in entries no symbol covers.
fn cmp_id(a: u32, b: u32) -> std::cmp::Ordering {
    (a as i32).cmp(&(b as i32))
}

/// What the patch phase produced.
#[derive(Debug, Default)]
pub struct Patched {
    /// New `.BTF_ids` contents.
    pub ids: Vec<u8>,
    /// Warnings (main.c's `WARN:` lines).
    pub warnings: Vec<String>,
    /// Errors found (record mismatches, unresolved names under --strict...).
    pub errors: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
/// Phase `patch`: write ids and counts, sort sets, convert with `--legacy-set8`,
/// cross-check set entries with records.
pub fn patch(
    path: &Path,
    syms: &Symbols<'_>,
    sets: &[SetInfo<'_>],
    records: &[MetaRecord<'_>],
    input: &[u8],
    e: Endian,
    ids_addr: u64,
    opts: &Options,
) -> Result<Patched, Error> {
    let mut p = Patched {
        ids: input.to_vec(),
        ..Default::default()
    };
    let by_name: HashMap<&[u8], u32> = syms.trees[3].iter().map(|(n, s)| (*n, s.id)).collect();
    let rec_by_name: HashMap<&str, &MetaRecord<'_>> = records.iter().map(|r| (r.name, r)).collect();

    // Which sets are already processed (an earlier run): leave them alone, so that a
    // second run changes nothing (main.c would re-pair ids with moved flags).
    let mut skip: Vec<(usize, usize)> = Vec::new();
    let mut done = vec![false; sets.len()];
    for (si, set) in sets.iter().enumerate() {
        let first = set.off + set.layout.header();
        let cur: Vec<u32> = (0..set.cnt)
            .map(|i| {
                e.u32(input, first + i * set.layout.data_stride())
                    .unwrap_or(0)
            })
            .collect();
        let mut want: Vec<u32> = set
            .members
            .iter()
            .map(|m| m.map_or(0, |n| by_name.get(n).copied().unwrap_or(0)))
            .collect();
        let cnt_ok = e.u32(input, set.off) == Some(set.cnt as u32);
        let sorted = cur.windows(2).all(|w| cmp_id(w[0], w[1]).is_le());
        let mut have = cur.clone();
        have.sort_unstable();
        want.sort_unstable();
        if set.cnt > 0 && cnt_ok && sorted && have == want {
            done[si] = true;
            skip.push((first, first + set.cnt * set.layout.stride()));
        }
    }
    let skipped = |o: u64| skip.iter().any(|&(a, b)| o >= a as u64 && o < b as u64);

    // Cross-check entries against records before anything moves.
    for (si, set) in sets.iter().enumerate() {
        if !matches!(set.layout, Layout::Extended | Layout::Legacy) {
            continue;
        }
        let sname = s(set.name);
        // In a set processed earlier, entries moved: pair them with members by id.
        let id_to_member: HashMap<u32, &[u8]> = set
            .members
            .iter()
            .flatten()
            .map(|n| (by_name.get(n).copied().unwrap_or(0), *n))
            .collect();
        for i in 0..set.cnt {
            let at = set.off + set.layout.header() + i * set.layout.stride();
            let m = if done[si] {
                id_to_member.get(&e.u32(input, at).unwrap_or(0)).copied()
            } else {
                set.members[i]
            };
            let Some(fname) = m else { continue };
            let fname = s(fname);
            let flags = e.u32(input, at + 4).unwrap_or(0);
            let mut args = [0u32; MAX_ARGS];
            if set.layout == Layout::Extended {
                if flags & !KF_KNOWN_MASK != 0 {
                    p.errors.push(format!(
                        "set '{sname}': kfunc {fname}: unknown function flag bits {:#x}",
                        flags & !KF_KNOWN_MASK
                    ));
                }
                for (a, v) in args.iter_mut().enumerate() {
                    *v = e.u32(input, at + 8 + 4 * a).unwrap_or(0);
                    if let Err(err) = validate_arg_flags(a, *v) {
                        p.errors
                            .push(format!("set '{sname}': kfunc {fname}: argument {a}: {err}"));
                    }
                }
            }
            match rec_by_name.get(fname.as_str()) {
                Some(r) => {
                    if r.flags != flags {
                        p.errors.push(format!(
                            "set '{sname}': kfunc {fname}: set entry flags {} differ from its .kfunc.meta record flags {}",
                            kfunc_layout::describe_flags(kfunc_layout::FUNC_FLAGS, flags),
                            kfunc_layout::describe_flags(kfunc_layout::FUNC_FLAGS, r.flags)
                        ));
                    }
                    for a in 0..MAX_ARGS {
                        let rec = r.arg_flags[a];
                        if set.layout == Layout::Legacy {
                            if rec != 0 {
                                p.errors.push(format!(
                                    "set '{sname}': kfunc {fname}: argument {a} has flags {} in its .kfunc.meta record but the set is a legacy set8 without per-argument flags",
                                    kfunc_layout::describe_arg_flags(rec)
                                ));
                            }
                        } else if rec != args[a] {
                            let pname = r.args.get(a).map_or("", |t| t.name);
                            p.errors.push(format!(
                                "set '{sname}': kfunc {fname}: argument {a} ({pname}): set entry flags {} differ from its .kfunc.meta record flags {}",
                                kfunc_layout::describe_arg_flags(args[a]),
                                kfunc_layout::describe_arg_flags(rec)
                            ));
                        }
                    }
                }
                None => {
                    if set.layout == Layout::Extended
                        && by_name.get(m.unwrap()).copied().unwrap_or(0) == 0
                    {
                        p.errors.push(format!(
                            "set '{sname}': kfunc {fname}: no .kfunc.meta record and no BTF FUNC of that name"
                        ));
                    }
                }
            }
        }
    }

    // Ids, in main.c's order: structs, unions, typedefs, funcs, then set counts.
    let len = p.ids.len();
    let write = |ids: &mut Vec<u8>, name: &[u8], addr: u64, v: u32| -> Result<(), Error> {
        let idx = addr.wrapping_sub(ids_addr);
        if idx >= len as u64 {
            return Err(Error::at(
                path,
                format!(
                    "section {BTF_IDS_SECTION}: symbol for '{}': FAILED patching index {idx} out of bounds {len}",
                    s(name)
                ),
            ));
        }
        let idx = (idx / 4 * 4) as usize;
        if idx + 4 > len {
            return Err(Error::at(
                path,
                format!("section {BTF_IDS_SECTION}: symbol for '{}': id at {idx} runs past the section end", s(name)),
            ));
        }
        ids[idx..idx + 4].copy_from_slice(&e.u32_bytes(v));
        Ok(())
    };
    for (k, tree) in syms.trees.iter().enumerate() {
        for (name, sym) in tree.iter().rev() {
            if sym.id == 0 {
                p.warnings.push(format!(
                    "WARN: resolve_btfids: unresolved symbol {}",
                    s(name)
                ));
                if opts.strict {
                    p.errors.push(format!(
                        "unresolved {} '{}' (--strict)",
                        KINDS[k].0,
                        s(name)
                    ));
                }
            }
            for &a in &sym.addrs {
                if skipped(a.wrapping_sub(ids_addr)) {
                    continue;
                }
                write(&mut p.ids, name, a, sym.id)?;
            }
        }
    }
    for (si, set) in sets.iter().enumerate() {
        if !done[si] {
            write(
                &mut p.ids,
                set.name,
                ids_addr + set.off as u64,
                set.cnt as u32,
            )?;
        }
    }

    // Sort.
    for (si, set) in sets.iter().enumerate() {
        if done[si] || set.cnt == 0 {
            continue;
        }
        let first = set.off + set.layout.header();
        let stride = set.layout.stride();
        let region = &mut p.ids[first..first + set.cnt * stride];
        let mut entries: Vec<Vec<u8>> = region.chunks(stride).map(|c| c.to_vec()).collect();
        entries.sort_by(|a, b| cmp_id(e.u32(a, 0).unwrap_or(0), e.u32(b, 0).unwrap_or(0)));
        match (set.layout, opts.legacy_set8) {
            (Layout::Extended, true) | (Layout::Converted, _) => {
                region.fill(0);
                for (i, en) in entries.iter().enumerate() {
                    region[i * 8..i * 8 + 8].copy_from_slice(&en[..8]);
                }
                let hf = set.off + 4;
                p.ids[hf..hf + 4].copy_from_slice(&e.u32_bytes(BTF_SET8_KFUNCS));
            }
            _ => {
                for (i, en) in entries.iter().enumerate() {
                    region[i * stride..(i + 1) * stride].copy_from_slice(en);
                }
            }
        }
    }
    Ok(p)
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Warnings, in order.
    pub warnings: Vec<String>,
    /// Whether the file was written.
    pub changed: bool,
    /// Whether `.BTF` grew (types added for Rust kfuncs).
    pub btf_grown: bool,
    /// Types added.
    pub types_added: u32,
    /// Problems found (check mode; in write mode they are an error).
    pub problems: Vec<String>,
    /// Debug lines (-v).
    pub debug: Vec<String>,
}

/// Whether [`run`] writes the result or only compares it with the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Resolve and write (the default command).
    Write,
    /// Verify an already processed file; nothing is written.
    Check,
}

/// Read a BTF source: raw BTF (by magic) or the `.BTF` section of an ELF.
pub fn btf_bytes<'a>(path: &Path, data: &'a [u8], section: &str) -> Result<&'a [u8], Error> {
    if data.len() >= 2 {
        let m = u16::from_le_bytes([data[0], data[1]]);
        if m == crate::btf::BTF_MAGIC || m.swap_bytes() == crate::btf::BTF_MAGIC {
            return Ok(data);
        }
    }
    let elf = ElfFile::parse(data).map_err(|e| Error::at(path, e))?;
    let sec = elf
        .section_by_name(section)
        .map_err(|e| Error::at(path, e))?
        .ok_or_else(|| Error::at(path, format!("FAILED: load BTF: no {section} section")))?;
    elf.section_data(sec).map_err(|e| Error::at(path, e))
}

/// The whole pipeline on one file.
pub fn run(path: &Path, opts: &Options, mode: Mode) -> Result<Outcome, Error> {
    let mut out = Outcome::default();
    // ---- collect
    let bytes = load(path)?;
    let elf = ElfFile::parse(&bytes).map_err(|e| Error::at(path, e))?;
    let ids = elf
        .section_by_name(BTF_IDS_SECTION)
        .map_err(|e| Error::at(path, e))?
        .cloned();
    let symtab = elf.symtab().map_err(|e| Error::at(path, e))?.cloned();
    let (Some(ids), Some(_)) = (ids, symtab) else {
        out.debug
            .push("Cannot find .BTF_ids or symbols sections, nothing to do".into());
        return Ok(out);
    };
    let ids_data = elf
        .section_data(&ids)
        .map_err(|e| Error::at(path, format!("section {BTF_IDS_SECTION}: {e}")))?;
    let mut syms = collect_symbols(path, &elf, &ids)?;
    let records = match elf
        .section_by_name(META_SECTION)
        .map_err(|e| Error::at(path, e))?
    {
        Some(sec) => {
            let d = elf.section_data(sec).map_err(|e| Error::at(path, e))?;
            MetaRecord::read_all(d, elf.endian)
                .map_err(|e| Error::at(path, format!("section {META_SECTION}: {e}")))?
        }
        None => Vec::new(),
    };
    let sets = set_infos(path, &syms, ids.addr, ids_data, elf.endian)?;
    out.debug.push(format!(
        "collect: {} struct, {} union, {} typedef, {} func symbols; {} sets ({}); {} .kfunc.meta records",
        syms.nr[0],
        syms.nr[1],
        syms.nr[2],
        syms.nr[3],
        sets.len(),
        sets.iter()
            .map(|st| format!("{} {:?} cnt {}", s(st.name), st.layout, st.cnt))
            .collect::<Vec<_>>()
            .join(", "),
        records.len()
    ));

    // BTF: base (-b, or the ELF's own .BTF.base), then the ELF's (or --btf's) .BTF.
    let has_btf_base = elf
        .section_by_name(".BTF.base")
        .map_err(|e| Error::at(path, e))?
        .is_some();
    let base_file = match (&opts.base, has_btf_base) {
        (Some(b), false) => Some((b.clone(), load(b)?)),
        _ => None,
    };
    let base_raw = match (&base_file, has_btf_base) {
        (Some((p, b)), _) => Some(btf_bytes(p, b, ".BTF")?),
        (None, true) => Some(btf_bytes(path, &bytes, ".BTF.base")?),
        _ => None,
    };
    let base_path = base_file.as_ref().map_or(path, |(p, _)| p.as_path());
    let base = match base_raw {
        Some(raw) => Some(
            Btf::parse(raw, None)
                .map_err(|e| Error::at(base_path, format!("FAILED: load base BTF: {e}")))?,
        ),
        None => None,
    };
    let btf_file = match &opts.btf {
        Some(p) => Some((p.clone(), load(p)?)),
        None => None,
    };
    let (btf_path, btf_raw) = match &btf_file {
        Some((p, b)) => (p.as_path(), btf_bytes(p, b, ".BTF")?),
        None => (path, btf_bytes(path, &bytes, ".BTF")?),
    };
    let btf0 = Btf::parse(btf_raw, base.as_ref())
        .map_err(|e| Error::at(btf_path, format!("FAILED: load BTF: section .BTF: {e}")))?;

    // ---- btfgen
    let gen = btfgen::generate(&btf0, &records).map_err(|e| Error::at(path, e))?;
    out.problems.extend(gen.problems.iter().cloned());
    let grown_bytes = match &gen.builder {
        Some(b) if b.grown() => {
            if btf_file.is_some() {
                return Err(Error::at(
                    path,
                    "kfuncs need new BTF but --btf names a separate BTF file",
                ));
            }
            if elf.e_type != crate::elf::ET_REL {
                return Err(Error::at(
                    path,
                    format!(
                        "kfuncs {} have no BTF FUNC and .BTF can only grow in a relocatable object (a module)",
                        gen.generated.join(", ")
                    ),
                ));
            }
            out.types_added = gen.types_added;
            Some(b.finish())
        }
        _ => None,
    };
    let btf1;
    let btf: &Btf<'_> = match &grown_bytes {
        Some(g) => {
            btf1 = Btf::parse(g, base.as_ref())
                .map_err(|e| Error::at(path, format!("generated BTF: {e}")))?;
            &btf1
        }
        None => &btf0,
    };

    if !gen.generated.is_empty() {
        out.debug.push(format!(
            "btfgen: FUNC + FUNC_PROTO for {} ({} types added)",
            gen.generated.join(", "),
            gen.types_added
        ));
    }
    // ---- resolve
    resolve(&mut syms, btf, &mut out.warnings).map_err(|e| Error::at(btf_path, e))?;

    // ---- patch
    let p = patch(
        path, &syms, &sets, &records, ids_data, elf.endian, ids.addr, opts,
    )?;
    out.warnings.extend(p.warnings);
    out.problems.extend(p.errors);

    // compressed_section_fix of main.c
    let mut fixes: Vec<(u64, Vec<u8>)> = Vec::new();
    let expected_align = if elf.is64 { 8 } else { 4 };
    for sec in &elf.sections[1..] {
        if sec.flags & SHF_COMPRESSED != 0 && sec.addralign != expected_align {
            let (o, w) = elf.sh_addralign_field();
            fixes.push((sec.hdr_off + o as u64, elf.word_bytes(expected_align, w)));
        }
    }

    // ---- write (or check)
    match mode {
        Mode::Check => {
            if grown_bytes.is_some() {
                out.problems.push(format!(
                    "kfuncs without BTF FUNC: {}",
                    gen.generated.join(", ")
                ));
            }
            if !fixes.is_empty() {
                out.problems
                    .push("compressed sections with a wrong sh_addralign".into());
            }
            out.problems.extend(crate::dump::diff_ids(
                &syms, &sets, ids_data, &p.ids, elf.endian, ids.addr,
            ));
            Ok(out)
        }
        Mode::Write => {
            if opts.fatal_warnings && !out.warnings.is_empty() {
                return Err(Error::at(
                    path,
                    format!(
                        "{} warning(s) with --fatal_warnings, file left unchanged:\n  {}",
                        out.warnings.len(),
                        out.warnings.join("\n  ")
                    ),
                ));
            }
            if !out.problems.is_empty() {
                return Err(Error::at(
                    path,
                    format!(
                        "{} problem(s), file left unchanged:\n  {}",
                        out.problems.len(),
                        out.problems.join("\n  ")
                    ),
                ));
            }
            out.btf_grown = grown_bytes.is_some();
            out.changed =
                write::write_output(path, &elf, &ids, &p.ids, &fixes, grown_bytes.as_deref())?;
            Ok(out)
        }
    }
}
