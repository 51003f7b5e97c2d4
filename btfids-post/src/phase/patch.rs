//! Phase `patch` (main.c's `symbols_patch`), in four steps over a copy of `.BTF_ids`:
//!
//! 1. [`already_processed`]: which sets an earlier run already resolved and sorted (they
//!    are left alone, so that a second run changes nothing; main.c would re-pair ids with
//!    moved flags);
//! 2. [`cross_check`]: set8 entries against the `.kfunc.meta` records, before anything
//!    moves;
//! 3. [`write_ids`]: every id in main.c's order (structs, unions, typedefs, funcs), then the
//!    set counts;
//! 4. [`sort_sets`]: entries by id (stable, main.c's comparator), 8- or 28-byte stride; with
//!    `--legacy-set8`, extended sets rewritten as legacy pairs.

use crate::object::{IdKind, Layout, Object, SetInfo, BTF_IDS_SECTION};
use crate::{Error, Options};
use kfunc_layout::{
    describe_arg_flags, describe_flags, validate_arg_flags, Endian, MetaRecord, Set8Entry,
    Set8Header, SetEntry, BTF_SET8_KFUNCS, FUNC_FLAGS, KF_KNOWN_MASK, MAX_ARGS, SET8_HEADER_SIZE,
    SET8_LEGACY_ENTRY_SIZE,
};
use std::collections::HashMap;
use std::path::Path;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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

/// Phase `patch` on the object's `.BTF_ids` (its symbols resolved): the four steps.
pub fn symbols_patch(o: &Object<'_>, opts: &Options) -> Result<Patched, Error> {
    let input = o.ids_data();
    let e = o.endian();
    let func_ids = o.symbols.func_ids();
    let mut p = Patched {
        ids: input.to_vec(),
        ..Default::default()
    };
    let done = already_processed(&o.sets, input, e, &func_ids);
    cross_check(
        &o.sets,
        &o.records,
        input,
        e,
        &func_ids,
        &done,
        &mut p.errors,
    );
    write_ids(o, &done, opts, &mut p)?;
    sort_sets(&o.sets, &done, e, opts.legacy_set8, &mut p.ids);
    Ok(p)
}

/// The sets an earlier run already processed, and the bytes their entries cover.
#[derive(Debug, Default)]
pub struct Processed {
    /// Per set (in [`Object::sets`] order): already processed.
    pub done: Vec<bool>,
    /// Entry regions (`.BTF_ids` offsets, end exclusive) of those sets: no id is written
    /// there.
    pub regions: Vec<(usize, usize)>,
}

impl Processed {
    /// Whether `.BTF_ids` offset `o` is in an entry region of a processed set.
    pub fn covers(&self, o: u64) -> bool {
        self.regions
            .iter()
            .any(|&(a, b)| o >= a as u64 && o < b as u64)
    }
}

/// Step 1: a set is already processed when its count, ids and order already match the
/// resolution (its ids sorted and, as a multiset, those of its member symbols).
pub fn already_processed(
    sets: &[SetInfo<'_>],
    input: &[u8],
    e: Endian,
    func_ids: &HashMap<&[u8], u32>,
) -> Processed {
    let mut out = Processed {
        done: vec![false; sets.len()],
        regions: Vec::new(),
    };
    for (si, set) in sets.iter().enumerate() {
        let cur: Vec<u32> = (0..set.cnt)
            .map(|i| set.entry(input, i, e).map_or(0, |en| en.id()))
            .collect();
        let mut want: Vec<u32> = set
            .members
            .iter()
            .map(|m| m.map_or(0, |n| func_ids.get(n).copied().unwrap_or(0)))
            .collect();
        let cnt_ok = set.stored_cnt(input, e) == Some(set.cnt as u32);
        let sorted = cur.windows(2).all(|w| cmp_id(w[0], w[1]).is_le());
        let mut have = cur.clone();
        have.sort_unstable();
        want.sort_unstable();
        if set.cnt > 0 && cnt_ok && sorted && have == want {
            out.done[si] = true;
            out.regions.push((set.first(), set.end()));
        }
    }
    out
}

/// Step 2: every entry of a set8 against the `.kfunc.meta` record of its kfunc: function
/// flags, per-argument flags (valid, and equal), a legacy set without per-argument flags,
/// an extended entry with neither record nor FUNC. Problems go to `errors`.
pub fn cross_check(
    sets: &[SetInfo<'_>],
    records: &[MetaRecord<'_>],
    input: &[u8],
    e: Endian,
    func_ids: &HashMap<&[u8], u32>,
    done: &Processed,
    errors: &mut Vec<String>,
) {
    let rec_by_name: HashMap<&str, &MetaRecord<'_>> = records.iter().map(|r| (r.name, r)).collect();
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
            .map(|n| (func_ids.get(n).copied().unwrap_or(0), *n))
            .collect();
        for i in 0..set.cnt {
            let entry = set.entry(input, i, e);
            let m = if done.done[si] {
                id_to_member.get(&entry.map_or(0, |en| en.id())).copied()
            } else {
                set.members[i]
            };
            let Some(member) = m else { continue };
            let fname = s(member);
            let flags = entry.and_then(|en| en.flags()).unwrap_or(0);
            let mut args = [0u32; MAX_ARGS];
            if let Some(SetEntry::Args(en)) = entry {
                if flags & !KF_KNOWN_MASK != 0 {
                    errors.push(format!(
                        "set '{sname}': kfunc {fname}: unknown function flag bits {:#x}",
                        flags & !KF_KNOWN_MASK
                    ));
                }
                args = en.arg_flags;
                for (a, v) in args.iter().enumerate() {
                    if let Err(err) = validate_arg_flags(a, *v) {
                        errors.push(format!("set '{sname}': kfunc {fname}: argument {a}: {err}"));
                    }
                }
            }
            match rec_by_name.get(fname.as_str()) {
                Some(r) => {
                    if r.flags != flags {
                        errors.push(format!(
                            "set '{sname}': kfunc {fname}: set entry flags {} differ from its .kfunc.meta record flags {}",
                            describe_flags(FUNC_FLAGS, flags),
                            describe_flags(FUNC_FLAGS, r.flags)
                        ));
                    }
                    for a in 0..MAX_ARGS {
                        let rec = r.arg_flags[a];
                        if set.layout == Layout::Legacy {
                            if rec != 0 {
                                errors.push(format!(
                                    "set '{sname}': kfunc {fname}: argument {a} has flags {} in its .kfunc.meta record but the set is a legacy set8 without per-argument flags",
                                    describe_arg_flags(rec)
                                ));
                            }
                        } else if rec != args[a] {
                            let pname = r.args.get(a).map_or("", |t| t.name);
                            errors.push(format!(
                                "set '{sname}': kfunc {fname}: argument {a} ({pname}): set entry flags {} differ from its .kfunc.meta record flags {}",
                                describe_arg_flags(args[a]),
                                describe_arg_flags(rec)
                            ));
                        }
                    }
                }
                None => {
                    if set.layout == Layout::Extended
                        && func_ids.get(member).copied().unwrap_or(0) == 0
                    {
                        errors.push(format!(
                            "set '{sname}': kfunc {fname}: no .kfunc.meta record and no BTF FUNC of that name"
                        ));
                    }
                }
            }
        }
    }
}

/// Write `v` at the 4-byte word of `addr` (main.c's patching of one symbol), bounds-checked.
fn write_id(
    path: &Path,
    ids: &mut [u8],
    ids_addr: u64,
    e: Endian,
    name: &[u8],
    addr: u64,
    v: u32,
) -> Result<(), Error> {
    let len = ids.len();
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
            format!(
                "section {BTF_IDS_SECTION}: symbol for '{}': id at {idx} runs past the section end",
                s(name)
            ),
        ));
    }
    ids[idx..idx + 4].copy_from_slice(&e.u32_bytes(v));
    Ok(())
}

/// Step 3: every symbol's id, in main.c's order (structs, unions, typedefs, funcs; names in
/// reverse order, as main.c walks its trees), except inside the entries of processed sets;
/// then the count of every set not processed. Unresolved names are warnings (errors with
/// `--strict`).
pub fn write_ids(
    o: &Object<'_>,
    done: &Processed,
    opts: &Options,
    p: &mut Patched,
) -> Result<(), Error> {
    let (path, ids_addr, e) = (o.path, o.ids_addr(), o.endian());
    for k in IdKind::ALL {
        for (name, sym) in o.symbols.ids[k].iter().rev() {
            if sym.id == 0 {
                p.warnings.push(format!(
                    "WARN: resolve_btfids: unresolved symbol {}",
                    s(name)
                ));
                if opts.strict {
                    p.errors
                        .push(format!("unresolved {} '{}' (--strict)", k.name(), s(name)));
                }
            }
            for &a in &sym.addrs {
                if done.covers(a.wrapping_sub(ids_addr)) {
                    continue;
                }
                write_id(path, &mut p.ids, ids_addr, e, name, a, sym.id)?;
            }
        }
    }
    for (si, set) in o.sets.iter().enumerate() {
        if !done.done[si] {
            write_id(
                path,
                &mut p.ids,
                ids_addr,
                e,
                set.name,
                ids_addr + set.off as u64,
                set.cnt as u32,
            )?;
        }
    }
    Ok(())
}

/// Step 4: sort the entries of every set not processed by id (stable; an entry is moved
/// whole, at the member stride); with `legacy_set8` an extended set (and always a set
/// converted earlier) is rewritten as legacy pairs under a `BTF_SET8_KFUNCS` header.
pub fn sort_sets(
    sets: &[SetInfo<'_>],
    done: &Processed,
    e: Endian,
    legacy_set8: bool,
    ids: &mut [u8],
) {
    for (si, set) in sets.iter().enumerate() {
        if done.done[si] || set.cnt == 0 {
            continue;
        }
        let stride = set.layout.stride();
        let storage = set.layout.storage();
        let region = &mut ids[set.first()..set.end()];
        let mut entries: Vec<Vec<u8>> = region.chunks(stride).map(|c| c.to_vec()).collect();
        let id = |b: &[u8]| storage.read_entry(b, e).map_or(0, |en| en.id());
        entries.sort_by(|a, b| cmp_id(id(a), id(b)));
        match (set.layout, legacy_set8) {
            (Layout::Extended, true) | (Layout::Converted, _) => {
                region.fill(0);
                let pair = SET8_LEGACY_ENTRY_SIZE;
                for (i, en) in entries.iter().enumerate() {
                    let legacy = Set8Entry::read(en, e).unwrap_or_default();
                    region[i * pair..(i + 1) * pair].copy_from_slice(&legacy.write(e));
                }
                let header = Set8Header {
                    cnt: set.stored_cnt(ids, e).unwrap_or(0),
                    flags: BTF_SET8_KFUNCS,
                };
                ids[set.off..set.off + SET8_HEADER_SIZE].copy_from_slice(&header.write(e));
            }
            _ => {
                for (i, en) in entries.iter().enumerate() {
                    region[i * stride..(i + 1) * stride].copy_from_slice(en);
                }
            }
        }
    }
}
