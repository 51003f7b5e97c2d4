//! A modifiable BTF with libbpf's semantics (Linux 7.3's `tools/lib/bpf/btf.c`), for the
//! phases of 7.3's resolve_btfids that rewrite BTF: `btf2btf` appends types, `finalize`
//! deduplicates ([`MutBtf::dedup`]) and sorts by name ([`MutBtf::sort_by_name`]), and
//! [`MutBtf::to_raw`] is `btf__raw_data()`.
//!
//! The own types (the split part of a module's BTF, or all of vmlinux's) are held decoded,
//! as host-order words; the base stays the borrowed [`Btf`]. Strings follow libbpf:
//! [`MutBtf::add_str`] first looks the string up in the base, then among the string
//! starts of the own string section (first occurrence), and appends it otherwise.

use crate::btf::*;
use kfunc_layout::Endian;
use std::collections::HashMap;

/// One own type of a [`MutBtf`]: `struct btf_type` and the words after it, host order.
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

    /// Indexes into `extra` of the type ids this type refers to, after `size_type`
    /// (`BTF_FIELD_ITER_IDS` of libbpf, in its order); see [`MType::refers_size_type`].
    fn id_slots(&self) -> impl Iterator<Item = usize> {
        let v = self.vlen() as usize;
        let (first, stride, n) = match self.kind() {
            KIND_ARRAY => (0, 1, 2),
            KIND_STRUCT | KIND_UNION => (1, 3, v),
            KIND_FUNC_PROTO => (1, 2, v),
            KIND_DATASEC => (0, 3, v),
            _ => (0, 0, 0),
        };
        (0..n).map(move |i| first + stride * i)
    }

    /// Whether `size_type` is a type id (`BTF_FIELD_ITER_IDS`).
    pub fn refers_size_type(&self) -> bool {
        matches!(
            self.kind(),
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

    /// Call `f` on every type id this type refers to, in libbpf's order.
    pub fn for_each_id_mut(&mut self, mut f: impl FnMut(&mut u32)) {
        if self.refers_size_type() {
            f(&mut self.size_type);
        }
        let slots: Vec<usize> = self.id_slots().collect();
        for i in slots {
            if let Some(w) = self.extra.get_mut(i) {
                f(w);
            }
        }
    }

    /// Call `f` on every string offset of this type (`BTF_FIELD_ITER_STRS`, in order).
    pub fn for_each_str_mut(&mut self, mut f: impl FnMut(&mut u32)) {
        f(&mut self.name_off);
        let v = self.vlen() as usize;
        let (stride, n) = match self.kind() {
            KIND_ENUM => (2, v),
            KIND_ENUM64 => (3, v),
            KIND_STRUCT | KIND_UNION => (3, v),
            KIND_FUNC_PROTO => (2, v),
            _ => (0, 0),
        };
        for i in 0..n {
            if let Some(w) = self.extra.get_mut(stride * i) {
                f(w);
            }
        }
    }

    /// FUNC_PROTO parameters as `(name_off, type)`.
    pub fn params(&self) -> Vec<(u32, u32)> {
        if self.kind() != KIND_FUNC_PROTO {
            return Vec::new();
        }
        self.extra.chunks_exact(2).map(|c| (c[0], c[1])).collect()
    }
}

/// A type of a [`MutBtf`]: from the base, or one of its own.
#[derive(Debug, Clone, Copy)]
pub enum TRef<'s> {
    /// A base type.
    Base(Type<'s>),
    /// An own type.
    Own(&'s MType),
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
            TRef::Own(t) => (*t).clone(),
        }
    }
}

/// Longest chain of reference types followed by [`MutBtf::dedup`] (libbpf has no limit but
/// the stack; real BTF chains are a few types long).
pub const MAX_REF_DEPTH: usize = 4096;
/// Id of a type in the middle of deduplication (`BTF_IN_PROGRESS_ID`).
const IN_PROGRESS: u32 = u32::MAX - 1;
/// Id of a type not deduplicated yet (`BTF_UNPROCESSED_ID`).
const UNPROCESSED: u32 = u32::MAX;

/// A BTF being modified: libbpf's `struct btf` after `btf_ensure_modifiable()`.
#[derive(Debug)]
pub struct MutBtf<'a> {
    /// Byte order (of the input, and of [`MutBtf::to_raw`]).
    pub endian: Endian,
    base: Option<&'a Btf<'a>>,
    hdr_flags: u8,
    hdr_len: u32,
    start_id: u32,
    start_str_off: u32,
    types: Vec<MType>,
    /// How many own types were loaded (the others were added).
    loaded: usize,
    strs: Vec<u8>,
    /// String starts of `strs` → offset in `strs` (first occurrence); built on demand.
    str_index: Option<HashMap<Vec<u8>, u32>>,
    /// String starts of the base → offset (first occurrence); built on demand.
    base_index: Option<HashMap<&'a [u8], u32>>,
    /// libbpf's `strs_deduped`: the string section is known to be deduplicated.
    strs_deduped: bool,
}

impl<'a> MutBtf<'a> {
    /// Take `btf`'s own types and strings (its base stays borrowed).
    pub fn from_btf(btf: &Btf<'a>) -> Self {
        let types: Vec<MType> = btf.own_types_iter().map(|t| MType::from_type(&t)).collect();
        let base = btf.base();
        let str_len = btf.own_strings().len();
        MutBtf {
            endian: btf.endian,
            base,
            hdr_flags: btf.hdr.flags,
            hdr_len: btf.hdr.hdr_len,
            start_id: btf.start_id(),
            start_str_off: btf.start_str_off(),
            loaded: types.len(),
            types,
            strs: btf.own_strings().to_vec(),
            str_index: None,
            base_index: None,
            // btf_ensure_modifiable(): a string section built from scratch is deduplicated.
            strs_deduped: str_len == 0 || (base.is_none() && str_len == 1),
        }
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
            types: Vec::new(),
            loaded: 0,
            strs: if base.is_some() { Vec::new() } else { vec![0] },
            str_index: None,
            base_index: None,
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
        self.start_id + self.types.len() as u32
    }
    /// Number of own types.
    pub fn own_count(&self) -> usize {
        self.types.len()
    }
    /// Number of own types added since loading (the last ones).
    pub fn added_count(&self) -> usize {
        self.types.len() - self.loaded.min(self.types.len())
    }

    /// The type `id` (`None` for 0, void, and for ids out of range).
    pub fn get(&self, id: u32) -> Option<TRef<'_>> {
        if id < self.start_id {
            return self.base.and_then(|b| b.ty(id)).map(TRef::Base);
        }
        self.types.get((id - self.start_id) as usize).map(TRef::Own)
    }

    /// An own type.
    pub fn own(&self, id: u32) -> Option<&MType> {
        id.checked_sub(self.start_id)
            .and_then(|i| self.types.get(i as usize))
    }

    /// An own type, mutable.
    pub fn own_mut(&mut self, id: u32) -> Option<&mut MType> {
        id.checked_sub(self.start_id)
            .and_then(|i| self.types.get_mut(i as usize))
    }

    /// Own types with their ids.
    pub fn own_types(&self) -> impl Iterator<Item = (u32, &MType)> + '_ {
        self.types
            .iter()
            .enumerate()
            .map(|(i, t)| (self.start_id + i as u32, t))
    }

    /// The string at `off` (`btf__str_by_offset`).
    pub fn str_at(&self, off: u32) -> Option<&[u8]> {
        if off < self.start_str_off {
            return self.base.and_then(|b| b.str_at(off));
        }
        let tail = self.strs.get((off - self.start_str_off) as usize..)?;
        std::ffi::CStr::from_bytes_until_nul(tail)
            .ok()
            .map(|c| c.to_bytes())
    }

    /// The string at `off` as text (lossy).
    pub fn name(&self, off: u32) -> String {
        self.str_at(off)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_else(|| format!("<bad name offset {off}>"))
    }

    fn string_starts(strs: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
        let mut off = 0usize;
        std::iter::from_fn(move || {
            if off >= strs.len() {
                return None;
            }
            let len = strs[off..]
                .iter()
                .position(|&c| c == 0)
                .unwrap_or(strs.len() - off);
            let item = (off as u32, &strs[off..off + len]);
            off += len + 1;
            Some(item)
        })
    }

    fn base_find(&mut self, s: &[u8]) -> Option<u32> {
        let base = self.base?;
        let idx = self.base_index.get_or_insert_with(|| {
            let mut m = HashMap::new();
            for (o, st) in Self::string_starts(base.own_strings()) {
                m.entry(st).or_insert(base.start_str_off() + o);
            }
            m
        });
        idx.get(s).copied()
    }

    fn own_index(&mut self) -> &mut HashMap<Vec<u8>, u32> {
        let strs = &self.strs;
        self.str_index.get_or_insert_with(|| {
            let mut m = HashMap::new();
            for (o, st) in Self::string_starts(strs) {
                m.entry(st.to_vec()).or_insert(o);
            }
            m
        })
    }

    /// `btf__find_str`: the offset of `s` (base first), if present.
    pub fn find_str(&mut self, s: &[u8]) -> Option<u32> {
        if let Some(o) = self.base_find(s) {
            return Some(o);
        }
        let start = self.start_str_off;
        self.own_index().get(s).map(|o| start + o)
    }

    /// `btf__add_str`: the offset of `s`, appended unless the base or the own strings have it.
    pub fn add_str(&mut self, s: &[u8]) -> u32 {
        if let Some(o) = self.base_find(s) {
            return o;
        }
        let start = self.start_str_off;
        let len = self.strs.len() as u32;
        let idx = self.own_index();
        if let Some(o) = idx.get(s) {
            return start + o;
        }
        idx.insert(s.to_vec(), len);
        self.strs.extend_from_slice(s);
        self.strs.push(0);
        start + len
    }

    /// Append a type; returns its id (`btf_commit_type`).
    pub fn push(&mut self, t: MType) -> u32 {
        self.types.push(t);
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
        if !matches!(self.types.last(), Some(t) if t.kind() == KIND_FUNC_PROTO) {
            return Err("internal: a parameter added after a type that is not a FUNC_PROTO".into());
        }
        let n = self.name_off_of(name);
        let last = self.types.last_mut().expect("checked above");
        last.extra.push(n);
        last.extra.push(ty);
        last.info = make_info(KIND_FUNC_PROTO, last.vlen() + 1, last.kflag());
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

    /// `btf_dedup_strings()`: rebuild the own string section from the strings the own
    /// types refer to, in the order they are visited, dropping unreferenced ones; strings
    /// the base has become references into the base. Skipped for a section known to be
    /// deduplicated already (libbpf's `strs_deduped`).
    pub fn dedup_strings(&mut self) {
        if self.strs_deduped {
            return;
        }
        let old = std::mem::take(&mut self.strs);
        let start = self.start_str_off;
        let mut new: Vec<u8> = Vec::new();
        let mut idx: HashMap<Vec<u8>, u32> = HashMap::new();
        if self.base.is_none() {
            new.push(0);
            idx.insert(Vec::new(), 0);
        }
        let mut types = std::mem::take(&mut self.types);
        for t in &mut types {
            t.for_each_str_mut(|off| {
                if *off == 0 || *off < start {
                    return;
                }
                let rel = (*off - start) as usize;
                let s = old
                    .get(rel..)
                    .and_then(|tail| std::ffi::CStr::from_bytes_until_nul(tail).ok())
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                if let Some(b) = self.base_find(s) {
                    *off = b;
                    return;
                }
                let o = *idx.entry(s.to_vec()).or_insert_with(|| {
                    let o = new.len() as u32;
                    new.extend_from_slice(s);
                    new.push(0);
                    o
                });
                *off = start + o;
            });
        }
        self.types = types;
        self.strs = new;
        self.str_index = Some(idx);
        self.strs_deduped = true;
    }

    /// `btf__dedup()`, restricted to what this tool's own phases can introduce.
    ///
    /// Strings are deduplicated first ([`MutBtf::dedup_strings`]), as libbpf does. Then
    /// types: the loaded own INT, FLOAT, FWD, ENUM, ENUM64, STRUCT, UNION, TYPEDEF, VAR and
    /// DATASEC types are taken as canonical (pahole's output is already deduplicated by
    /// libbpf's `btf__dedup`); added ones of those kinds merge with an identical earlier
    /// type only when they have no members. Reference types (PTR, CONST, VOLATILE,
    /// RESTRICT, TYPE_TAG, FUNC, DECL_TAG, ARRAY, FUNC_PROTO), loaded or added, go through
    /// libbpf's `btf_dedup_ref_type()`: in id order, referenced types first, each merged
    /// into the first identical canonical type (base types, then own types in the order
    /// they became canonical). Duplicates are then dropped and ids renumbered
    /// (`btf_dedup_compact_types`, `btf_dedup_remap_types`).
    ///
    /// Not done: the struct/union graph equivalence of loaded types, FWD resolution, enum
    /// forward declarations (none of which this tool's phases create).
    pub fn dedup(&mut self) -> Result<(), String> {
        self.dedup_strings();
        let n = self.types.len();
        let start = self.start_id;
        let mut map: Vec<u32> = vec![UNPROCESSED; n];
        // Table of canonical candidates: full record → lowest id.
        let mut table: HashMap<MType, u32> = HashMap::new();
        let is_ref = |k: u32| {
            matches!(
                k,
                KIND_CONST
                    | KIND_VOLATILE
                    | KIND_RESTRICT
                    | KIND_PTR
                    | KIND_FUNC
                    | KIND_TYPE_TAG
                    | KIND_DECL_TAG
                    | KIND_ARRAY
                    | KIND_FUNC_PROTO
            )
        };
        let memberless_struct =
            |t: &MType| matches!(t.kind(), KIND_STRUCT | KIND_UNION) && t.vlen() == 0;
        if let Some(base) = self.base {
            for t in base.own_types_iter() {
                let mt = MType::from_type(&t);
                if is_ref(mt.kind()) || memberless_struct(&mt) {
                    table.entry(mt).or_insert(t.id);
                }
            }
        }
        // Phase 1: non-reference types. Loaded ones are canonical; an added member-less
        // struct or union merges with an identical earlier one.
        for (i, (t, slot)) in self.types.iter().zip(map.iter_mut()).enumerate() {
            if is_ref(t.kind()) {
                continue;
            }
            let id = start + i as u32;
            if i >= self.loaded && memberless_struct(t) {
                if let Some(&c) = table.get(t) {
                    *slot = c;
                    continue;
                }
            }
            *slot = id;
            if memberless_struct(t) {
                table.entry(t.clone()).or_insert(id);
            }
        }
        // Phase 2: reference types, libbpf's btf_dedup_ref_type().
        fn canon(
            id: u32,
            start: u32,
            types: &mut [MType],
            map: &mut [u32],
            table: &mut HashMap<MType, u32>,
            depth: usize,
        ) -> Result<u32, String> {
            if id < start {
                return Ok(id);
            }
            if depth > MAX_REF_DEPTH {
                return Err(format!(
                    "type [{id}]: a chain of more than {MAX_REF_DEPTH} reference types"
                ));
            }
            let i = (id - start) as usize;
            if i >= types.len() {
                return Err(format!("type [{id}] refers beyond the last type"));
            }
            match map[i] {
                IN_PROGRESS => return Err(format!("type [{id}]: reference loop")),
                UNPROCESSED => {}
                m => {
                    // Follow the chain to the canonical type.
                    let mut m = m;
                    for _ in 0..map.len() {
                        match m.checked_sub(start).and_then(|j| map.get(j as usize)) {
                            Some(&next) if next != m => m = next,
                            _ => break,
                        }
                    }
                    if m >= start && map.get((m - start) as usize) != Some(&m) {
                        return Err(format!("type [{id}]: reference loop"));
                    }
                    return Ok(m);
                }
            }
            map[i] = IN_PROGRESS;
            let mut t = types[i].clone();
            let mut refs = Vec::new();
            t.for_each_id_mut(|r| refs.push(*r));
            let mut resolved = Vec::with_capacity(refs.len());
            for r in refs {
                resolved.push(canon(r, start, types, map, table, depth + 1)?);
            }
            let mut it = resolved.into_iter();
            t.for_each_id_mut(|r| *r = it.next().unwrap_or(*r));
            let new_id = match table.get(&t) {
                Some(&c) => c,
                None => {
                    table.insert(t.clone(), id);
                    id
                }
            };
            types[i] = t;
            map[i] = new_id;
            Ok(new_id)
        }
        for i in 0..n {
            if map[i] == UNPROCESSED {
                canon(
                    start + i as u32,
                    start,
                    &mut self.types,
                    &mut map,
                    &mut table,
                    0,
                )?;
            }
        }
        // Compact and remap.
        let resolve = |mut id: u32| -> u32 {
            for _ in 0..map.len() {
                match id.checked_sub(start).and_then(|j| map.get(j as usize)) {
                    Some(&next) if next != id => id = next,
                    _ => break,
                }
            }
            id
        };
        let mut new_ids = vec![0u32; n];
        let mut next = start;
        for i in 0..n {
            if map[i] == start + i as u32 {
                new_ids[i] = next;
                next += 1;
            }
        }
        let old = std::mem::take(&mut self.types);
        let mut kept = Vec::with_capacity((next - start) as usize);
        let mut loaded = 0;
        for (i, mut t) in old.into_iter().enumerate() {
            if map[i] != start + i as u32 {
                continue;
            }
            let mut bad = None;
            t.for_each_id_mut(|r| {
                let c = resolve(*r);
                if c < start {
                    *r = c;
                } else {
                    match new_ids.get((c - start) as usize) {
                        Some(&v) => *r = v,
                        None => bad = Some(*r),
                    }
                }
            });
            if let Some(r) = bad {
                return Err(format!(
                    "type [{}] refers to type [{r}], beyond the last type",
                    start + i as u32
                ));
            }
            if i < self.loaded {
                loaded += 1;
            }
            kept.push(t);
        }
        self.types = kept;
        self.loaded = loaded;
        Ok(())
    }

    /// `sort_btf_by_name()` of 7.3's resolve_btfids with `btf__permute()`: own types
    /// ordered by name (`strcmp`), equal names (the anonymous ones first of all) in their
    /// old order; every reference renumbered. For BTF without a base, type 0 (void) takes
    /// part and stays first.
    pub fn sort_by_name(&mut self) {
        let n = self.types.len();
        let start = self.start_id;
        let mut order: Vec<usize> = (0..n).collect();
        {
            let name =
                |i: usize| -> &[u8] { self.str_at(self.types[i].name_off).unwrap_or_default() };
            order.sort_by(|&a, &b| name(a).cmp(name(b)).then(a.cmp(&b)));
        }
        let mut new_id = vec![0u32; n];
        for (pos, &i) in order.iter().enumerate() {
            new_id[i] = start + pos as u32;
        }
        let mut old: Vec<Option<MType>> = std::mem::take(&mut self.types)
            .into_iter()
            .map(Some)
            .collect();
        let mut out = Vec::with_capacity(n);
        for &i in &order {
            let mut t = old[i].take().expect("each type once");
            t.for_each_id_mut(|r| {
                if *r >= start {
                    if let Some(&v) = new_id.get((*r - start) as usize) {
                        *r = v;
                    }
                }
            });
            out.push(t);
        }
        self.types = out;
        self.loaded = n; // sorting mixes loaded and added types
    }

    /// `btf__raw_data()`: header (`hdr_len` and flags as loaded), types, strings.
    pub fn to_raw(&self) -> Vec<u8> {
        let e = self.endian;
        let type_len: usize = self
            .types
            .iter()
            .map(|t| BTF_TYPE_LEN + 4 * t.extra.len())
            .sum();
        let hdr_len = self.hdr_len.max(BTF_HDR_LEN as u32) as usize;
        let mut out = Vec::with_capacity(hdr_len + type_len + self.strs.len());
        out.extend_from_slice(&e.u16_bytes(BTF_MAGIC));
        out.push(1);
        out.push(self.hdr_flags);
        for w in [
            hdr_len as u32,
            0,
            type_len as u32,
            type_len as u32,
            self.strs.len() as u32,
        ] {
            out.extend_from_slice(&e.u32_bytes(w));
        }
        out.resize(hdr_len, 0);
        for t in &self.types {
            for w in [t.name_off, t.info, t.size_type].iter().chain(&t.extra) {
                out.extend_from_slice(&e.u32_bytes(*w));
            }
        }
        out.extend_from_slice(&self.strs);
        out
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
        let mut stack: Vec<MType> = self.types.iter().rev().cloned().collect();
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
        for t in &self.types {
            ns.add_piped(self, t, &mut d.str_map);
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
        for t in &mut ns.types {
            t.for_each_id_mut(|r| match id_map.get(*r as usize) {
                Some(&m) if m != 0 => *r = m,
                _ if *r >= split_start => *r -= diff,
                _ => {}
            });
        }
        ns.loaded = ns.types.len();
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
        MutBtf::string_starts(b.own_strings())
            .find(|(_, x)| *x == s.as_bytes())
            .map(|(o, _)| o)
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
        m.sort_by_name();
        let names: Vec<String> = m.own_types().map(|(_, t)| m.name(t.name_off)).collect();
        assert_eq!(names, ["", "", "alpha", "bpf_kfunc", "zeta"]);
        let raw = m.to_raw();
        let again = Btf::parse(&raw, Some(&base)).unwrap();
        let tag = again.ty(base.type_count() + 3).unwrap();
        assert_eq!(tag.kind(), KIND_DECL_TAG);
        assert_eq!(
            again.name(again.ty(tag.size_type).unwrap().name_off),
            "alpha"
        );
    }
}
