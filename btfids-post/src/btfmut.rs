//! A modifiable BTF with libbpf's semantics (Linux 7.3's `tools/lib/bpf/btf.c`), for the
//! phases of 7.3's resolve_btfids that rewrite BTF: `btf2btf` appends types, `finalize`
//! deduplicates ([`MutBtf::dedup`], [`crate::dedup`]) and sorts by name
//! ([`MutBtf::sort_by_name`]), and [`MutBtf::to_raw`] is `btf__raw_data()`.
//!
//! The own types (the split part of a module's BTF, or all of vmlinux's) are held as one
//! flat array of host-order words, as libbpf holds them (`struct btf_type` and the words
//! after it, one type after another), with the start of each type; the base stays the
//! borrowed [`Btf`]. Nothing is allocated per type.
//!
//! Strings follow libbpf: [`MutBtf::add_str`] first looks the string up in the base, then
//! among the own strings (first occurrence), and appends it otherwise. Since the string
//! section `btf__dedup` writes depends only on the contents the types refer to, in the
//! order they refer to them, the loaded own strings are deduplicated when the BTF is
//! loaded (in one pass that leaves a section already in that order untouched), and
//! [`MutBtf::dedup_strings`] only places the strings added since.

use crate::btf::*;
use crate::fxhash::FxBuild;
use crate::strset::{self, SortedIdx, StrIdx};
use kfunc_layout::Endian;
use std::borrow::Cow;
use std::collections::HashMap;

/// One type: `struct btf_type` and the words after it, host order (owned: to add).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MType {
    /// `name_off`.
    pub name_off: u32,
    /// `info` (vlen, kind, kind_flag).
    pub info: u32,
    /// `size` or `type`.
    pub size_type: u32,
    /// The kind-specific words after `struct btf_type`.
    pub extra: Vec<u32>,
}

/// Whether `size_type` of a kind is a type id (`BTF_FIELD_ITER_IDS`).
pub const fn refers_size_type(kind: u32) -> bool {
    matches!(
        kind,
        KIND_FWD
            | KIND_CONST
            | KIND_VOLATILE
            | KIND_RESTRICT
            | KIND_PTR
            | KIND_TYPEDEF
            | KIND_FUNC
            | KIND_VAR
            | KIND_DECL_TAG
            | KIND_TYPE_TAG
            | KIND_FUNC_PROTO
    )
}

/// Call `f` with the index, in a type's record (0 `name_off`, 1 `info`, 2 `size`/`type`,
/// 3.. the words after `struct btf_type`), of every word that is a type id
/// (`BTF_FIELD_ITER_IDS`, in libbpf's order).
#[inline]
pub fn for_each_id_slot(info: u32, mut f: impl FnMut(usize)) {
    let kind = info_kind(info);
    if refers_size_type(kind) {
        f(2);
    }
    let v = info_vlen(info) as usize;
    let (first, stride, n) = match kind {
        KIND_ARRAY => (3, 1, 2),
        KIND_STRUCT | KIND_UNION => (4, 3, v),
        KIND_FUNC_PROTO => (4, 2, v),
        KIND_DATASEC => (3, 3, v),
        _ => return,
    };
    for i in 0..n {
        f(first + stride * i);
    }
}

/// Call `f` with the index in a type's record (as [`for_each_id_slot`]) of every word that
/// is a string offset (`BTF_FIELD_ITER_STRS`, in order).
#[inline]
pub fn for_each_str_slot(info: u32, mut f: impl FnMut(usize)) {
    f(0);
    let v = info_vlen(info) as usize;
    let stride = match info_kind(info) {
        KIND_ENUM => 2,
        KIND_ENUM64 | KIND_STRUCT | KIND_UNION => 3,
        KIND_FUNC_PROTO => 2,
        _ => return,
    };
    for i in 0..v {
        f(3 + stride * i);
    }
}

impl MType {
    /// `BTF_INFO_KIND`.
    pub fn kind(&self) -> u32 {
        info_kind(self.info)
    }
    /// `BTF_INFO_VLEN`.
    pub fn vlen(&self) -> u32 {
        info_vlen(self.info)
    }
    /// `BTF_INFO_KFLAG`.
    pub fn kflag(&self) -> bool {
        info_kflag(self.info)
    }

    /// Decode a borrowed [`Type`].
    pub fn from_type(t: &Type<'_>) -> Self {
        MType {
            name_off: t.name_off,
            info: t.info,
            size_type: t.size_type,
            extra: (0..t.extra.len() / 4).map(|i| t.word(i)).collect(),
        }
    }

    /// Whether `size_type` is a type id (`BTF_FIELD_ITER_IDS`).
    pub fn refers_size_type(&self) -> bool {
        refers_size_type(self.kind())
    }

    fn slot_mut(&mut self, k: usize) -> Option<&mut u32> {
        match k {
            0 => Some(&mut self.name_off),
            1 => Some(&mut self.info),
            2 => Some(&mut self.size_type),
            k => self.extra.get_mut(k - 3),
        }
    }

    /// Call `f` on every type id this type refers to, in libbpf's order.
    pub fn for_each_id_mut(&mut self, mut f: impl FnMut(&mut u32)) {
        for_each_id_slot(self.info, |k| {
            if let Some(w) = self.slot_mut(k) {
                f(w);
            }
        });
    }

    /// Call `f` on every string offset of this type (`BTF_FIELD_ITER_STRS`, in order).
    pub fn for_each_str_mut(&mut self, mut f: impl FnMut(&mut u32)) {
        for_each_str_slot(self.info, |k| {
            if let Some(w) = self.slot_mut(k) {
                f(w);
            }
        });
    }

    /// FUNC_PROTO parameters as `(name_off, type)`.
    pub fn params(&self) -> Vec<(u32, u32)> {
        if self.kind() != KIND_FUNC_PROTO {
            return Vec::new();
        }
        self.extra.chunks_exact(2).map(|c| (c[0], c[1])).collect()
    }
}

/// An own type of a [`MutBtf`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MView<'s> {
    /// `name_off`.
    pub name_off: u32,
    /// `info` (vlen, kind, kind_flag).
    pub info: u32,
    /// `size` or `type`.
    pub size_type: u32,
    /// The kind-specific words after `struct btf_type`.
    pub extra: &'s [u32],
}

impl MView<'_> {
    fn of(rec: &[u32]) -> MView<'_> {
        MView {
            name_off: rec[0],
            info: rec[1],
            size_type: rec[2],
            extra: &rec[3..],
        }
    }
    /// `BTF_INFO_KIND`.
    pub fn kind(&self) -> u32 {
        info_kind(self.info)
    }
    /// `BTF_INFO_VLEN`.
    pub fn vlen(&self) -> u32 {
        info_vlen(self.info)
    }
    /// `BTF_INFO_KFLAG`.
    pub fn kflag(&self) -> bool {
        info_kflag(self.info)
    }
    /// FUNC_PROTO parameters as `(name_off, type)`.
    pub fn params(&self) -> Vec<(u32, u32)> {
        if self.kind() != KIND_FUNC_PROTO {
            return Vec::new();
        }
        self.extra.chunks_exact(2).map(|c| (c[0], c[1])).collect()
    }
    /// An owned copy.
    pub fn to_mtype(&self) -> MType {
        MType {
            name_off: self.name_off,
            info: self.info,
            size_type: self.size_type,
            extra: self.extra.to_vec(),
        }
    }
}

/// A type of a [`MutBtf`]: from the base, or one of its own.
#[derive(Debug, Clone, Copy)]
pub enum TRef<'s> {
    /// A base type.
    Base(Type<'s>),
    /// An own type.
    Own(MView<'s>),
}

impl TRef<'_> {
    /// `BTF_INFO_KIND`.
    pub fn kind(&self) -> u32 {
        info_kind(self.info())
    }
    /// `info`.
    pub fn info(&self) -> u32 {
        match self {
            TRef::Base(t) => t.info,
            TRef::Own(t) => t.info,
        }
    }
    /// `name_off`.
    pub fn name_off(&self) -> u32 {
        match self {
            TRef::Base(t) => t.name_off,
            TRef::Own(t) => t.name_off,
        }
    }
    /// `size` or `type`.
    pub fn size_type(&self) -> u32 {
        match self {
            TRef::Base(t) => t.size_type,
            TRef::Own(t) => t.size_type,
        }
    }
    /// The whole type, decoded.
    pub fn to_mtype(&self) -> MType {
        match self {
            TRef::Base(t) => MType::from_type(t),
            TRef::Own(t) => t.to_mtype(),
        }
    }
}

/// Longest chain of reference types followed by [`MutBtf::dedup`] (libbpf has no limit but
/// the stack; real BTF chains are a few types long).
pub const MAX_REF_DEPTH: usize = 4096;

/// Strings the phases add to module BTF (`btf2btf`'s decl tags and type attribute),
/// looked up in the base with the loaded strings ([`MutBtf::base_prefetch`]).
const PREFETCH: &[&[u8]] = &[
    crate::btf2btf::DECL_TAG_KFUNC.as_bytes(),
    crate::btf2btf::DECL_TAG_FASTCALL.as_bytes(),
    crate::btf2btf::TYPE_ATTR_ARENA.as_bytes(),
];

/// The index of [`MutBtf`]'s loaded strings.
#[derive(Debug)]
enum HeadIdx<'a> {
    /// A hash table.
    Table(StrIdx),
    /// The loaded section's strings, by number, and where each went
    /// ([`MutBtf::dedup_loaded_strings_flat`]).
    Renumbered(Box<Renumbered<'a>>),
}

impl HeadIdx<'_> {
    fn find(&self, data: &[u8], s: &[u8]) -> Option<u32> {
        match self {
            HeadIdx::Table(t) => t.find(data, s),
            HeadIdx::Renumbered(r) => r.find(s),
        }
    }
}

/// The strings of a loaded section numbered in order, sorted by hash, and the offset in
/// the new section of those the types refer to: the index of the new section.
#[derive(Debug)]
struct Renumbered<'a> {
    old: &'a [u8],
    /// `hash << 32 | number`, sorted.
    sorted: SortedIdx,
    /// Offset in `old` of each string.
    str_off: Vec<u32>,
    /// Offset in the new section of each string (`u32::MAX`: not placed).
    new_off: Vec<u32>,
    /// Strings of a content that came earlier → the first of that content.
    first_of: HashMap<u32, u32, FxBuild>,
    /// Contents referred to at no string start and found as no whole string.
    extra: HashMap<&'a [u8], u32>,
}

impl<'a> Renumbered<'a> {
    /// String `n` of `old` (strings follow each other: `n` ends before `n + 1` starts).
    #[inline]
    fn content(&self, n: usize) -> &'a [u8] {
        let from = self.str_off[n] as usize;
        match self.str_off.get(n + 1) {
            Some(&next) => &self.old[from..next as usize - 1],
            None => strset::str_at(self.old, from),
        }
    }

    #[inline]
    fn canon(&self, n: usize) -> usize {
        if self.first_of.is_empty() {
            return n;
        }
        self.first_of.get(&(n as u32)).map_or(n, |&a| a as usize)
    }

    /// The string number of content `c`, if `old` holds it whole.
    fn number_of(&self, c: &[u8]) -> Option<usize> {
        self.sorted
            .find_by(strset::hash_bytes(c), |n| self.content(n as usize) == c)
            .map(|n| self.canon(n as usize))
    }

    fn find(&self, s: &[u8]) -> Option<u32> {
        match self.number_of(s) {
            Some(n) if self.new_off[n] != u32::MAX => Some(self.new_off[n]),
            _ => self.extra.get(s).copied(),
        }
    }
}

/// A BTF being modified: libbpf's `struct btf` after `btf_ensure_modifiable()`.
#[derive(Debug)]
pub struct MutBtf<'a> {
    /// Byte order (of the input, and of [`MutBtf::to_raw`]).
    pub endian: Endian,
    pub(crate) base: Option<&'a Btf<'a>>,
    hdr_flags: u8,
    hdr_len: u32,
    pub(crate) start_id: u32,
    start_str_off: u32,
    /// The own types, one after another: `name_off`, `info`, `size`/`type`, the words after
    /// `struct btf_type` (host order).
    pub(crate) words: Vec<u32>,
    /// Index in `words` of each own type's first word.
    pub(crate) offs: Vec<u32>,
    /// How many own types were loaded (the others were added).
    pub(crate) loaded: usize,
    /// The own strings as loaded (deduplicated on loading, see the module docs; borrowed
    /// when the loaded section needed no change): the first part of the string section.
    head: Cow<'a, [u8]>,
    /// The strings added since: the rest of the string section.
    tail: Vec<u8>,
    /// Index of `head` (first occurrence of each content); built on demand.
    head_index: Option<HeadIdx<'a>>,
    /// Index of `tail`.
    tail_index: StrIdx,
    /// Index of the base's strings; built on demand.
    base_index: Option<SortedIdx>,
    /// Base lookups answered by one scan of the base's strings before the index exists
    /// ([`MutBtf::base_prefetch`]).
    base_cache: HashMap<Vec<u8>, Option<u32>, FxBuild>,
    /// libbpf's `strs_deduped`: the string section is known to be deduplicated.
    strs_deduped: bool,
}

impl<'a> MutBtf<'a> {
    /// Take `btf`'s own types and strings (its base stays borrowed); the loaded strings are
    /// deduplicated (see the module docs).
    pub fn from_btf(btf: &Btf<'a>) -> Self {
        let raw = btf.own_types();
        let mut words = vec![0u32; raw.len() / 4];
        for (w, c) in words.iter_mut().zip(raw.chunks_exact(4)) {
            *w = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
        }
        let native = if cfg!(target_endian = "little") {
            Endian::Little
        } else {
            Endian::Big
        };
        if btf.endian != native {
            for w in &mut words {
                *w = w.swap_bytes();
            }
        }
        let offs: Vec<u32> = btf.own_offsets().iter().map(|&o| o / 4).collect();
        let base = btf.base();
        let str_len = btf.own_strings().len();
        let mut m = MutBtf {
            endian: btf.endian,
            base,
            hdr_flags: btf.hdr.flags,
            hdr_len: btf.hdr.hdr_len,
            start_id: btf.start_id(),
            start_str_off: btf.start_str_off(),
            loaded: offs.len(),
            words,
            offs,
            head: Cow::Borrowed(btf.own_strings()),
            tail: Vec::new(),
            head_index: None,
            tail_index: StrIdx::with_capacity(0),
            base_index: None,
            base_cache: HashMap::default(),
            // btf_ensure_modifiable(): a string section built from scratch is deduplicated.
            strs_deduped: str_len == 0 || (base.is_none() && str_len == 1),
        };
        if !m.strs_deduped {
            m.dedup_loaded_strings(btf.own_strings());
        }
        m
    }

    /// `btf__new_empty()` (`base` `None`) or `btf__new_empty_split(base)`: no types, the
    /// string section `""` (or empty, for split BTF), a header of `hdr_len` bytes.
    pub fn new_empty(endian: Endian, base: Option<&'a Btf<'a>>, hdr_len: u32) -> Self {
        let (start_id, start_str_off) = match base {
            Some(b) => (b.type_count(), b.start_str_off() + b.hdr.str_len),
            None => (1, 0),
        };
        MutBtf {
            endian,
            base,
            hdr_flags: 0,
            hdr_len,
            start_id,
            start_str_off,
            words: Vec::new(),
            offs: Vec::new(),
            loaded: 0,
            head: Cow::Owned(if base.is_some() { Vec::new() } else { vec![0] }),
            tail: Vec::new(),
            head_index: None,
            tail_index: StrIdx::with_capacity(0),
            base_index: None,
            base_cache: HashMap::default(),
            strs_deduped: true,
        }
    }

    /// The base BTF, for split BTF.
    pub fn base(&self) -> Option<&'a Btf<'a>> {
        self.base
    }
    /// First own type id.
    pub fn start_id(&self) -> u32 {
        self.start_id
    }
    /// `btf__type_cnt`: one more than the last type id.
    pub fn type_count(&self) -> u32 {
        self.start_id + self.offs.len() as u32
    }
    /// Number of own types.
    pub fn own_count(&self) -> usize {
        self.offs.len()
    }
    /// Number of own types added since loading (the last ones).
    pub fn added_count(&self) -> usize {
        self.offs.len() - self.loaded.min(self.offs.len())
    }

    /// The record (words) of own type number `i` (0-based).
    #[inline]
    pub(crate) fn rec(&self, i: usize) -> &[u32] {
        let s = self.offs[i] as usize;
        let e = self
            .offs
            .get(i + 1)
            .map_or(self.words.len(), |&e| e as usize);
        &self.words[s..e]
    }

    /// The type `id` (`None` for 0, void, and for ids out of range).
    pub fn get(&self, id: u32) -> Option<TRef<'_>> {
        if id < self.start_id {
            return self.base.and_then(|b| b.ty(id)).map(TRef::Base);
        }
        self.own(id).map(TRef::Own)
    }

    /// An own type.
    pub fn own(&self, id: u32) -> Option<MView<'_>> {
        let i = id.checked_sub(self.start_id)? as usize;
        (i < self.offs.len()).then(|| MView::of(self.rec(i)))
    }

    /// Set `size`/`type` of own type `id`; false if there is no such type.
    pub fn set_size_type(&mut self, id: u32, v: u32) -> bool {
        self.set_word(id, 2, v)
    }

    /// Set word `i` after `struct btf_type` of own type `id`; false if there is no such
    /// type or word.
    pub fn set_extra(&mut self, id: u32, i: usize, v: u32) -> bool {
        self.set_word(id, 3 + i, v)
    }

    fn set_word(&mut self, id: u32, k: usize, v: u32) -> bool {
        let Some(i) = id.checked_sub(self.start_id).map(|i| i as usize) else {
            return false;
        };
        if i >= self.offs.len() {
            return false;
        }
        let s = self.offs[i] as usize;
        let e = self
            .offs
            .get(i + 1)
            .map_or(self.words.len(), |&e| e as usize);
        match self.words[s..e].get_mut(k) {
            Some(w) => {
                *w = v;
                true
            }
            None => false,
        }
    }

    /// Own types with their ids.
    pub fn own_types(&self) -> impl DoubleEndedIterator<Item = (u32, MView<'_>)> + '_ {
        (0..self.offs.len()).map(move |i| (self.start_id + i as u32, MView::of(self.rec(i))))
    }

    /// The string at `off` (`btf__str_by_offset`).
    pub fn str_at(&self, off: u32) -> Option<&[u8]> {
        if off < self.start_str_off {
            return self.base.and_then(|b| b.str_at(off));
        }
        let rel = (off - self.start_str_off) as usize;
        match rel.checked_sub(self.head.len()) {
            None => strset::cstr_at(&self.head, rel),
            Some(t) => strset::cstr_at(&self.tail, t),
        }
    }

    /// [`strset::prefix8`] of the string at `off` (0 for an offset out of range).
    pub fn name_prefix8(&self, off: u32) -> u64 {
        if off < self.start_str_off {
            return match self.base {
                Some(b) if off >= b.start_str_off() => {
                    strset::prefix8(b.own_strings(), (off - b.start_str_off()) as usize)
                }
                _ => self.str_at(off).map_or(0, strset::prefix8_of),
            };
        }
        let rel = (off - self.start_str_off) as usize;
        match rel.checked_sub(self.head.len()) {
            None => strset::prefix8(&self.head, rel),
            Some(t) => strset::prefix8(&self.tail, t),
        }
    }

    /// The string at `off` as text (lossy).
    pub fn name(&self, off: u32) -> String {
        self.str_at(off)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_else(|| format!("<bad name offset {off}>"))
    }

    /// `btf__find_str()` on the base: the offset of the first base string `s`. Answered
    /// from [`MutBtf::base_prefetch`]'s scan when it looked `s` up, else from an index of
    /// every base string (made the first time it is needed).
    pub(crate) fn base_find(&mut self, s: &[u8]) -> Option<u32> {
        let base = self.base?;
        if self.base_index.is_none() {
            if let Some(&r) = self.base_cache.get(s) {
                return r;
            }
        }
        let idx = self
            .base_index
            .get_or_insert_with(|| SortedIdx::build(base.own_strings()));
        idx.find(base.own_strings(), s)
            .map(|o| base.start_str_off() + o)
    }

    /// Look every string of `wanted` up in the base in one scan of the base's strings
    /// (their hashes against those of `wanted`): cheaper than an index of all of them when
    /// a module has a few hundred own strings. [`MutBtf::base_find`] then answers them.
    pub(crate) fn base_prefetch(&mut self, wanted: &[&[u8]]) {
        let Some(base) = self.base else {
            return;
        };
        if self.base_index.is_some() || wanted.is_empty() {
            return;
        }
        // A bit per hash of the first eight bytes filters the base's strings; those that
        // pass are looked up by those bytes.
        const BITS: u32 = 16;
        let bit = |p: u64| (p.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - BITS)) as usize;
        let mut filter = vec![0u64; 1 << (BITS - 6)];
        let mut by_prefix: HashMap<u64, Vec<usize>, FxBuild> = HashMap::default();
        for (i, w) in wanted.iter().enumerate() {
            let p = strset::prefix8_of(w);
            filter[bit(p) / 64] |= 1 << (bit(p) % 64);
            by_prefix.entry(p).or_default().push(i);
        }
        let mut found: Vec<Option<u32>> = vec![None; wanted.len()];
        let data = base.own_strings();
        let mut off = 0usize;
        while off < data.len() {
            let p = strset::prefix8(data, off);
            let len = strset::str_len(&data[off..]);
            if filter[bit(p) / 64] & (1 << (bit(p) % 64)) != 0 {
                if let Some(ws) = by_prefix.get(&p) {
                    for &i in ws {
                        if found[i].is_none() && data[off..off + len] == *wanted[i] {
                            found[i] = Some(base.start_str_off() + off as u32);
                        }
                    }
                }
            }
            off += len + 1;
        }
        for (w, f) in wanted.iter().zip(found) {
            self.base_cache.insert(w.to_vec(), f);
        }
    }

    /// `btf__find_str`: the offset of `s` (base first), if present.
    pub fn find_str(&mut self, s: &[u8]) -> Option<u32> {
        if let Some(o) = self.base_find(s) {
            return Some(o);
        }
        self.own_find(s).map(|o| self.start_str_off + o)
    }

    /// The offset (in the own string section) of the first own string `s`.
    fn own_find(&mut self, s: &[u8]) -> Option<u32> {
        let head = &self.head;
        let idx = self
            .head_index
            .get_or_insert_with(|| HeadIdx::Table(StrIdx::build(head)));
        if let Some(o) = idx.find(head, s) {
            return Some(o);
        }
        let h = head.len() as u32;
        self.tail_index.find(&self.tail, s).map(|o| h + o)
    }

    /// Length of the own string section.
    fn strs_len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// The own string section (a copy).
    pub fn own_strings(&self) -> Vec<u8> {
        [&self.head[..], &self.tail[..]].concat()
    }

    /// `btf__add_str`: the offset of `s`, appended unless the base or the own strings have it.
    pub fn add_str(&mut self, s: &[u8]) -> u32 {
        if let Some(o) = self.base_find(s) {
            return o;
        }
        if let Some(o) = self.own_find(s) {
            return self.start_str_off + o;
        }
        let o = self.tail.len() as u32;
        self.tail_index.insert_new(s, o);
        self.tail.extend_from_slice(s);
        self.tail.push(0);
        self.start_str_off + self.head.len() as u32 + o
    }

    /// Append a type; returns its id (`btf_commit_type`).
    pub fn push(&mut self, t: MType) -> u32 {
        self.offs.push(self.words.len() as u32);
        self.words
            .extend_from_slice(&[t.name_off, t.info, t.size_type]);
        self.words.extend_from_slice(&t.extra);
        self.type_count() - 1
    }

    fn name_off_of(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            0
        } else {
            self.add_str(name.as_bytes())
        }
    }

    /// `btf__add_decl_tag` (`kflag` false) / `btf__add_decl_attr` (`kflag` true).
    pub fn add_decl_tag(
        &mut self,
        value: &str,
        target: u32,
        component_idx: i32,
        kflag: bool,
    ) -> u32 {
        let n = self.add_str(value.as_bytes());
        self.push(MType {
            name_off: n,
            info: make_info(KIND_DECL_TAG, 0, kflag),
            size_type: target,
            extra: vec![component_idx as u32],
        })
    }

    /// `btf__add_func`.
    pub fn add_func(&mut self, name: &str, linkage: u32, proto: u32) -> u32 {
        let n = self.name_off_of(name);
        self.push(MType {
            name_off: n,
            info: make_info(KIND_FUNC, linkage, false),
            size_type: proto,
            extra: Vec::new(),
        })
    }

    /// `btf__add_func_proto` (no parameters yet).
    pub fn add_func_proto(&mut self, ret: u32) -> u32 {
        self.push(MType {
            name_off: 0,
            info: make_info(KIND_FUNC_PROTO, 0, false),
            size_type: ret,
            extra: Vec::new(),
        })
    }

    /// `btf__add_func_param`: a parameter of the last type, which must be a FUNC_PROTO.
    pub fn add_func_param(&mut self, name: &str, ty: u32) -> Result<(), String> {
        let last = match self.offs.last() {
            Some(&o) if info_kind(self.words[o as usize + 1]) == KIND_FUNC_PROTO => o as usize,
            _ => {
                return Err(
                    "internal: a parameter added after a type that is not a FUNC_PROTO".into(),
                )
            }
        };
        let n = self.name_off_of(name);
        self.words.push(n);
        self.words.push(ty);
        let info = self.words[last + 1];
        self.words[last + 1] = make_info(KIND_FUNC_PROTO, info_vlen(info) + 1, info_kflag(info));
        Ok(())
    }

    /// `btf__add_ptr`.
    pub fn add_ptr(&mut self, target: u32) -> u32 {
        self.push(MType {
            name_off: 0,
            info: make_info(KIND_PTR, 0, false),
            size_type: target,
            extra: Vec::new(),
        })
    }

    /// `btf__add_type_attr`: a TYPE_TAG with the kind flag (an `__attribute__`).
    pub fn add_type_attr(&mut self, value: &str, target: u32) -> u32 {
        let n = self.add_str(value.as_bytes());
        self.push(MType {
            name_off: n,
            info: make_info(KIND_TYPE_TAG, 0, true),
            size_type: target,
            extra: Vec::new(),
        })
    }

    /// The string deduplication of `btf_dedup_strings()` on the loaded types (whose
    /// strings are `old`): the own string section rebuilt from the strings they refer to,
    /// in the order they are visited, unreferenced ones dropped; strings the base has
    /// become references into the base. A section that already is in that order (what
    /// libbpf wrote) is kept as it is, borrowed: as long as every string is visited first
    /// in section order, its offset does not change and only its content is indexed
    /// (duplicates are still found).
    fn dedup_loaded_strings(&mut self, old: &'a [u8]) {
        if self.base.is_none() && self.start_str_off == 0 && old.first() == Some(&0) {
            self.dedup_loaded_strings_flat(old);
            return;
        }
        let start = self.start_str_off;
        let split = self.base.is_some();
        if split {
            // The base lookups of the loaded strings, and of the strings btf2btf adds, in
            // one scan of the base's strings.
            let mut wanted: std::collections::HashSet<&[u8], FxBuild> = Default::default();
            for &w in PREFETCH {
                wanted.insert(w);
            }
            for i in 0..self.offs.len() {
                let s0 = self.offs[i] as usize;
                let words = &self.words;
                for_each_str_slot(words[s0 + 1], |k| {
                    let off = words.get(s0 + k).copied().unwrap_or(0);
                    if off != 0 && off >= start {
                        wanted.insert(strset::str_at(old, (off - start) as usize));
                    }
                });
            }
            let wanted: Vec<&[u8]> = wanted.into_iter().collect();
            self.base_prefetch(&wanted);
        }
        let nstr = old.iter().filter(|&&b| b == 0).count();
        let mut idx = StrIdx::with_capacity(nstr + 16);
        // The new section: old[..ident] while `new` is None (every string starting below
        // ident was visited, in order), else `new`.
        let mut new: Option<Vec<u8>> = None;
        let mut ident = 0usize;
        if split {
            if old.first() != Some(&0) {
                // nothing to keep: the new section starts with the first string visited
            }
        } else {
            idx.insert_new(b"", 0);
            if old.first() == Some(&0) {
                ident = 1;
            } else {
                new = Some(vec![0]);
            }
        }
        let mut words = std::mem::take(&mut self.words);
        for i in 0..self.offs.len() {
            let s0 = self.offs[i] as usize;
            let info = words[s0 + 1];
            for_each_str_slot(info, |k| {
                let Some(w) = words.get_mut(s0 + k) else {
                    return;
                };
                let off = *w;
                if off == 0 || off < start {
                    return;
                }
                let rel = (off - start) as usize;
                if rel < ident && (rel == 0 || old[rel - 1] == 0) {
                    return; // visited before, at the same offset
                }
                let s = strset::str_at(old, rel);
                if rel == ident && new.is_none() && self.base_find(s).is_none() {
                    // The next string of the section, visited first: it stays where it is
                    // unless its content came before.
                    match idx.find_or_insert(&old[..ident], s, ident as u32) {
                        Ok(o) => *w = start + o,
                        Err(_) => ident += s.len() + 1,
                    }
                    return;
                }
                if let Some(b) = self.base_find(s) {
                    *w = b;
                    return;
                }
                let cur: &[u8] = new.as_deref().unwrap_or(&old[..ident]);
                let len = cur.len() as u32;
                *w = start
                    + match idx.find_or_insert(cur, s, len) {
                        Ok(o) => o,
                        Err(o) => {
                            let n = new.get_or_insert_with(|| old[..ident].to_vec());
                            n.extend_from_slice(s);
                            n.push(0);
                            o
                        }
                    };
            });
        }
        self.words = words;
        self.head = match new {
            Some(n) => Cow::Owned(n),
            None => Cow::Borrowed(&old[..ident]),
        };
        self.head_index = Some(HeadIdx::Table(idx));
    }

    /// [`MutBtf::dedup_loaded_strings`] for BTF without a base (vmlinux), without a hash
    /// table: the strings of `old` are numbered in one pass (their starts in a bit map,
    /// with a rank index), duplicate contents found by sorting their hashes, and the types'
    /// references then map string numbers to new offsets, in the order visited.
    fn dedup_loaded_strings_flat(&mut self, old: &'a [u8]) {
        const UNSET: u32 = u32::MAX;
        let nb = old.len();
        let mut starts = vec![0u64; nb.div_ceil(64)];
        let mut str_off: Vec<u32> = Vec::with_capacity(nb / 12 + 16);
        let mut str_hash: Vec<u32> = Vec::with_capacity(nb / 12 + 16);
        let mut off = 0usize;
        while off < nb {
            let (h, len) = strset::hash_at(old, off);
            starts[off / 64] |= 1 << (off % 64);
            str_off.push(off as u32);
            str_hash.push(h);
            off += len + 1;
        }
        let mut rank = Vec::with_capacity(starts.len());
        let mut r = 0u32;
        for w in &starts {
            rank.push(r);
            r += w.count_ones();
        }
        let number = |o: usize| -> Option<usize> {
            let w = *starts.get(o / 64)?;
            (w >> (o % 64) & 1 == 1)
                .then(|| (rank[o / 64] + (w & ((1u64 << (o % 64)) - 1)).count_ones()) as usize)
        };
        // Strings of equal content: each maps to the first of them.
        let mut r = Renumbered {
            old,
            sorted: SortedIdx::from_pairs(
                str_hash
                    .iter()
                    .enumerate()
                    .map(|(n, &h)| (u64::from(h) << 32) | n as u64)
                    .collect(),
            ),
            new_off: vec![UNSET; str_off.len()],
            str_off,
            first_of: HashMap::default(),
            extra: HashMap::new(),
        };
        drop(str_hash);
        let mut first_of = HashMap::default();
        r.sorted.for_each_equal_hash_run(|run| {
            for (j, &b) in run.iter().enumerate() {
                if let Some(&a) = run[..j]
                    .iter()
                    .find(|&&a| r.content(a as usize) == r.content(b as usize))
                {
                    let a = first_of.get(&a).copied().unwrap_or(a);
                    first_of.insert(b, a);
                }
            }
        });
        r.first_of = first_of;
        let mut new: Vec<u8> = Vec::with_capacity(nb);
        new.push(0);
        let c0 = r.canon(0);
        r.new_off[c0] = 0;
        let mut words = std::mem::take(&mut self.words);
        for i in 0..self.offs.len() {
            let s0 = self.offs[i] as usize;
            let info = words[s0 + 1];
            for_each_str_slot(info, |k| {
                let Some(w) = words.get_mut(s0 + k) else {
                    return;
                };
                if *w == 0 {
                    return;
                }
                let o = *w as usize;
                let n = match number(o) {
                    Some(n) => Some(r.canon(n)),
                    None => r.number_of(strset::str_at(old, o)),
                };
                *w = match n {
                    Some(n) => {
                        if r.new_off[n] == UNSET {
                            r.new_off[n] = new.len() as u32;
                            new.extend_from_slice(r.content(n));
                            new.push(0);
                        }
                        r.new_off[n]
                    }
                    None => {
                        let c = strset::str_at(old, o);
                        *r.extra.entry(c).or_insert_with(|| {
                            let no = new.len() as u32;
                            new.extend_from_slice(c);
                            new.push(0);
                            no
                        })
                    }
                };
            });
        }
        self.words = words;
        self.head = Cow::Owned(new);
        self.head_index = Some(HeadIdx::Renumbered(Box::new(r)));
    }

    /// `btf_dedup_strings()`: the own string section holds the strings the own types refer
    /// to, in the order they are visited, unreferenced ones dropped; strings the base has
    /// become references into the base. Skipped for a section known to be deduplicated
    /// already (libbpf's `strs_deduped`). The loaded strings were placed on loading; the
    /// strings added since (by [`MutBtf::add_str`]: none is in the base or among the loaded
    /// ones) follow them in the order the types refer to them.
    pub fn dedup_strings(&mut self) {
        if self.strs_deduped {
            return;
        }
        self.strs_deduped = true;
        // The loaded strings' index is not needed any more (one is made again if a string
        // is added after all): its memory goes back before the phases that need the most.
        self.head_index = None;
        if self.tail.is_empty() {
            return;
        }
        let added = std::mem::take(&mut self.tail);
        let limit = self.start_str_off as usize + self.head.len();
        let mut memo: HashMap<u32, u32, FxBuild> = HashMap::default();
        let mut tail = Vec::with_capacity(added.len());
        let mut tail_index = StrIdx::with_capacity(16);
        // Only the types added since loading can refer to the strings added since (the
        // loaded ones keep their strings: nothing rewrites a loaded type's string offsets).
        for i in self.loaded.min(self.offs.len())..self.offs.len() {
            let s0 = self.offs[i] as usize;
            let info = self.words[s0 + 1];
            let words = &mut self.words;
            for_each_str_slot(info, |k| {
                let Some(w) = words.get_mut(s0 + k) else {
                    return;
                };
                if (*w as usize) < limit {
                    return;
                }
                let rel = *w - limit as u32;
                *w = *memo.entry(rel).or_insert_with(|| {
                    let s = strset::str_at(&added, rel as usize);
                    let o = tail.len() as u32;
                    tail_index.insert_new(s, o);
                    tail.extend_from_slice(s);
                    tail.push(0);
                    (limit as u32) + o
                });
            });
        }
        self.tail = tail;
        self.tail_index = tail_index;
    }

    /// `btf__dedup()`: strings ([`MutBtf::dedup_strings`]), then types, as libbpf's
    /// algorithm does ([`crate::dedup`]: primitive types, struct and union type graphs,
    /// forward declarations, reference types; duplicates dropped, ids renumbered).
    pub fn dedup(&mut self) -> Result<(), String> {
        self.dedup_strings();
        crate::dedup::dedup_types(self)
    }

    /// The order `sort_by_name()` of 7.3's resolve_btfids puts the own types in: by name
    /// (`strcmp`), equal names (the anonymous ones first of all) in their old order.
    /// Returns, for each new position, the old index.
    fn name_order(&self) -> Vec<u32> {
        let n = self.offs.len();
        // Anonymous types first (the empty name is the smallest), in id order; the named
        // ones sorted by a 16-byte prefix of the name (big-endian, zero-padded: names hold
        // no NUL, so equal prefixes mean equal names up to 16 bytes), then the rest of it,
        // then the old index.
        let mut order: Vec<u32> = Vec::with_capacity(n);
        let mut keys: Vec<(u64, u64, u32)> = Vec::with_capacity(n);
        for i in 0..n {
            let name_off = self.words[self.offs[i] as usize];
            let p = if name_off == 0 {
                0
            } else {
                self.name_prefix8(name_off)
            };
            if p == 0 {
                order.push(i as u32); // the empty name
                continue;
            }
            let lo = if p >> 56 != 0 {
                self.name_prefix8(name_off + 8).swap_bytes()
            } else {
                0
            };
            keys.push((p.swap_bytes(), lo, i as u32));
        }
        let rest = |i: u32| -> &[u8] {
            let name_off = self.words[self.offs[i as usize] as usize];
            let name = self.str_at(name_off).unwrap_or_default();
            name.get(16..).unwrap_or_default()
        };
        // By the first 8 bytes: a stable LSD radix sort (the keys are in index order).
        let mut tmp = vec![(0u64, 0u64, 0u32); keys.len()];
        for shift in (0..64).step_by(8) {
            let mut count = [0usize; 257];
            for k in &keys {
                count[((k.0 >> shift) & 0xff) as usize + 1] += 1;
            }
            if count.contains(&keys.len()) {
                continue; // one value of this byte: nothing moves
            }
            for i in 1..257 {
                count[i] += count[i - 1];
            }
            for k in &keys {
                let b = ((k.0 >> shift) & 0xff) as usize;
                tmp[count[b]] = *k;
                count[b] += 1;
            }
            std::mem::swap(&mut keys, &mut tmp);
        }
        drop(tmp);
        // Then each run of equal first 8 bytes by the next 8, the rest, the index.
        let mut i = 0;
        while i < keys.len() {
            let mut j = i + 1;
            while j < keys.len() && keys[j].0 == keys[i].0 {
                j += 1;
            }
            if j - i > 1 {
                keys[i..j].sort_unstable_by(|a, b| {
                    a.1.cmp(&b.1).then_with(|| {
                        // Equal 16-byte prefixes: both names are longer than 16 bytes, or
                        // equal.
                        if a.1 & 0xff != 0 {
                            rest(a.2).cmp(rest(b.2)).then(a.2.cmp(&b.2))
                        } else {
                            a.2.cmp(&b.2)
                        }
                    })
                });
            }
            i = j;
        }
        order.extend(keys.into_iter().map(|k| k.2));
        order
    }

    /// The own types in `order` (new position → old index), every reference to an own
    /// type renumbered.
    fn permute(&mut self, order: &[u32]) {
        let n = self.offs.len();
        let start = self.start_id;
        let mut new_id = vec![0u32; n];
        for (pos, &i) in order.iter().enumerate() {
            new_id[i as usize] = start + pos as u32;
        }
        let mut words = Vec::with_capacity(self.words.len());
        let mut offs = Vec::with_capacity(n);
        for &i in order {
            let s0 = words.len();
            offs.push(s0 as u32);
            let rec = self.rec(i as usize);
            words.extend_from_slice(rec);
            for_each_id_slot(rec[1], |k| {
                if let Some(w) = words.get_mut(s0 + k) {
                    if *w >= start {
                        if let Some(&v) = new_id.get((*w - start) as usize) {
                            *w = v;
                        }
                    }
                }
            });
        }
        self.words = words;
        self.offs = offs;
    }

    /// `sort_btf_by_name()` of 7.3's resolve_btfids with `btf__permute()`: own types
    /// ordered by name (`strcmp`), equal names (the anonymous ones first of all) in their
    /// old order; every reference renumbered. For BTF without a base, type 0 (void) takes
    /// part and stays first.
    pub fn sort_by_name(&mut self) {
        let order = self.name_order();
        self.permute(&order);
        self.loaded = self.offs.len(); // sorting mixes loaded and added types
    }

    fn raw_header(&self, out: &mut Vec<u8>, type_len: usize) {
        let e = self.endian;
        let hdr_len = self.hdr_len.max(BTF_HDR_LEN as u32) as usize;
        out.extend_from_slice(&e.u16_bytes(BTF_MAGIC));
        out.push(1);
        out.push(self.hdr_flags);
        for w in [
            hdr_len as u32,
            0,
            type_len as u32,
            type_len as u32,
            self.strs_len() as u32,
        ] {
            out.extend_from_slice(&e.u32_bytes(w));
        }
        out.resize(hdr_len, 0);
    }

    fn raw_words(&self, out: &mut Vec<u8>, words: &[u32]) {
        match self.endian {
            Endian::Little => {
                for w in words {
                    out.extend_from_slice(&w.to_le_bytes());
                }
            }
            Endian::Big => {
                for w in words {
                    out.extend_from_slice(&w.to_be_bytes());
                }
            }
        }
    }

    /// `btf__raw_data()`: header (`hdr_len` and flags as loaded), types, strings.
    pub fn to_raw(&self) -> Vec<u8> {
        let type_len = 4 * self.words.len();
        let hdr_len = self.hdr_len.max(BTF_HDR_LEN as u32) as usize;
        let mut out = Vec::with_capacity(hdr_len + type_len + self.strs_len());
        self.raw_header(&mut out, type_len);
        self.raw_words(&mut out, &self.words);
        out.extend_from_slice(&self.head);
        out.extend_from_slice(&self.tail);
        out
    }

    /// [`MutBtf::sort_by_name`], then [`MutBtf::to_raw`], without a sorted copy of the
    /// types: each is renumbered as it is written ([`Sorted::to_raw`]).
    pub fn into_sorted_raw(self) -> Vec<u8> {
        self.into_sorted().to_raw()
    }
}

/// A [`MutBtf`] in the order `sort_btf_by_name()` puts its own types in, not copied: the
/// final BTF of the Linux 7.3 flow. [`Sorted::write_raw`] streams `btf__raw_data()` of it
/// (each type renumbered as it is written), and it answers the name lookups of phase
/// `resolve` ([`Sorted::for_each_kind_name`]) without being parsed again.
#[derive(Debug)]
pub struct Sorted<'a> {
    btf: MutBtf<'a>,
    /// New position → old index.
    order: Vec<u32>,
    /// Old index → new id.
    new_id: Vec<u32>,
}

impl<'a> MutBtf<'a> {
    /// The own types in name order ([`MutBtf::sort_by_name`]'s), as a [`Sorted`].
    pub fn into_sorted(self) -> Sorted<'a> {
        let order = self.name_order();
        let start = self.start_id;
        let mut new_id = vec![0u32; order.len()];
        for (pos, &i) in order.iter().enumerate() {
            new_id[i as usize] = start + pos as u32;
        }
        Sorted {
            btf: self,
            order,
            new_id,
        }
    }
}

impl Sorted<'_> {
    /// The size of the raw BTF [`Sorted::write_raw`] writes.
    pub fn raw_len(&self) -> usize {
        self.btf.hdr_len.max(BTF_HDR_LEN as u32) as usize
            + 4 * self.btf.words.len()
            + self.btf.strs_len()
    }

    /// Write `btf__raw_data()`: the header, the types in their new order (every reference
    /// to an own type renumbered), the strings.
    pub fn write_raw(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        let b = &self.btf;
        let type_len = 4 * b.words.len();
        let start = b.start_id;
        let little = b.endian == Endian::Little;
        let mut buf: Vec<u8> = Vec::with_capacity(64 << 10);
        b.raw_header(&mut buf, type_len);
        let mut rec = Vec::with_capacity(64);
        for &i in &self.order {
            rec.clear();
            rec.extend_from_slice(b.rec(i as usize));
            for_each_id_slot(rec[1], |k| {
                if let Some(w) = rec.get_mut(k) {
                    if *w >= start {
                        if let Some(&v) = self.new_id.get((*w - start) as usize) {
                            *w = v;
                        }
                    }
                }
            });
            let at = buf.len();
            buf.resize(at + 4 * rec.len(), 0);
            let dst = &mut buf[at..];
            if little {
                for (d, x) in dst.chunks_exact_mut(4).zip(&rec) {
                    d.copy_from_slice(&x.to_le_bytes());
                }
            } else {
                for (d, x) in dst.chunks_exact_mut(4).zip(&rec) {
                    d.copy_from_slice(&x.to_be_bytes());
                }
            }
            if buf.len() >= (60 << 10) {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
        w.write_all(&buf)?;
        w.write_all(&b.head)?;
        w.write_all(&b.tail)
    }

    /// [`Sorted::write_raw`] into memory.
    pub fn to_raw(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.raw_len());
        self.write_raw(&mut v)
            .expect("writing to a Vec does not fail");
        v
    }

    /// `(id, kind, name_off)` of every type in the final id order, the base's first (as
    /// [`Btf::for_each_kind_name`] of the written BTF).
    pub fn for_each_kind_name(&self, f: &mut impl FnMut(u32, u32, u32)) {
        if let Some(base) = self.btf.base {
            base.for_each_kind_name(f);
        }
        let b = &self.btf;
        for (pos, &i) in self.order.iter().enumerate() {
            let o = b.offs[i as usize] as usize;
            f(
                b.start_id + pos as u32,
                info_kind(b.words[o + 1]),
                b.words[o],
            );
        }
    }

    /// The string at `off` (the written BTF's `btf__str_by_offset`).
    pub fn str_at(&self, off: u32) -> Option<&[u8]> {
        self.btf.str_at(off)
    }

    /// [`strset::prefix8`] of the string at `off`, `None` for an offset out of range.
    pub fn name_prefix8(&self, off: u32) -> Option<u64> {
        let b = &self.btf;
        let ok = if off < b.start_str_off {
            b.base.is_some_and(|base| base.name_ok(off))
        } else {
            ((off - b.start_str_off) as usize) < b.strs_len()
        };
        ok.then(|| b.name_prefix8(off))
    }
}

/// `sizeof(struct btf_header)` of Linux 7.x (with `layout_off` and `layout_len`): the
/// header of BTF that libbpf creates from nothing (`btf__new_empty*`).
pub const BTF_HDR_LEN_7X: u32 = 32;

/// The first half of `btf__distill_base()`: the distilled base BTF (raw) and what
/// [`MutBtf::distill_split`] needs to build the split BTF on it.
#[derive(Debug)]
pub struct Distilled {
    /// The distilled base BTF, raw (`OBJ.BTF.base`).
    pub base_raw: Vec<u8>,
    /// Old base type id → new id (0: not used by the split BTF).
    id_map: Vec<u32>,
    /// Old string offset → new one (libbpf's `str_off_map`, shared by both halves).
    str_map: HashMap<u32, u32>,
}

/// The kinds of base types split BTF may refer to (`btf_add_distilled_type_ids()`).
fn distillable(kind: u32) -> bool {
    matches!(
        kind,
        KIND_INT
            | KIND_FLOAT
            | KIND_FWD
            | KIND_ARRAY
            | KIND_STRUCT
            | KIND_UNION
            | KIND_TYPEDEF
            | KIND_ENUM
            | KIND_ENUM64
            | KIND_PTR
            | KIND_CONST
            | KIND_RESTRICT
            | KIND_VOLATILE
            | KIND_FUNC_PROTO
            | KIND_TYPE_TAG
    )
}

impl MutBtf<'_> {
    /// `btf_add_type()` through libbpf's `btf_pipe`: `t` (whose strings are `src`'s)
    /// appended with its strings rewritten into this BTF.
    fn add_piped(&mut self, src: &MutBtf<'_>, t: &MType, str_map: &mut HashMap<u32, u32>) {
        let mut t = t.clone();
        t.for_each_str_mut(|off| {
            if *off == 0 {
                return;
            }
            if let Some(&m) = str_map.get(off) {
                *off = m;
                return;
            }
            let s = src.str_at(*off).unwrap_or_default().to_vec();
            let m = self.add_str(&s);
            str_map.insert(*off, m);
            *off = m;
        });
        self.push(t);
    }

    /// The first half of libbpf's `btf__distill_base()` on this split BTF: which base types
    /// the own types use (through anything but named structs and unions), and the
    /// distilled base made of them: named INT, FLOAT and FWD types as they are, named
    /// structs and unions without members, named enums as empty ENUMs of their size.
    pub fn distill_base(&self) -> Result<Distilled, String> {
        let base = self
            .base
            .ok_or_else(|| "distilling needs split BTF (a base)".to_string())?;
        let split_start = self.start_id;
        let mut id_map = vec![0u32; self.type_count() as usize];
        // btf_add_distilled_type_ids(), iteratively: mark every base type reachable.
        let mut stack: Vec<MType> = self.own_types().map(|(_, t)| t.to_mtype()).collect();
        stack.reverse();
        while let Some(t) = stack.pop() {
            let mut refs = Vec::new();
            let mut t = t;
            t.for_each_id_mut(|r| refs.push(*r));
            for r in refs {
                if r == 0 || r >= split_start || id_map[r as usize] > 0 {
                    continue;
                }
                let bt = base
                    .ty(r)
                    .map(|t| MType::from_type(&t))
                    .ok_or_else(|| format!("reference to base type [{r}] beyond the base"))?;
                if !distillable(bt.kind()) {
                    return Err(format!(
                        "unexpected reference to base type[{r}] of kind [{}] when creating distilled base BTF",
                        bt.kind()
                    ));
                }
                id_map[r as usize] = r;
                if matches!(bt.kind(), KIND_STRUCT | KIND_UNION) && bt.name_off != 0 {
                    continue;
                }
                stack.push(bt);
            }
        }
        // btf_add_distilled_types() into the new base.
        let mut nb = MutBtf::new_empty(self.endian, None, BTF_HDR_LEN_7X);
        let mut str_map = HashMap::new();
        let mut next = 1;
        for i in 1..split_start {
            if id_map[i as usize] == 0 {
                continue;
            }
            let t = base
                .ty(i)
                .map(|t| MType::from_type(&t))
                .ok_or_else(|| format!("base type [{i}] missing"))?;
            let name = base.str_at(t.name_off).unwrap_or_default().to_vec();
            match t.kind() {
                KIND_INT | KIND_FLOAT | KIND_FWD => nb.add_piped(self, &t, &mut str_map),
                KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 => {
                    if t.name_off == 0 {
                        continue;
                    }
                    let kind = if t.kind() == KIND_ENUM64 {
                        KIND_ENUM
                    } else {
                        t.kind()
                    };
                    let n = if name.is_empty() { 0 } else { nb.add_str(&name) };
                    nb.push(MType {
                        name_off: n,
                        info: make_info(kind, 0, false),
                        size_type: t.size_type,
                        extra: Vec::new(),
                    });
                }
                k if distillable(k) => continue,
                k => {
                    return Err(format!(
                        "unexpected kind when adding base type '{}'[{i}] of kind [{k}] to distilled base BTF",
                        String::from_utf8_lossy(&name)
                    ))
                }
            }
            id_map[i as usize] = next;
            next += 1;
        }
        Ok(Distilled {
            base_raw: nb.to_raw(),
            id_map,
            str_map,
        })
    }

    /// The second half of `btf__distill_base()`: this split BTF's types, then the used base
    /// types the distilled base does not hold (anonymous structs, unions and enums, and
    /// every reference kind), on `new_base` (the parsed [`Distilled::base_raw`]); every
    /// type id renumbered.
    pub fn distill_split<'b>(
        &self,
        d: &mut Distilled,
        new_base: &'b Btf<'b>,
    ) -> Result<MutBtf<'b>, String> {
        let base = self
            .base
            .ok_or_else(|| "distilling needs split BTF (a base)".to_string())?;
        let split_start = self.start_id;
        let mut ns = MutBtf::new_empty(self.endian, Some(new_base), BTF_HDR_LEN_7X);
        for (_, t) in self.own_types() {
            ns.add_piped(self, &t.to_mtype(), &mut d.str_map);
        }
        let mut next = ns.type_count();
        for i in 1..split_start {
            if d.id_map[i as usize] == 0 {
                continue;
            }
            let t = base
                .ty(i)
                .map(|t| MType::from_type(&t))
                .ok_or_else(|| format!("base type [{i}] missing"))?;
            match t.kind() {
                KIND_INT | KIND_FLOAT | KIND_FWD => continue,
                KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 if t.name_off != 0 => continue,
                k if distillable(k) => ns.add_piped(self, &t, &mut d.str_map),
                k => {
                    return Err(format!(
                        "unexpected kind when adding base type [{i}] of kind [{k}] to distilled split BTF"
                    ))
                }
            }
            d.id_map[i as usize] = next;
            next += 1;
        }
        let diff = split_start - new_base.type_count();
        let id_map = &d.id_map;
        for i in 0..ns.offs.len() {
            let s0 = ns.offs[i] as usize;
            let info = ns.words[s0 + 1];
            let words = &mut ns.words;
            for_each_id_slot(info, |k| {
                if let Some(r) = words.get_mut(s0 + k) {
                    match id_map.get(*r as usize) {
                        Some(&m) if m != 0 => *r = m,
                        _ if *r >= split_start => *r -= diff,
                        _ => {}
                    }
                }
            });
        }
        ns.loaded = ns.offs.len();
        Ok(ns)
    }
}

impl BtfSink for MutBtf<'_> {
    fn add_str(&mut self, s: &str) -> u32 {
        self.name_off_of(s)
    }
    fn add_type(
        &mut self,
        name_off: u32,
        kind: u32,
        vlen: u32,
        size_type: u32,
        extra: &[u32],
    ) -> u32 {
        self.push(MType {
            name_off,
            info: make_info(kind, vlen, false),
            size_type,
            extra: extra.to_vec(),
        })
    }
    fn add_type_count(&self) -> u32 {
        self.type_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<u8> {
        let mut b = BtfBuilder::new(Endian::Little, None);
        let n = b.add_str("int");
        let int = b.add_type(n, KIND_INT, 0, 4, &[(1 << 24) | 32]);
        let n = b.add_str("task_struct");
        let st = b.add_type(n, KIND_STRUCT, 0, 8, &[]);
        b.add_type(0, KIND_PTR, 0, st, &[]);
        let n = b.add_str("bpf_kfunc");
        let _ = (n, int);
        b.finish()
    }

    #[test]
    fn strings_follow_libbpf() {
        let bb = base();
        let base = Btf::parse(&bb, None).unwrap();
        let empty = BtfBuilder::new(Endian::Little, Some(&base)).finish();
        let split = Btf::parse(&empty, Some(&base)).unwrap();
        let mut m = MutBtf::from_btf(&split);
        // A base string is found in the base; a new one goes at the split's first offset.
        assert_eq!(Some(m.add_str(b"bpf_kfunc")), base_off(&base, "bpf_kfunc"));
        let o = m.add_str(b"mine");
        assert_eq!(o, base.hdr.str_len);
        assert_eq!(m.add_str(b"mine"), o);
        assert_eq!(m.str_at(o), Some(&b"mine"[..]));
    }

    fn base_off(b: &Btf<'_>, s: &str) -> Option<u32> {
        strset::string_starts(b.own_strings())
            .find(|(_, x)| *x == s.as_bytes())
            .map(|(o, _)| o)
    }

    /// The loaded strings are placed in visit order on loading, unreferenced and
    /// duplicate ones dropped; strings added later follow in the order the added types
    /// refer to them.
    #[test]
    fn loaded_strings_deduplicated_in_visit_order() {
        // A section out of visit order, with a duplicate and an unreferenced string.
        let mut b = BtfBuilder::new(Endian::Little, None);
        let unused = b.add_str("unused");
        let _ = unused;
        let bb = b.add_str("b");
        let aa = b.add_str("a");
        let int = b.add_type(aa, KIND_INT, 0, 4, &[32]);
        b.add_type(bb, KIND_TYPEDEF, 0, int, &[]);
        let mut raw = b.finish();
        // Append a second "a" to the string section by hand, referenced by a third type.
        let hdr = Btf::parse(&raw, None).unwrap().hdr;
        let str_len = hdr.str_len;
        let types_end = BTF_HDR_LEN + hdr.type_len as usize;
        let mut t3 = Vec::new();
        for w in [str_len, make_info(KIND_TYPEDEF, 0, false), 1u32] {
            t3.extend_from_slice(&w.to_le_bytes());
        }
        raw.splice(types_end..types_end, t3);
        raw.extend_from_slice(b"a\0");
        let type_len = hdr.type_len + 12;
        raw[12..16].copy_from_slice(&type_len.to_le_bytes());
        raw[16..20].copy_from_slice(&type_len.to_le_bytes());
        raw[20..24].copy_from_slice(&(str_len + 2).to_le_bytes());
        let btf = Btf::parse(&raw, None).unwrap();
        let mut m = MutBtf::from_btf(&btf);
        let names: Vec<u32> = m.own_types().map(|(_, t)| t.name_off).collect();
        assert_eq!(names, [1, 3, 1]);
        assert_eq!(m.own_strings(), b"\0a\0b\0");
        let z = m.add_str(b"z");
        let y = m.add_str(b"y");
        assert_eq!((z, y), (5, 7));
        m.push(MType {
            name_off: y,
            info: make_info(KIND_TYPEDEF, 0, false),
            size_type: 1,
            extra: Vec::new(),
        });
        m.dedup_strings();
        assert_eq!(m.own_strings(), b"\0a\0b\0y\0");
        assert_eq!(m.own(4).unwrap().name_off, 5);
    }

    #[test]
    fn dedup_merges_added_pointers_and_sort_orders_names() {
        let bb = base();
        let base = Btf::parse(&bb, None).unwrap();
        let mut sb = BtfBuilder::new(Endian::Little, Some(&base));
        let n = sb.add_str("zeta");
        let proto = sb.add_type(0, KIND_FUNC_PROTO, 0, 1, &[]);
        sb.add_type(n, KIND_FUNC, FUNC_GLOBAL, proto, &[]);
        let bytes = sb.finish();
        let split = Btf::parse(&bytes, Some(&base)).unwrap();
        let mut m = MutBtf::from_btf(&split);
        let p = m.add_ptr(2); // same as base [3]
        let q = m.add_ptr(2);
        let proto2 = m.add_func_proto(p);
        m.add_func_param("a", q).unwrap();
        let f = m.add_func("alpha", FUNC_GLOBAL, proto2);
        m.add_decl_tag("bpf_kfunc", f, -1, false);
        m.dedup().unwrap();
        // Both pointers became base [3]; 2 loaded + proto2, alpha, tag remain.
        assert_eq!(m.own_count(), 5);
        let proto2 = m.own(base.type_count() + 2).unwrap();
        assert_eq!(proto2.size_type, 3);
        assert_eq!(proto2.params()[0].1, 3);
        let deduped = m.to_raw();
        let sorted_raw = {
            let parsed = Btf::parse(&deduped, Some(&base)).unwrap();
            let mut c = MutBtf::from_btf(&parsed);
            c.sort_by_name();
            c.to_raw()
        };
        m.sort_by_name();
        let names: Vec<String> = m.own_types().map(|(_, t)| m.name(t.name_off)).collect();
        assert_eq!(names, ["", "", "alpha", "bpf_kfunc", "zeta"]);
        let raw = m.to_raw();
        assert_eq!(raw, sorted_raw);
        let again = Btf::parse(&raw, Some(&base)).unwrap();
        let tag = again.ty(base.type_count() + 3).unwrap();
        assert_eq!(tag.kind(), KIND_DECL_TAG);
        assert_eq!(
            again.name(again.ty(tag.size_type).unwrap().name_off),
            "alpha"
        );
    }

    #[test]
    fn into_sorted_raw_is_sort_then_to_raw() {
        let bb = base();
        let base = Btf::parse(&bb, None).unwrap();
        let mut sb = BtfBuilder::new(Endian::Big, None);
        let n = sb.add_str("zeta");
        let i = sb.add_str("int");
        let int = sb.add_type(i, KIND_INT, 0, 4, &[32]);
        let proto = sb.add_type(0, KIND_FUNC_PROTO, 0, int, &[]);
        sb.add_type(n, KIND_FUNC, FUNC_GLOBAL, proto, &[]);
        let a = sb.add_str("alpha");
        sb.add_type(a, KIND_TYPEDEF, 0, int, &[]);
        let bytes = sb.finish();
        let _ = base;
        let btf = Btf::parse(&bytes, None).unwrap();
        let mut m = MutBtf::from_btf(&btf);
        let raw = MutBtf::from_btf(&btf).into_sorted_raw();
        m.sort_by_name();
        assert_eq!(raw, m.to_raw());
        let again = Btf::parse(&raw, None).unwrap();
        let names: Vec<String> = again
            .own_types_iter()
            .map(|t| again.name(t.name_off))
            .collect();
        assert_eq!(names, ["", "alpha", "int", "zeta"]);
    }
}
