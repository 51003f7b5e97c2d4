//! The type part of libbpf's `btf__dedup()` (Linux 7.3's `tools/lib/bpf/btf.c`), on a
//! [`MutBtf`]: `btf_dedup_prep` (every base type a canonical candidate), then the own types
//! in id order through `btf_dedup_prim_types` (INT, ENUM, ENUM64, FWD, FLOAT),
//! `btf_dedup_struct_types` (STRUCT, UNION, TYPEDEF: type graph equivalence,
//! `btf_dedup_is_equiv`, with FWD resolution and the hypothetical map),
//! `btf_dedup_resolve_fwds`, `btf_dedup_ref_types` (the others, referenced types first),
//! `btf_dedup_compact_types` and `btf_dedup_remap_types`.
//!
//! The candidates of a type are the canonical types whose signature hash equals its own,
//! in the order libbpf's hash map yields them: it puts a new entry at the head of its
//! bucket and reverses every bucket when it grows, which the table here reproduces for the
//! entries of each key (`Table`), so that where several candidates would do, the same
//! one wins. The base's candidates are not put in a map: their hashes are computed in one
//! pass and looked up through a bit filter (a map is built once many lookups hit).

use crate::btf::*;
use crate::btfmut::{for_each_id_slot, MutBtf, MAX_REF_DEPTH};
use crate::fxhash::FxBuild;
use std::collections::{HashMap, VecDeque};

/// `BTF_UNPROCESSED_ID`.
const UNPROCESSED: u32 = u32::MAX;
/// `BTF_IN_PROGRESS_ID`.
const IN_PROGRESS: u32 = u32::MAX - 1;
/// `BTF_MAX_NR_TYPES`.
const MAX_NR_TYPES: u32 = 0x7fff_ffff;
/// Entry of a [`Table`] list: none.
const NONE: u32 = u32::MAX;
/// Depth of libbpf's `btf_dedup_identical_types()` check.
const IDENTICAL_DEPTH: i32 = 16;

#[inline]
fn hc(h: u64, v: u32) -> u64 {
    h.wrapping_mul(31).wrapping_add(u64::from(v))
}

/// The positions (entry counts before the insertion) at which libbpf's `hashmap` grows:
/// when empty, and when `(sz + 1) * 4 / 3 > cap`; each growth doubles `cap` (at least 4).
fn grow_positions() -> Vec<u64> {
    let mut v = vec![0u64];
    let mut cap: u64 = 4;
    while cap < 1 << 40 {
        let mut sz = (cap * 3 / 4).saturating_sub(2);
        while (sz + 1) * 4 / 3 <= cap {
            sz += 1;
        }
        v.push(sz);
        cap *= 2;
    }
    v
}

/// libbpf's `dedup_table`, a `hashmap` used as a multimap (`hashmap__append`): signature
/// hash → candidate type ids. Only the order of the entries of one key matters (entries of
/// other keys sharing a bucket are skipped by the lookup): an insertion puts the entry
/// first, and each growth of the map reverses the entries of every bucket (it re-adds them
/// at the heads of the new buckets in list order). Growth depends only on the number of
/// entries, so each entry keeps its position (the number of entries before it) and the
/// order is worked out when a key has several.
struct Table {
    grows: Vec<u64>,
    /// Entries so far (the base's first).
    sz: u64,
    /// Own entries: key → newest entry.
    heads: HashMap<u64, u32, FxBuild>,
    /// The own ENUM and ENUM64 entries again, by a finer key ([`Dedup::enum_subkey`]):
    /// their signature hash is the name alone, so all anonymous enums share one key, and
    /// only the candidates of equal content and the forward declarations can match.
    enum_heads: HashMap<u64, u32, FxBuild>,
    /// `(type id, position, older entry of the same key)`.
    entries: Vec<(u32, u32, u32)>,
    base: BaseCands,
}

/// The base's entries: every base type but VAR and DATASEC, in id order, with its hash.
struct BaseCands {
    /// Hash of each base type (index = id; VAR, DATASEC and 0 unused).
    hashes: Vec<u64>,
    /// Whether a type is an entry (not VAR or DATASEC, not 0).
    present: Vec<bool>,
    /// The ids of base VAR and DATASEC types (no entries), ascending.
    skipped: Vec<u32>,
    /// Bit filter over the hashes.
    bits: Vec<u64>,
    /// Sorted `(hash, id)`, once lookups that pass the filter get many.
    sorted: Option<Vec<(u64, u32)>>,
    scans: u32,
}

const FILTER_BITS: u32 = 20;

fn filter_bit(h: u64) -> usize {
    (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - FILTER_BITS)) as usize
}

impl BaseCands {
    fn empty() -> Self {
        BaseCands {
            hashes: Vec::new(),
            present: Vec::new(),
            skipped: Vec::new(),
            bits: Vec::new(),
            sorted: None,
            scans: 0,
        }
    }

    fn count(&self) -> u64 {
        (self.hashes.len().saturating_sub(1) - self.skipped.len()) as u64
    }

    fn pos(&self, id: u32) -> u32 {
        id - 1 - self.skipped.partition_point(|&s| s < id) as u32
    }

    /// `(id, position)` of the base entries with hash `h`, ascending.
    fn lookup(&mut self, h: u64, out: &mut Vec<(u32, u32)>) {
        if self.bits.is_empty() || self.bits[filter_bit(h) / 64] & (1 << (filter_bit(h) % 64)) == 0
        {
            return;
        }
        if self.sorted.is_none() {
            self.scans += 1;
            if self.scans <= 64 {
                for (id, &x) in self.hashes.iter().enumerate() {
                    if x == h && self.present[id] {
                        out.push((id as u32, self.pos(id as u32)));
                    }
                }
                return;
            }
            let mut v: Vec<(u64, u32)> = (1..self.hashes.len())
                .filter(|&i| self.present[i])
                .map(|i| (self.hashes[i], i as u32))
                .collect();
            v.sort_unstable();
            self.sorted = Some(v);
        }
        let sorted = self.sorted.as_ref().expect("built above");
        let from = sorted.partition_point(|&(x, _)| x < h);
        for &(x, id) in &sorted[from..] {
            if x != h {
                break;
            }
            out.push((id, self.pos(id)));
        }
    }
}

impl Table {
    fn grows_through(&self, pos: u64) -> usize {
        self.grows.partition_point(|&g| g <= pos)
    }

    /// Append the `(id, position)` of the own entries of `key` in `map`, oldest first.
    fn own_list(&self, map: &HashMap<u64, u32, FxBuild>, key: u64, out: &mut Vec<(u32, u32)>) {
        let from = out.len();
        let mut e = map.get(&key).copied().unwrap_or(NONE);
        while e != NONE {
            let (id, pos, next) = self.entries[e as usize];
            out.push((id, pos));
            e = next;
        }
        out[from..].reverse();
    }

    /// The ids of `entries` (`(id, position)` of entries of one key, any subset of
    /// them), in the order libbpf's hash map yields them, into `out`.
    fn order(&self, entries: &mut [(u32, u32)], out: &mut Vec<u32>) {
        out.clear();
        match entries.len() {
            0 => return,
            1 => {
                out.push(entries[0].0);
                return;
            }
            _ => {}
        }
        if !entries.windows(2).all(|w| w[0].1 < w[1].1) {
            entries.sort_unstable_by_key(|e| e.1);
        }
        let mut dq: VecDeque<u32> = VecDeque::with_capacity(entries.len());
        let mut rev = false;
        let mut last = None;
        for &(id, pos) in entries.iter() {
            let g = self.grows_through(u64::from(pos));
            if let Some(l) = last {
                if (g - l) % 2 == 1 {
                    rev = !rev;
                }
            }
            if rev {
                dq.push_back(id);
            } else {
                dq.push_front(id);
            }
            last = Some(g);
        }
        let now = self.grows_through(self.sz.saturating_sub(1));
        if let Some(l) = last {
            if (now - l) % 2 == 1 {
                rev = !rev;
            }
        }
        if rev {
            out.extend(dq.iter().rev());
        } else {
            out.extend(dq.iter());
        }
    }

    /// The candidates of key `h`, in libbpf's iteration order, into `out`.
    fn cands(&mut self, h: u64, out: &mut Vec<u32>, scratch: &mut Vec<(u32, u32)>) {
        scratch.clear();
        self.base.lookup(h, scratch);
        self.own_list(&self.heads, h, scratch);
        self.order(scratch, out);
    }

    /// `btf_dedup_table_add()`; an enum also under its finer key `sub`.
    fn add(&mut self, h: u64, id: u32, sub: Option<u64>) {
        let pos = self.sz as u32;
        let head = self.heads.entry(h).or_insert(NONE);
        self.entries.push((id, pos, *head));
        *head = (self.entries.len() - 1) as u32;
        if let Some(k) = sub {
            let head = self.enum_heads.entry(k).or_insert(NONE);
            self.entries.push((id, pos, *head));
            *head = (self.entries.len() - 1) as u32;
        }
        self.sz += 1;
    }
}

struct Dedup<'m, 'a> {
    b: &'m mut MutBtf<'a>,
    base: Option<&'a Btf<'a>>,
    start: u32,
    count: u32,
    map: Vec<u32>,
    hypot_map: Vec<u32>,
    hypot_list: Vec<u32>,
    hypot_adjust_canon: bool,
    table: Table,
    cands: Vec<u32>,
    scratch: Vec<(u32, u32)>,
    stack: Vec<(u32, u32)>,
}

impl Dedup<'_, '_> {
    /// Word `k` of type `id` (0 `name_off`, 1 `info`, 2 `size`/`type`, 3.. extra); all 0
    /// for void and ids out of range.
    #[inline]
    fn w(&self, id: u32, k: usize) -> u32 {
        if id >= self.start {
            let i = (id - self.start) as usize;
            match self.b.offs.get(i) {
                Some(&o) => self.b.words.get(o as usize + k).copied().unwrap_or(0),
                None => 0,
            }
        } else if id == 0 {
            0
        } else {
            self.base.map_or(0, |b| b.type_word(id, k))
        }
    }

    fn set_w(&mut self, id: u32, k: usize, v: u32) {
        if id >= self.start {
            if let Some(&o) = self.b.offs.get((id - self.start) as usize) {
                self.b.words[o as usize + k] = v;
            }
        }
    }

    #[inline]
    fn kind(&self, id: u32) -> u32 {
        info_kind(self.w(id, 1))
    }

    #[inline]
    fn map_of(&self, id: u32) -> u32 {
        self.map.get(id as usize).copied().unwrap_or(UNPROCESSED)
    }

    fn is_mapped(&self, id: u32) -> bool {
        self.map_of(id) <= MAX_NR_TYPES
    }

    /// `resolve_type_id()`.
    fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..=self.map.len() {
            let m = self.map_of(id);
            if m > MAX_NR_TYPES || m == id {
                return id;
            }
            id = m;
        }
        id
    }

    /// `resolve_fwd_id()`.
    fn resolve_fwd(&self, id: u32) -> u32 {
        if self.kind(id) != KIND_FWD {
            return id;
        }
        let r = self.resolve(id);
        if self.kind(r) != KIND_FWD {
            r
        } else {
            id
        }
    }

    // Signature hashes.
    fn hash_common(&self, id: u32) -> u64 {
        hc(hc(hc(0, self.w(id, 0)), self.w(id, 1)), self.w(id, 2))
    }
    fn hash_typedef(&self, id: u32) -> u64 {
        hc(hc(0, self.w(id, 0)), self.w(id, 1))
    }
    fn hash_int_decl_tag(&self, id: u32) -> u64 {
        hc(self.hash_common(id), self.w(id, 3))
    }
    fn hash_enum(&self, id: u32) -> u64 {
        hc(0, self.w(id, 0))
    }
    fn hash_struct(&self, id: u32) -> u64 {
        let mut h = self.hash_common(id);
        for i in 0..info_vlen(self.w(id, 1)) as usize {
            h = hc(h, self.w(id, 3 + 3 * i));
            h = hc(h, self.w(id, 5 + 3 * i));
        }
        h
    }
    fn hash_array(&self, id: u32) -> u64 {
        let h = self.hash_common(id);
        hc(hc(hc(h, self.w(id, 3)), self.w(id, 4)), self.w(id, 5))
    }
    fn hash_fnproto(&self, id: u32) -> u64 {
        let mut h = self.hash_common(id);
        for i in 0..info_vlen(self.w(id, 1)) as usize {
            h = hc(h, self.w(id, 3 + 2 * i));
            h = hc(h, self.w(id, 4 + 2 * i));
        }
        h
    }

    // Equality checks.
    fn equal_common(&self, a: u32, b: u32) -> bool {
        self.w(a, 0) == self.w(b, 0) && self.w(a, 1) == self.w(b, 1) && self.w(a, 2) == self.w(b, 2)
    }
    fn equal_typedef(&self, a: u32, b: u32) -> bool {
        self.w(a, 0) == self.w(b, 0) && self.w(a, 1) == self.w(b, 1)
    }
    fn equal_int_tag(&self, a: u32, b: u32) -> bool {
        self.equal_common(a, b) && self.w(a, 3) == self.w(b, 3)
    }
    fn equal_enum(&self, a: u32, b: u32) -> bool {
        if !self.equal_common(a, b) {
            return false;
        }
        let info = self.w(a, 1);
        let per = if info_kind(info) == KIND_ENUM { 2 } else { 3 };
        (0..info_vlen(info) as usize * per).all(|k| self.w(a, 3 + k) == self.w(b, 3 + k))
    }
    fn is_enum_fwd(&self, id: u32) -> bool {
        let info = self.w(id, 1);
        matches!(info_kind(info), KIND_ENUM | KIND_ENUM64) && info_vlen(info) == 0
    }
    fn compat_enum(&self, a: u32, b: u32) -> bool {
        if !self.is_enum_fwd(a) && !self.is_enum_fwd(b) {
            return self.equal_enum(a, b);
        }
        self.w(a, 0) == self.w(b, 0)
            && matches!(self.kind(a), KIND_ENUM | KIND_ENUM64)
            && matches!(self.kind(b), KIND_ENUM | KIND_ENUM64)
    }
    fn shallow_equal_struct(&self, a: u32, b: u32) -> bool {
        if !self.equal_common(a, b) {
            return false;
        }
        (0..info_vlen(self.w(a, 1)) as usize).all(|i| {
            self.w(a, 3 + 3 * i) == self.w(b, 3 + 3 * i)
                && self.w(a, 5 + 3 * i) == self.w(b, 5 + 3 * i)
        })
    }
    fn equal_array(&self, a: u32, b: u32) -> bool {
        self.equal_common(a, b) && (3..6).all(|k| self.w(a, k) == self.w(b, k))
    }
    fn compat_array(&self, a: u32, b: u32) -> bool {
        self.equal_common(a, b) && self.w(a, 5) == self.w(b, 5)
    }
    fn equal_fnproto(&self, a: u32, b: u32) -> bool {
        self.equal_common(a, b)
            && (0..2 * info_vlen(self.w(a, 1)) as usize)
                .all(|k| self.w(a, 3 + k) == self.w(b, 3 + k))
    }
    fn compat_fnproto(&self, a: u32, b: u32) -> bool {
        self.w(a, 0) == self.w(b, 0)
            && self.w(a, 1) == self.w(b, 1)
            && (0..info_vlen(self.w(a, 1)) as usize)
                .all(|i| self.w(a, 3 + 2 * i) == self.w(b, 3 + 2 * i))
    }

    fn cands_of(&mut self, h: u64) -> Vec<u32> {
        let mut out = std::mem::take(&mut self.cands);
        let mut scratch = std::mem::take(&mut self.scratch);
        self.table.cands(h, &mut out, &mut scratch);
        self.scratch = scratch;
        out
    }

    fn give_back(&mut self, c: Vec<u32>) {
        self.cands = c;
    }

    /// `btf_dedup_prim_type()`.
    fn prim_type(&mut self, id: u32) -> Result<(), String> {
        let kind = self.kind(id);
        let h = match kind {
            KIND_INT => self.hash_int_decl_tag(id),
            KIND_ENUM | KIND_ENUM64 => self.hash_enum(id),
            KIND_FWD | KIND_FLOAT => self.hash_common(id),
            KIND_CONST | KIND_VOLATILE | KIND_RESTRICT | KIND_PTR | KIND_TYPEDEF | KIND_ARRAY
            | KIND_STRUCT | KIND_UNION | KIND_FUNC | KIND_FUNC_PROTO | KIND_VAR | KIND_DATASEC
            | KIND_DECL_TAG | KIND_TYPE_TAG => return Ok(()),
            k => return Err(format!("type [{id}]: unknown kind {k}")),
        };
        let mut new_id = id;
        let is_enum = matches!(kind, KIND_ENUM | KIND_ENUM64);
        let cands = if is_enum && !self.is_enum_fwd(id) {
            self.enum_cands(id, h)
        } else {
            self.cands_of(h)
        };
        for &c in &cands {
            match kind {
                KIND_INT => {
                    if self.equal_int_tag(id, c) {
                        new_id = c;
                        break;
                    }
                }
                KIND_ENUM | KIND_ENUM64 => {
                    if self.equal_enum(id, c) {
                        new_id = c;
                        break;
                    }
                    if self.compat_enum(id, c) {
                        if self.is_enum_fwd(id) {
                            new_id = c;
                            break;
                        }
                        // resolve canonical enum fwd to full enum
                        if let Some(m) = self.map.get_mut(c as usize) {
                            *m = id;
                        }
                    }
                }
                _ => {
                    if self.equal_common(id, c) {
                        new_id = c;
                        break;
                    }
                }
            }
        }
        self.give_back(cands);
        self.map[id as usize] = new_id;
        if new_id == id {
            let sub = is_enum.then(|| self.enum_subkey(id));
            self.table.add(h, id, sub);
        }
        Ok(())
    }

    /// The finer key of an enum in [`Table::enum_heads`]: its content (name, `info`, size,
    /// values) for a full enum, its name for a forward declaration (no values).
    fn enum_subkey(&self, id: u32) -> u64 {
        let info = self.w(id, 1);
        if info_vlen(info) == 0 {
            return hc(hc(0x5eed_f00d, self.w(id, 0)), 0);
        }
        let per = if info_kind(info) == KIND_ENUM { 2 } else { 3 };
        let mut h = self.hash_common(id);
        for k in 0..info_vlen(info) as usize * per {
            h = hc(h, self.w(id, 3 + k));
        }
        h
    }

    /// The candidates of full enum `id` (key `h`) that can match it: of equal content, or
    /// forward declarations of its name (`btf_compat_enum`); the others of its key are
    /// neither equal nor compatible and change nothing. In libbpf's order.
    fn enum_cands(&mut self, id: u32, h: u64) -> Vec<u32> {
        let mut out = std::mem::take(&mut self.cands);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        self.table.base.lookup(h, &mut scratch);
        scratch.retain(|&(c, _)| self.is_enum_fwd(c) || self.equal_enum(id, c));
        let fwd = hc(hc(0x5eed_f00d, self.w(id, 0)), 0);
        let full = self.enum_subkey(id);
        self.table
            .own_list(&self.table.enum_heads, full, &mut scratch);
        if fwd != full {
            self.table
                .own_list(&self.table.enum_heads, fwd, &mut scratch);
        }
        self.table.order(&mut scratch, &mut out);
        self.scratch = scratch;
        out
    }

    /// `btf_dedup_identical_types()`.
    fn identical(&self, mut a: u32, mut b: u32, depth: i32) -> bool {
        loop {
            if depth <= 0 {
                return false;
            }
            let (ka, kb) = (self.kind(a), self.kind(b));
            if ka != kb {
                return false;
            }
            match ka {
                0 => return true,
                KIND_INT => return self.equal_int_tag(a, b),
                KIND_ENUM | KIND_ENUM64 => return self.compat_enum(a, b),
                KIND_FWD | KIND_FLOAT => return self.equal_common(a, b),
                KIND_CONST | KIND_VOLATILE | KIND_RESTRICT | KIND_PTR | KIND_TYPEDEF
                | KIND_FUNC | KIND_TYPE_TAG => {
                    if self.w(a, 1) != self.w(b, 1) || self.w(a, 0) != self.w(b, 0) {
                        return false;
                    }
                    (a, b) = (self.w(a, 2), self.w(b, 2));
                }
                // libbpf compares the first array's index and element types with
                // themselves (`a2 = btf_array(t1)`): compatible arrays are identical.
                KIND_ARRAY => return self.compat_array(a, b),
                KIND_STRUCT | KIND_UNION => {
                    if !self.shallow_equal_struct(a, b) {
                        return false;
                    }
                    return (0..info_vlen(self.w(a, 1)) as usize).all(|i| {
                        let (ma, mb) = (self.w(a, 4 + 3 * i), self.w(b, 4 + 3 * i));
                        ma == mb || self.identical(ma, mb, depth - 1)
                    });
                }
                KIND_FUNC_PROTO => {
                    if !self.compat_fnproto(a, b) {
                        return false;
                    }
                    let (ra, rb) = (self.w(a, 2), self.w(b, 2));
                    if ra != rb && !self.identical(ra, rb, depth - 1) {
                        return false;
                    }
                    return (0..info_vlen(self.w(a, 1)) as usize).all(|i| {
                        let (pa, pb) = (self.w(a, 4 + 2 * i), self.w(b, 4 + 2 * i));
                        pa == pb || self.identical(pa, pb, depth - 1)
                    });
                }
                _ => return false,
            }
        }
    }

    fn hypot_add(&mut self, from: u32, to: u32) {
        self.hypot_list.push(from);
        self.hypot_map[from as usize] = to;
    }

    fn clear_hypot(&mut self) {
        for &i in &self.hypot_list {
            self.hypot_map[i as usize] = UNPROCESSED;
        }
        self.hypot_list.clear();
        self.hypot_adjust_canon = false;
    }

    /// `btf_dedup_is_equiv()`: 1 if equivalent, 0 if not, negative on error. libbpf
    /// recurses; every non-positive result ends the whole check, so this is a depth-first
    /// walk over the pairs of types in the same order, with an explicit stack.
    fn is_equiv(&mut self, cand: u32, canon: u32) -> i32 {
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        stack.push((cand, canon));
        let mut res = 1;
        while let Some((cand, canon)) = stack.pop() {
            let r = self.equiv_step(cand, canon, &mut stack);
            if r <= 0 {
                res = r;
                break;
            }
        }
        stack.clear();
        self.stack = stack;
        res
    }

    /// One pair of [`Dedup::is_equiv`]: its result, or 1 with the pairs of the referenced
    /// types pushed (to be checked in order).
    fn equiv_step(&mut self, cand: u32, canon: u32, stack: &mut Vec<(u32, u32)>) -> i32 {
        if self.resolve(cand) == self.resolve(canon) {
            return 1;
        }
        let canon = self.resolve_fwd(canon);
        let Some(&hyp) = self.hypot_map.get(canon as usize) else {
            return -22;
        };
        if hyp <= MAX_NR_TYPES {
            if hyp == cand {
                return 1;
            }
            return i32::from(self.identical(hyp, cand, IDENTICAL_DEPTH));
        }
        self.hypot_add(canon, cand);
        if self.w(cand, 0) != self.w(canon, 0) {
            return 0;
        }
        let (ck, nk) = (self.kind(cand), self.kind(canon));
        if (ck == KIND_FWD || nk == KIND_FWD) && ck != nk {
            let fwd_kind = |id: u32| {
                if info_kflag(self.w(id, 1)) {
                    KIND_UNION
                } else {
                    KIND_STRUCT
                }
            };
            let (real, fwd) = if ck == KIND_FWD {
                (nk, fwd_kind(cand))
            } else {
                let fk = fwd_kind(canon);
                // we'd need to resolve base FWD to STRUCT/UNION
                if fk == ck && canon < self.start {
                    self.hypot_adjust_canon = true;
                }
                (ck, fk)
            };
            return i32::from(fwd == real);
        }
        if ck != nk {
            return 0;
        }
        let push_rev = |stack: &mut Vec<(u32, u32)>,
                        pairs: &mut dyn Iterator<Item = (u32, u32)>| {
            let at = stack.len();
            stack.extend(pairs);
            stack[at..].reverse();
        };
        match ck {
            KIND_INT => i32::from(self.equal_int_tag(cand, canon)),
            KIND_ENUM | KIND_ENUM64 => i32::from(self.compat_enum(cand, canon)),
            KIND_FWD | KIND_FLOAT => i32::from(self.equal_common(cand, canon)),
            KIND_CONST | KIND_VOLATILE | KIND_RESTRICT | KIND_PTR | KIND_TYPEDEF | KIND_FUNC
            | KIND_TYPE_TAG => {
                if self.w(cand, 1) != self.w(canon, 1) {
                    return 0;
                }
                stack.push((self.w(cand, 2), self.w(canon, 2)));
                1
            }
            KIND_ARRAY => {
                if !self.compat_array(cand, canon) {
                    return 0;
                }
                stack.push((self.w(cand, 3), self.w(canon, 3)));
                stack.push((self.w(cand, 4), self.w(canon, 4)));
                1
            }
            KIND_STRUCT | KIND_UNION => {
                if !self.shallow_equal_struct(cand, canon) {
                    return 0;
                }
                let n = info_vlen(self.w(cand, 1)) as usize;
                push_rev(
                    stack,
                    &mut (0..n).map(|i| (self.w(cand, 4 + 3 * i), self.w(canon, 4 + 3 * i))),
                );
                1
            }
            KIND_FUNC_PROTO => {
                if !self.compat_fnproto(cand, canon) {
                    return 0;
                }
                let n = info_vlen(self.w(cand, 1)) as usize;
                push_rev(
                    stack,
                    &mut std::iter::once((self.w(cand, 2), self.w(canon, 2)))
                        .chain((0..n).map(|i| (self.w(cand, 4 + 2 * i), self.w(canon, 4 + 2 * i)))),
                );
                1
            }
            _ => -22,
        }
    }

    /// `btf_dedup_merge_hypot_map()`.
    fn merge_hypot(&mut self) {
        for i in 0..self.hypot_list.len() {
            let canon = self.hypot_list[i];
            let targ = self.hypot_map[canon as usize];
            let t_id = self.resolve(targ);
            let c_id = self.resolve(canon);
            let (tk, ck) = (self.kind(t_id), self.kind(c_id));
            if tk != KIND_FWD && ck == KIND_FWD {
                self.map[c_id as usize] = t_id;
            }
            if self.hypot_adjust_canon {
                continue;
            }
            if tk == KIND_FWD && ck != KIND_FWD {
                self.map[t_id as usize] = c_id;
            }
            if matches!(tk, KIND_STRUCT | KIND_UNION)
                && ck != KIND_FWD
                && self.is_mapped(c_id)
                && !self.is_mapped(t_id)
            {
                self.map[t_id as usize] = c_id;
            }
        }
    }

    /// `btf_dedup_struct_type()`.
    fn struct_type(&mut self, id: u32) -> Result<(), String> {
        if self.map[id as usize] <= MAX_NR_TYPES {
            return Ok(());
        }
        let kind = self.kind(id);
        let h = match kind {
            KIND_TYPEDEF => self.hash_typedef(id),
            KIND_STRUCT | KIND_UNION => self.hash_struct(id),
            _ => return Ok(()),
        };
        let mut new_id = id;
        let cands = self.cands_of(h);
        let mut err = None;
        for &c in &cands {
            let same = if kind == KIND_TYPEDEF {
                self.equal_typedef(id, c)
            } else {
                self.shallow_equal_struct(id, c)
            };
            if !same {
                continue;
            }
            self.clear_hypot();
            let eq = self.is_equiv(id, c);
            if eq < 0 {
                err = Some(format!("type [{id}]: type graph equivalence check failed"));
                break;
            }
            if eq == 0 {
                continue;
            }
            self.merge_hypot();
            if self.hypot_adjust_canon {
                continue;
            }
            new_id = c;
            break;
        }
        self.give_back(cands);
        if let Some(e) = err {
            return Err(e);
        }
        self.map[id as usize] = new_id;
        if new_id == id {
            self.table.add(h, id, None);
        }
        Ok(())
    }

    /// `btf_dedup_resolve_fwds()`: FWDs still canonical become the struct or union of their
    /// name, when exactly one canonical struct or union (base included) has it.
    fn resolve_fwds(&mut self) {
        let n = self.b.offs.len() as u32;
        let fwds: Vec<u32> = (self.start..self.start + n)
            .filter(|&id| self.kind(id) == KIND_FWD && self.map[id as usize] == id)
            .collect();
        if fwds.is_empty() {
            return;
        }
        let wanted: std::collections::HashSet<u32> = fwds.iter().map(|&id| self.w(id, 0)).collect();
        // name_off → the canonical struct/union of that name, 0 when several.
        let mut names: HashMap<u32, u32> = HashMap::new();
        for id in 1..self.count {
            if !matches!(self.kind(id), KIND_STRUCT | KIND_UNION) || self.map[id as usize] != id {
                continue;
            }
            let name = self.w(id, 0);
            if wanted.contains(&name) {
                names.entry(name).and_modify(|c| *c = 0).or_insert(id);
            }
        }
        for id in fwds {
            let Some(&c) = names.get(&self.w(id, 0)) else {
                continue;
            };
            if c == 0 {
                continue;
            }
            let union = info_kflag(self.w(id, 1));
            let ck = self.kind(c);
            if (ck == KIND_STRUCT && union) || (ck == KIND_UNION && !union) {
                continue;
            }
            self.map[id as usize] = c;
        }
    }

    /// [`Dedup::ref_type`] of a referenced type: most are canonical already (mapped to
    /// themselves), which needs no call.
    #[inline]
    fn ref_of(&mut self, id: u32, depth: usize) -> Result<u32, String> {
        match self.map.get(id as usize) {
            Some(&m) if m == id => Ok(id),
            _ => self.ref_type(id, depth),
        }
    }

    /// `btf_dedup_ref_type()`.
    fn ref_type(&mut self, id: u32, depth: usize) -> Result<u32, String> {
        let m = self.map_of(id);
        if m == IN_PROGRESS {
            return Err(format!("type [{id}]: reference loop"));
        }
        if m <= MAX_NR_TYPES {
            return Ok(self.resolve(id));
        }
        if id >= self.count {
            return Err(format!("type [{id}] refers beyond the last type"));
        }
        if depth > MAX_REF_DEPTH {
            return Err(format!(
                "type [{id}]: a chain of more than {MAX_REF_DEPTH} reference types"
            ));
        }
        self.map[id as usize] = IN_PROGRESS;
        let kind = self.kind(id);
        let h = match kind {
            KIND_CONST | KIND_VOLATILE | KIND_RESTRICT | KIND_PTR | KIND_FUNC | KIND_TYPE_TAG
            | KIND_DECL_TAG => {
                let r = self.ref_of(self.w(id, 2), depth + 1)?;
                self.set_w(id, 2, r);
                if kind == KIND_DECL_TAG {
                    self.hash_int_decl_tag(id)
                } else {
                    self.hash_common(id)
                }
            }
            KIND_ARRAY => {
                let r = self.ref_of(self.w(id, 3), depth + 1)?;
                self.set_w(id, 3, r);
                let r = self.ref_of(self.w(id, 4), depth + 1)?;
                self.set_w(id, 4, r);
                self.hash_array(id)
            }
            KIND_FUNC_PROTO => {
                let r = self.ref_of(self.w(id, 2), depth + 1)?;
                self.set_w(id, 2, r);
                for i in 0..info_vlen(self.w(id, 1)) as usize {
                    let r = self.ref_of(self.w(id, 4 + 2 * i), depth + 1)?;
                    self.set_w(id, 4 + 2 * i, r);
                }
                self.hash_fnproto(id)
            }
            k => {
                return Err(format!(
                    "type [{id}]: unexpected kind {k} among reference types"
                ))
            }
        };
        let mut new_id = id;
        let cands = self.cands_of(h);
        for &c in &cands {
            let eq = match kind {
                KIND_DECL_TAG => self.equal_int_tag(id, c),
                KIND_ARRAY => self.equal_array(id, c),
                KIND_FUNC_PROTO => self.equal_fnproto(id, c),
                _ => self.equal_common(id, c),
            };
            if eq {
                new_id = c;
                break;
            }
        }
        self.give_back(cands);
        self.map[id as usize] = new_id;
        if new_id == id {
            self.table.add(h, id, None);
        }
        Ok(new_id)
    }
}

/// The base's entries of the table (`btf_dedup_prep()`).
fn base_cands(base: &Btf<'_>) -> Result<BaseCands, String> {
    let n = base.type_count() as usize;
    let mut c = BaseCands::empty();
    c.hashes = vec![0; n];
    c.present = vec![false; n];
    c.bits = vec![0; 1 << (FILTER_BITS - 6)];
    let types = base.own_types();
    let little = base.endian == kfunc_layout::Endian::Little;
    let word = |off: usize, k: usize| -> u32 {
        let b: [u8; 4] = match types.get(off + 4 * k..off + 4 * k + 4) {
            Some(b) => [b[0], b[1], b[2], b[3]],
            None => return 0,
        };
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    for (i, &off) in base.own_offsets().iter().enumerate() {
        let id = base.start_id() as usize + i;
        let off = off as usize;
        let (name, info, size) = (word(off, 0), word(off, 1), word(off, 2));
        let common = hc(hc(hc(0, name), info), size);
        let h = match info_kind(info) {
            KIND_VAR | KIND_DATASEC => {
                c.skipped.push(id as u32);
                continue;
            }
            KIND_CONST | KIND_VOLATILE | KIND_RESTRICT | KIND_PTR | KIND_FWD | KIND_FUNC
            | KIND_FLOAT | KIND_TYPE_TAG => common,
            KIND_TYPEDEF => hc(hc(0, name), info),
            KIND_INT | KIND_DECL_TAG => hc(common, word(off, 3)),
            KIND_ENUM | KIND_ENUM64 => hc(0, name),
            KIND_STRUCT | KIND_UNION => {
                let mut h = common;
                for m in 0..info_vlen(info) as usize {
                    h = hc(h, word(off, 3 + 3 * m));
                    h = hc(h, word(off, 5 + 3 * m));
                }
                h
            }
            KIND_ARRAY => hc(hc(hc(common, word(off, 3)), word(off, 4)), word(off, 5)),
            KIND_FUNC_PROTO => {
                let mut h = common;
                for p in 0..info_vlen(info) as usize {
                    h = hc(h, word(off, 3 + 2 * p));
                    h = hc(h, word(off, 4 + 2 * p));
                }
                h
            }
            k => return Err(format!("unknown kind {k} for type [{id}]")),
        };
        c.hashes[id] = h;
        c.present[id] = true;
        let b = filter_bit(h);
        c.bits[b / 64] |= 1 << (b % 64);
    }
    Ok(c)
}

/// libbpf's type deduplication on `b` (its strings are deduplicated already): see the
/// module docs. Duplicates are dropped and every type id renumbered.
pub fn dedup_types(b: &mut MutBtf<'_>) -> Result<(), String> {
    let base = b.base;
    let start = b.start_id;
    let count = b.type_count();
    let n = b.offs.len();
    let mut map = vec![UNPROCESSED; count as usize];
    map[0] = 0;
    for (i, m) in map.iter_mut().enumerate().take(start as usize).skip(1) {
        *m = i as u32; // all base types are self-canonical
    }
    for i in 0..n {
        let info = b.words[b.offs[i] as usize + 1];
        if matches!(info_kind(info), KIND_VAR | KIND_DATASEC) {
            map[start as usize + i] = start + i as u32;
        }
    }
    let bc = match base {
        Some(bb) => base_cands(bb)?,
        None => BaseCands::empty(),
    };
    let table = Table {
        grows: grow_positions(),
        sz: bc.count(),
        heads: HashMap::with_capacity_and_hasher(n, FxBuild::default()),
        enum_heads: HashMap::default(),
        entries: Vec::with_capacity(n),
        base: bc,
    };
    let mut d = Dedup {
        b,
        base,
        start,
        count,
        map,
        hypot_map: vec![UNPROCESSED; count as usize],
        hypot_list: Vec::new(),
        hypot_adjust_canon: false,
        table,
        cands: Vec::new(),
        scratch: Vec::new(),
        stack: Vec::new(),
    };
    let ids = start..start + n as u32;
    for id in ids.clone() {
        d.prim_type(id)?;
    }
    for id in ids.clone() {
        d.struct_type(id)?;
    }
    d.resolve_fwds();
    for id in ids {
        d.ref_type(id, 0)?;
    }
    let Dedup { b, map, .. } = d;
    compact_and_remap(b, &map)
}

/// `btf_dedup_compact_types()` and `btf_dedup_remap_types()`.
fn compact_and_remap(b: &mut MutBtf<'_>, map: &[u32]) -> Result<(), String> {
    let start = b.start_id;
    let n = b.offs.len();
    let resolve = |mut id: u32| -> u32 {
        for _ in 0..=map.len() {
            match map.get(id as usize) {
                Some(&m) if m <= MAX_NR_TYPES && m != id => id = m,
                _ => break,
            }
        }
        id
    };
    // Compaction map: base ids unchanged, own ids to their new id (UNPROCESSED: dropped).
    let mut new_ids = vec![UNPROCESSED; n];
    let mut next = start;
    let mut w = 0usize;
    let mut kept_loaded = 0;
    let mut offs = Vec::with_capacity(n);
    for i in 0..n {
        let s = b.offs[i] as usize;
        let e = b.offs.get(i + 1).map_or(b.words.len(), |&e| e as usize);
        if map[start as usize + i] != start + i as u32 {
            continue;
        }
        new_ids[i] = next;
        next += 1;
        if i < b.loaded {
            kept_loaded += 1;
        }
        offs.push(w as u32);
        b.words.copy_within(s..e, w);
        w += e - s;
    }
    b.words.truncate(w);
    b.offs = offs;
    b.loaded = kept_loaded;
    for i in 0..b.offs.len() {
        let s0 = b.offs[i] as usize;
        let info = b.words[s0 + 1];
        let mut bad = None;
        let words = &mut b.words;
        for_each_id_slot(info, |k| {
            let Some(r) = words.get_mut(s0 + k) else {
                return;
            };
            let c = resolve(*r);
            let nv = if c < start {
                c
            } else {
                new_ids
                    .get((c - start) as usize)
                    .copied()
                    .unwrap_or(UNPROCESSED)
            };
            if nv > MAX_NR_TYPES {
                bad = Some(*r);
            } else {
                *r = nv;
            }
        });
        if let Some(r) = bad {
            return Err(format!(
                "type [{}] refers to type [{r}], which has no deduplicated id",
                start + i as u32
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libbpf's `hashmap` as a multimap, literally: buckets chosen by `hash_bits()`, an
    /// entry added at the head of its bucket, every bucket re-added head first on growth.
    struct LibbpfMap {
        buckets: Vec<Vec<(u64, u32)>>,
        bits: u32,
        sz: usize,
    }

    fn hash_bits(h: u64, bits: u32) -> usize {
        if bits == 0 {
            0
        } else {
            (h.wrapping_mul(11_400_714_819_323_198_485) >> (64 - bits)) as usize
        }
    }

    impl LibbpfMap {
        fn append(&mut self, key: u64, v: u32) {
            let cap = self.buckets.len();
            if cap == 0 || (self.sz + 1) * 4 / 3 > cap {
                let bits = (self.bits + 1).max(2);
                let mut nb: Vec<Vec<(u64, u32)>> = vec![Vec::new(); 1 << bits];
                for b in &self.buckets {
                    for &(k, x) in b {
                        nb[hash_bits(k, bits)].insert(0, (k, x));
                    }
                }
                self.buckets = nb;
                self.bits = bits;
            }
            self.buckets[hash_bits(key, self.bits)].insert(0, (key, v));
            self.sz += 1;
        }
        fn values(&self, key: u64) -> Vec<u32> {
            if self.buckets.is_empty() {
                return Vec::new();
            }
            self.buckets[hash_bits(key, self.bits)]
                .iter()
                .filter(|e| e.0 == key)
                .map(|e| e.1)
                .collect()
        }
    }

    /// [`Table`] yields the entries of a key in the order libbpf's map does, through many
    /// growths, with keys sharing buckets.
    #[test]
    fn table_order_is_libbpf_hashmap_order() {
        let mut lib = LibbpfMap {
            buckets: Vec::new(),
            bits: 0,
            sz: 0,
        };
        let mut t = Table {
            grows: grow_positions(),
            sz: 0,
            heads: HashMap::default(),
            enum_heads: HashMap::default(),
            entries: Vec::new(),
            base: BaseCands::empty(),
        };
        let mut x: u64 = 12345;
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        for i in 0..6000u32 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Few keys, some frequent: long lists of one key, and keys that collide.
            let key = match (x >> 33) % 10 {
                0..=3 => 7,
                4..=5 => (x >> 40) % 3,
                _ => (x >> 20) % 500,
            };
            lib.append(key, i);
            t.add(key, i, None);
            if i % 97 == 0 || i < 40 {
                for k in [0, 1, 2, 7, key] {
                    t.cands(k, &mut out, &mut scratch);
                    assert_eq!(out, lib.values(k), "key {k} after {i} entries");
                }
            }
        }
    }
}
