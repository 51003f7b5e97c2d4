//! BTF reader (zero-copy, either byte order, base or split) and writer.
//!
//! The reader keeps the raw bytes and an offset per type; nothing is copied. A split BTF
//! (a module's `.BTF`) is read on top of its base: its type ids start after the base's
//! last id and its string offsets after the base's string section.

use kfunc_layout::Endian;
use std::collections::HashMap;

/// BTF magic (`0xeB9F`).
pub const BTF_MAGIC: u16 = 0xeb9f;
/// Size of `struct btf_header` (version 1).
pub const BTF_HDR_LEN: usize = 24;
/// Size of `struct btf_type`.
pub const BTF_TYPE_LEN: usize = 12;

/// `BTF_KIND_INT`.
pub const KIND_INT: u32 = 1;
/// `BTF_KIND_PTR`.
pub const KIND_PTR: u32 = 2;
/// `BTF_KIND_ARRAY`.
pub const KIND_ARRAY: u32 = 3;
/// `BTF_KIND_STRUCT`.
pub const KIND_STRUCT: u32 = 4;
/// `BTF_KIND_UNION`.
pub const KIND_UNION: u32 = 5;
/// `BTF_KIND_ENUM`.
pub const KIND_ENUM: u32 = 6;
/// `BTF_KIND_FWD`.
pub const KIND_FWD: u32 = 7;
/// `BTF_KIND_TYPEDEF`.
pub const KIND_TYPEDEF: u32 = 8;
/// `BTF_KIND_VOLATILE`.
pub const KIND_VOLATILE: u32 = 9;
/// `BTF_KIND_CONST`.
pub const KIND_CONST: u32 = 10;
/// `BTF_KIND_RESTRICT`.
pub const KIND_RESTRICT: u32 = 11;
/// `BTF_KIND_FUNC`.
pub const KIND_FUNC: u32 = 12;
/// `BTF_KIND_FUNC_PROTO`.
pub const KIND_FUNC_PROTO: u32 = 13;
/// `BTF_KIND_VAR`.
pub const KIND_VAR: u32 = 14;
/// `BTF_KIND_DATASEC`.
pub const KIND_DATASEC: u32 = 15;
/// `BTF_KIND_FLOAT`.
pub const KIND_FLOAT: u32 = 16;
/// `BTF_KIND_DECL_TAG`.
pub const KIND_DECL_TAG: u32 = 17;
/// `BTF_KIND_TYPE_TAG`.
pub const KIND_TYPE_TAG: u32 = 18;
/// `BTF_KIND_ENUM64`.
pub const KIND_ENUM64: u32 = 19;
/// `BTF_FUNC_GLOBAL` linkage.
pub const FUNC_GLOBAL: u32 = 1;

/// `BTF_INFO_KIND` (7 bits since Linux 7.x; kinds are below 32 in practice).
pub const fn info_kind(info: u32) -> u32 {
    (info >> 24) & 0x7f
}

/// `BTF_INFO_VLEN` (24 bits since Linux 7.x).
pub const fn info_vlen(info: u32) -> u32 {
    info & 0x00ff_ffff
}

/// `BTF_INFO_KFLAG`.
pub const fn info_kflag(info: u32) -> bool {
    info >> 31 != 0
}

/// `btf_type_info()`: the `info` word of a kind, vlen and kind flag.
pub const fn make_info(kind: u32, vlen: u32, kflag: bool) -> u32 {
    ((kflag as u32) << 31) | ((kind & 0x7f) << 24) | (vlen & 0x00ff_ffff)
}

/// Something types and strings can be appended to: [`BtfBuilder`] (a blob rebuilt from
/// its bytes) or [`crate::btfmut::MutBtf`] (libbpf's modifiable BTF).
pub trait BtfSink {
    /// Add a string; returns its offset.
    fn add_str(&mut self, s: &str) -> u32;
    /// Append a type; `extra` are the words after `struct btf_type`. Returns its id.
    fn add_type(
        &mut self,
        name_off: u32,
        kind: u32,
        vlen: u32,
        size_type: u32,
        extra: &[u32],
    ) -> u32;
    /// The id the next added type gets.
    fn add_type_count(&self) -> u32;
}

/// Why BTF bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BtfError {
    /// The header is missing, too short or inconsistent.
    #[error("BTF header: {0}")]
    Header(String),
    /// A type record is malformed.
    #[error("BTF type [{id}]: {msg}")]
    Type {
        /// Type id.
        id: u32,
        /// What is wrong.
        msg: String,
    },
    /// The string section is malformed or an offset points outside it.
    #[error("BTF strings: {0}")]
    Strings(String),
    /// The base BTF and the split BTF disagree (byte order).
    #[error("BTF: {0}")]
    Other(String),
}

/// Size in bytes of the data following `struct btf_type` for a kind and vlen, or `None`
/// for an unknown kind.
pub fn extra_len(kind: u32, vlen: u32) -> Option<usize> {
    let v = vlen as usize;
    Some(match kind {
        KIND_INT => 4,
        KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
        | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
        KIND_ARRAY => 12,
        KIND_STRUCT | KIND_UNION => 12 * v,
        KIND_ENUM => 8 * v,
        KIND_FUNC_PROTO => 8 * v,
        KIND_VAR => 4,
        KIND_DATASEC => 12 * v,
        KIND_DECL_TAG => 4,
        KIND_ENUM64 => 12 * v,
        _ => return None,
    })
}

/// A decoded header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Version (1).
    pub version: u8,
    /// Flags (0).
    pub flags: u8,
    /// Header length.
    pub hdr_len: u32,
    /// Type section offset after the header.
    pub type_off: u32,
    /// Type section length.
    pub type_len: u32,
    /// String section offset after the header.
    pub str_off: u32,
    /// String section length.
    pub str_len: u32,
}

/// One type, borrowed from the BTF bytes.
#[derive(Debug, Clone, Copy)]
pub struct Type<'a> {
    /// Type id.
    pub id: u32,
    /// `name_off`.
    pub name_off: u32,
    /// `info` (vlen, kind, kind_flag).
    pub info: u32,
    /// `size` or `type`.
    pub size_type: u32,
    /// The kind-specific data after `struct btf_type`.
    pub extra: &'a [u8],
    endian: Endian,
}

impl<'a> Type<'a> {
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
    /// The `u32` at word `i` of the extra data.
    pub fn word(&self, i: usize) -> u32 {
        self.endian.u32(self.extra, 4 * i).unwrap_or(0)
    }
    /// FUNC_PROTO parameters as `(name_off, type)`.
    pub fn params(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let n = if self.kind() == KIND_FUNC_PROTO {
            self.vlen() as usize
        } else {
            0
        };
        (0..n).map(move |i| (self.word(2 * i), self.word(2 * i + 1)))
    }
}

/// A parsed BTF blob (base or split).
#[derive(Debug)]
pub struct Btf<'a> {
    /// Byte order of the BTF data (from its magic).
    pub endian: Endian,
    /// The header.
    pub hdr: Header,
    data: &'a [u8],
    types: &'a [u8],
    strs: &'a [u8],
    offsets: Vec<u32>,
    start_id: u32,
    start_str_off: u32,
    base: Option<&'a Btf<'a>>,
}

fn sect<'a>(
    data: &'a [u8],
    hdr_len: u32,
    off: u32,
    len: u32,
    what: &str,
) -> Result<&'a [u8], BtfError> {
    let start = (hdr_len as u64) + off as u64;
    let end = start + len as u64;
    if end > data.len() as u64 {
        return Err(BtfError::Header(format!(
            "{what} section [{start}, {end}) beyond the {} bytes of BTF data",
            data.len()
        )));
    }
    Ok(&data[start as usize..end as usize])
}

impl<'a> Btf<'a> {
    /// Parse `data`; with `base`, as split BTF on top of it.
    pub fn parse(data: &'a [u8], base: Option<&'a Btf<'a>>) -> Result<Self, BtfError> {
        Self::parse_with(data, base, true)
    }

    /// Parse BTF this tool wrote itself: the header and type records are checked as by
    /// [`Btf::parse`], but not the names and references of every type (libbpf's sanity
    /// check, which the input already passed).
    pub fn parse_trusted(data: &'a [u8], base: Option<&'a Btf<'a>>) -> Result<Self, BtfError> {
        Self::parse_with(data, base, false)
    }

    fn parse_with(
        data: &'a [u8],
        base: Option<&'a Btf<'a>>,
        validate: bool,
    ) -> Result<Self, BtfError> {
        if data.len() < BTF_HDR_LEN {
            return Err(BtfError::Header(format!(
                "{} bytes, shorter than the {BTF_HDR_LEN}-byte header",
                data.len()
            )));
        }
        let endian = match u16::from_le_bytes([data[0], data[1]]) {
            BTF_MAGIC => Endian::Little,
            m if m.swap_bytes() == BTF_MAGIC => Endian::Big,
            m => return Err(BtfError::Header(format!("bad magic {m:#06x}"))),
        };
        if let Some(b) = base {
            if b.endian != endian {
                return Err(BtfError::Other(
                    "split BTF and base BTF differ in byte order".into(),
                ));
            }
        }
        let u = |o| endian.u32(data, o).unwrap_or(0);
        let hdr = Header {
            version: data[2],
            flags: data[3],
            hdr_len: u(4),
            type_off: u(8),
            type_len: u(12),
            str_off: u(16),
            str_len: u(20),
        };
        if hdr.version != 1 {
            return Err(BtfError::Header(format!(
                "unsupported version {}",
                hdr.version
            )));
        }
        if (hdr.hdr_len as usize) < BTF_HDR_LEN || hdr.hdr_len as usize > data.len() {
            return Err(BtfError::Header(format!(
                "bad header length {}",
                hdr.hdr_len
            )));
        }
        if data[BTF_HDR_LEN..hdr.hdr_len as usize]
            .iter()
            .any(|&b| b != 0)
        {
            // Linux 7.x headers may go on with layout_off and layout_len (pahole
            // --btf_features=layout): a kind layout section this reader does not support.
            let layout = hdr.hdr_len >= 32 && u(28) != 0;
            return Err(BtfError::Header(if layout {
                format!(
                    "a kind layout section ({} bytes; pahole --btf_features=layout) is not supported",
                    u(28)
                )
            } else {
                "unknown non-zero header fields".into()
            }));
        }
        if hdr.type_off % 4 != 0 {
            return Err(BtfError::Header(format!(
                "type section offset {} is not 4-aligned",
                hdr.type_off
            )));
        }
        let types = sect(data, hdr.hdr_len, hdr.type_off, hdr.type_len, "type")?;
        let strs = sect(data, hdr.hdr_len, hdr.str_off, hdr.str_len, "string")?;
        let (ts, te) = (
            hdr.type_off as u64,
            hdr.type_off as u64 + hdr.type_len as u64,
        );
        let (ss, se) = (hdr.str_off as u64, hdr.str_off as u64 + hdr.str_len as u64);
        if ts < se && ss < te {
            return Err(BtfError::Header("type and string sections overlap".into()));
        }
        if base.is_none() && strs.first().is_some_and(|&c| c != 0) {
            return Err(BtfError::Strings("first string is not empty".into()));
        }
        if base.is_none() && strs.is_empty() {
            return Err(BtfError::Strings("empty string section".into()));
        }
        if strs.last().is_some_and(|&c| c != 0) {
            return Err(BtfError::Strings(
                "string section does not end with NUL".into(),
            ));
        }
        let (start_id, start_str_off) = match base {
            Some(b) => (b.type_count(), b.start_str_off + b.hdr.str_len),
            None => (1, 0),
        };
        let mut btf = Btf {
            endian,
            hdr,
            data,
            types,
            strs,
            offsets: Vec::new(),
            start_id,
            start_str_off,
            base,
        };
        btf.index(validate)?;
        Ok(btf)
    }

    fn index(&mut self, validate: bool) -> Result<(), BtfError> {
        let t = self.types;
        let e = self.endian;
        let mut off = 0usize;
        let mut offsets = Vec::with_capacity(t.len() / 24);
        while off < t.len() {
            let id = self.start_id + offsets.len() as u32;
            if t.len() - off < BTF_TYPE_LEN {
                return Err(BtfError::Type {
                    id,
                    msg: format!("truncated at type section offset {off}"),
                });
            }
            let b = [t[off + 4], t[off + 5], t[off + 6], t[off + 7]];
            let info = match e {
                kfunc_layout::Endian::Little => u32::from_le_bytes(b),
                kfunc_layout::Endian::Big => u32::from_be_bytes(b),
            };
            let kind = info_kind(info);
            let vlen = info_vlen(info);
            let n = extra_len(kind, vlen).ok_or_else(|| BtfError::Type {
                id,
                msg: format!("unknown kind {kind}"),
            })?;
            if t.len() - off - BTF_TYPE_LEN < n {
                return Err(BtfError::Type {
                    id,
                    msg: format!("kind {kind} with vlen {vlen} runs past the type section"),
                });
            }
            offsets.push(off as u32);
            off += BTF_TYPE_LEN + n;
        }
        self.offsets = offsets;
        if validate {
            self.validate()?;
        }
        Ok(())
    }

    /// The checks of libbpf's `btf_sanity_check()` that [`Btf::parse`] makes and
    /// [`Btf::parse_trusted`] leaves out (to be made later, e.g. on another thread): every
    /// name offset and type id in range, every FUNC's type a FUNC_PROTO.
    /// Also refuses a reference loop among the own types (see
    /// [`Btf::check_reference_loops`]), which libbpf's sanity check lets through.
    pub fn validate(&self) -> Result<(), BtfError> {
        if self.valid_fast() {
            return self.check_reference_loops();
        }
        // Find what is wrong, like libbpf's sanity check does.
        let count = self.type_count();
        for i in 0..self.offsets.len() {
            let ty = self.own(i);
            let bad_id = |what: &str, v: u32| BtfError::Type {
                id: ty.id,
                msg: format!(
                    "{what} refers to type {v}, beyond the last type {}",
                    count - 1
                ),
            };
            if !self.name_ok(ty.name_off) {
                return Err(BtfError::Type {
                    id: ty.id,
                    msg: format!("name offset {} outside the string section", ty.name_off),
                });
            }
            let refers = matches!(
                ty.kind(),
                KIND_PTR
                    | KIND_TYPEDEF
                    | KIND_VOLATILE
                    | KIND_CONST
                    | KIND_RESTRICT
                    | KIND_FUNC
                    | KIND_VAR
                    | KIND_DECL_TAG
                    | KIND_TYPE_TAG
                    | KIND_FUNC_PROTO
            );
            if refers && ty.size_type >= count {
                return Err(bad_id("type", ty.size_type));
            }
            // libbpf's btf_validate_type(): "referenced type [%u] is not FUNC_PROTO" (a
            // module's BTF split on another vmlinux than the one pahole used shows it).
            if ty.kind() == KIND_FUNC
                && self.ty(ty.size_type).map(|t| t.kind()) != Some(KIND_FUNC_PROTO)
            {
                return Err(BtfError::Type {
                    id: ty.id,
                    msg: format!(
                        "FUNC refers to type {}, which is not a FUNC_PROTO",
                        ty.size_type
                    ),
                });
            }
            match ty.kind() {
                KIND_STRUCT | KIND_UNION => {
                    for m in 0..ty.vlen() as usize {
                        let (n, t) = (ty.word(3 * m), ty.word(3 * m + 1));
                        if t >= count {
                            return Err(bad_id("member", t));
                        }
                        if !self.name_ok(n) {
                            return Err(BtfError::Type {
                                id: ty.id,
                                msg: format!("member name offset {n} outside the string section"),
                            });
                        }
                    }
                }
                KIND_FUNC_PROTO => {
                    for (n, t) in ty.params() {
                        if t >= count {
                            return Err(bad_id("parameter", t));
                        }
                        if !self.name_ok(n) {
                            return Err(BtfError::Type {
                                id: ty.id,
                                msg: format!(
                                    "parameter name offset {n} outside the string section"
                                ),
                            });
                        }
                    }
                }
                KIND_ARRAY => {
                    for t in [ty.word(0), ty.word(1)] {
                        if t >= count {
                            return Err(bad_id("array", t));
                        }
                    }
                }
                KIND_DATASEC => {
                    for m in 0..ty.vlen() as usize {
                        let t = ty.word(3 * m);
                        if t >= count {
                            return Err(bad_id("datasec variable", t));
                        }
                    }
                }
                _ => {}
            }
        }
        self.check_reference_loops()
    }

    /// Refuse a loop of references among the own types that passes through no struct,
    /// union or function prototype: pointers, typedefs, modifiers, type tags and array
    /// element types that lead back to themselves (`const` -> `volatile` -> `const`, a
    /// typedef of itself). Such a type has no size and no end; the kernel refuses it at
    /// load ("Loop detected"), libbpf's dedup fails on it (-ELOOP) without saying which
    /// file holds it. One pass, each type visited once.
    fn check_reference_loops(&self) -> Result<(), BtfError> {
        let n = self.offsets.len();
        let e = self.endian;
        let next = |i: usize| -> Option<usize> {
            let o = self.offsets[i] as usize;
            let info = e.u32(self.types, o + 4)?;
            let to = match info_kind(info) {
                KIND_PTR | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_TYPE_TAG => e.u32(self.types, o + 8)?,
                KIND_ARRAY => e.u32(self.types, o + BTF_TYPE_LEN)?,
                _ => return None,
            };
            let j = to.checked_sub(self.start_id)? as usize;
            (j < n).then_some(j)
        };
        // 0: not seen, 1: on the chain being followed, 2: its chain ends.
        let mut state = vec![0u8; n];
        let mut chain = Vec::new();
        for i in 0..n {
            let mut cur = i;
            let looped = loop {
                if state[cur] != 0 {
                    break None;
                }
                state[cur] = 1;
                chain.push(cur);
                match next(cur) {
                    Some(j) if state[j] == 1 => break Some(j),
                    Some(j) => cur = j,
                    None => break None,
                }
            };
            if let Some(j) = looped {
                let ids: Vec<String> = chain[chain.iter().position(|&c| c == j).unwrap_or(0)..]
                    .iter()
                    .map(|&c| (self.start_id + c as u32).to_string())
                    .collect();
                return Err(BtfError::Type {
                    id: self.start_id + j as u32,
                    msg: format!("reference loop: types {} -> {}", ids.join(" -> "), ids[0]),
                });
            }
            for c in chain.drain(..) {
                state[c] = 2;
            }
        }
        Ok(())
    }

    /// Whether every name offset and type id of the own types is in range and every FUNC
    /// refers to a FUNC_PROTO: the checks of [`Btf::index`]'s slow loop (which then says
    /// what is wrong), reading the words directly.
    fn valid_fast(&self) -> bool {
        let t = self.types;
        let le = self.endian == kfunc_layout::Endian::Little;
        let rd = |o: usize| -> u32 {
            let b: [u8; 4] = t[o..o + 4].try_into().unwrap_or([0xff; 4]);
            if le {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            }
        };
        let count = self.type_count();
        let names = self.start_str_off as u64 + self.strs.len() as u64;
        let name_ok = |n: u32| u64::from(n) < names;
        for &off in &self.offsets {
            let o = off as usize;
            let info = rd(o + 4);
            let size_type = rd(o + 8);
            if !name_ok(rd(o)) {
                return false;
            }
            let x = o + BTF_TYPE_LEN;
            let vlen = info_vlen(info) as usize;
            let ok = match info_kind(info) {
                KIND_PTR | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_VAR
                | KIND_DECL_TAG | KIND_TYPE_TAG => size_type < count,
                KIND_FUNC => size_type < count && self.kind_of(size_type) == Some(KIND_FUNC_PROTO),
                KIND_FUNC_PROTO => {
                    size_type < count
                        && (0..vlen).all(|m| name_ok(rd(x + 8 * m)) && rd(x + 8 * m + 4) < count)
                }
                KIND_STRUCT | KIND_UNION => {
                    (0..vlen).all(|m| name_ok(rd(x + 12 * m)) && rd(x + 12 * m + 4) < count)
                }
                KIND_ARRAY => rd(x) < count && rd(x + 4) < count,
                KIND_DATASEC => (0..vlen).all(|m| rd(x + 12 * m) < count),
                _ => true,
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// The kind of type `id` (`None` for void and ids out of range).
    fn kind_of(&self, id: u32) -> Option<u32> {
        if id < self.start_id {
            return self.base.and_then(|b| b.kind_of(id));
        }
        let off = *self.offsets.get((id - self.start_id) as usize)? as usize;
        self.endian.u32(self.types, off + 4).map(info_kind)
    }

    fn own(&self, i: usize) -> Type<'a> {
        let off = self.offsets[i] as usize;
        let t = self.types;
        let e = self.endian;
        let info = e.u32(t, off + 4).unwrap_or(0);
        let n = extra_len(info_kind(info), info_vlen(info)).unwrap_or(0);
        Type {
            id: self.start_id + i as u32,
            name_off: e.u32(t, off).unwrap_or(0),
            info,
            size_type: e.u32(t, off + 8).unwrap_or(0),
            extra: &t[off + BTF_TYPE_LEN..off + BTF_TYPE_LEN + n],
            endian: e,
        }
    }

    /// `btf__type_cnt`: one more than the last type id (including the base's).
    pub fn type_count(&self) -> u32 {
        self.start_id + self.offsets.len() as u32
    }
    /// First type id of this blob (1, or the base's count for split BTF).
    pub fn start_id(&self) -> u32 {
        self.start_id
    }
    /// First string offset of this blob (0, or the base's string size for split BTF).
    pub fn start_str_off(&self) -> u32 {
        self.start_str_off
    }
    /// Number of types in this blob (without the base's).
    pub fn own_count(&self) -> u32 {
        self.offsets.len() as u32
    }
    /// The base BTF of a split BTF.
    pub fn base(&self) -> Option<&'a Btf<'a>> {
        self.base
    }
    /// The raw bytes this BTF was parsed from.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    /// This blob's own string section.
    pub fn own_strings(&self) -> &'a [u8] {
        self.strs
    }
    /// This blob's own type section.
    pub fn own_types(&self) -> &'a [u8] {
        self.types
    }
    /// Byte offset of each own type in [`Btf::own_types`].
    pub fn own_offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// Word `k` of type `id` (0: `name_off`, 1: `info`, 2: `size`/`type`, 3..: the words
    /// after `struct btf_type`; `k` must be inside the type's record), from the base for
    /// ids below [`Btf::start_id`]. 0 for void (id 0) and ids out of range.
    #[inline]
    pub fn type_word(&self, id: u32, k: usize) -> u32 {
        if id < self.start_id {
            return self.base.map_or(0, |b| b.type_word(id, k));
        }
        match self.offsets.get((id - self.start_id) as usize) {
            Some(&off) => self
                .endian
                .u32(self.types, off as usize + 4 * k)
                .unwrap_or(0),
            None => 0,
        }
    }

    /// The type with id `id` (from the base if below [`Btf::start_id`]); `None` for 0
    /// (void) or an id out of range.
    pub fn ty(&self, id: u32) -> Option<Type<'a>> {
        if id < self.start_id {
            return self.base.and_then(|b| b.ty(id));
        }
        let i = (id - self.start_id) as usize;
        (i < self.offsets.len()).then(|| self.own(i))
    }

    /// The NUL-terminated bytes at string offset `off` (without the NUL).
    pub fn str_at(&self, off: u32) -> Option<&'a [u8]> {
        if off < self.start_str_off {
            return self.base.and_then(|b| b.str_at(off));
        }
        crate::strset::cstr_at(self.strs, (off - self.start_str_off) as usize)
    }

    /// [`crate::strset::prefix8`] of the string at `off`; `None` where [`Btf::str_at`]
    /// would be `None` for a reason the first eight bytes show (an offset out of range).
    pub fn name_prefix8(&self, off: u32) -> Option<u64> {
        if off < self.start_str_off {
            return self.base.and_then(|b| b.name_prefix8(off));
        }
        let rel = (off - self.start_str_off) as usize;
        (rel < self.strs.len()).then(|| crate::strset::prefix8(self.strs, rel))
    }

    /// Whether `off` is a valid string offset (the string section ends with a NUL, so any
    /// offset inside it starts a terminated string).
    pub fn name_ok(&self, off: u32) -> bool {
        if off < self.start_str_off {
            return self.base.is_some_and(|b| b.name_ok(off));
        }
        ((off - self.start_str_off) as usize) < self.strs.len()
    }

    /// `(id, kind, name_off)` of every type, base first: a light walk for name lookups.
    pub fn for_each_kind_name(&self, f: &mut impl FnMut(u32, u32, u32)) {
        if let Some(b) = self.base {
            b.for_each_kind_name(f);
        }
        let e = self.endian;
        for (i, &off) in self.offsets.iter().enumerate() {
            let off = off as usize;
            let name_off = e.u32(self.types, off).unwrap_or(0);
            let info = e.u32(self.types, off + 4).unwrap_or(0);
            f(self.start_id + i as u32, info_kind(info), name_off);
        }
    }

    /// The name at `off` as text (lossy for non-UTF-8 bytes).
    pub fn name(&self, off: u32) -> String {
        self.str_at(off)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_else(|| format!("<bad name offset {off}>"))
    }

    /// Iterate this blob's own types (not the base's).
    pub fn own_types_iter(&self) -> impl Iterator<Item = Type<'a>> + '_ {
        (0..self.offsets.len()).map(|i| self.own(i))
    }

    /// Iterate every type id 1.. (base first, then own).
    pub fn all_types(&self) -> Box<dyn Iterator<Item = Type<'a>> + '_> {
        match self.base {
            Some(b) => Box::new(b.all_types().chain(self.own_types_iter())),
            None => Box::new(self.own_types_iter()),
        }
    }

    /// Follow typedefs and modifiers to the underlying type id.
    pub fn resolve_alias(&self, mut id: u32) -> u32 {
        for _ in 0..64 {
            match self.ty(id) {
                Some(t)
                    if matches!(
                        t.kind(),
                        KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG
                    ) =>
                {
                    id = t.size_type
                }
                _ => return id,
            }
        }
        id
    }
}

/// Builds a BTF blob: either a new one, or an existing blob with types appended.
#[derive(Debug)]
pub struct BtfBuilder {
    endian: Endian,
    hdr_len: u32,
    types: Vec<u8>,
    strs: Vec<u8>,
    start_id: u32,
    start_str_off: u32,
    count: u32,
    interned: HashMap<Vec<u8>, u32>,
    grown: bool,
}

impl BtfBuilder {
    /// An empty blob; on top of `base` when given (split BTF).
    pub fn new(endian: Endian, base: Option<&Btf<'_>>) -> Self {
        let (start_id, start_str_off) = match base {
            Some(b) => (b.type_count(), b.start_str_off() + b.hdr.str_len),
            None => (1, 0),
        };
        BtfBuilder {
            endian,
            hdr_len: BTF_HDR_LEN as u32,
            types: Vec::new(),
            strs: if base.is_some() { Vec::new() } else { vec![0] },
            start_id,
            start_str_off,
            count: 0,
            interned: HashMap::new(),
            grown: false,
        }
    }

    /// Start from the types and strings of `btf` (its own part, for split BTF).
    pub fn from_btf(btf: &Btf<'_>) -> Self {
        BtfBuilder {
            endian: btf.endian,
            hdr_len: btf.hdr.hdr_len,
            types: btf.own_types().to_vec(),
            strs: btf.own_strings().to_vec(),
            start_id: btf.start_id(),
            start_str_off: btf.start_str_off(),
            count: btf.own_count(),
            interned: HashMap::new(),
            grown: false,
        }
    }

    /// One more than the last type id (the id the next added type gets).
    pub fn add_type_count(&self) -> u32 {
        self.start_id + self.count
    }

    /// Whether any type or string was added.
    pub fn grown(&self) -> bool {
        self.grown
    }

    /// Add a string (deduplicated among added strings); returns its offset. `""` is 0.
    pub fn add_str(&mut self, s: &str) -> u32 {
        if s.is_empty() && (self.start_str_off > 0 || self.strs.first() == Some(&0)) {
            return 0;
        }
        if let Some(&o) = self.interned.get(s.as_bytes()) {
            return o;
        }
        if self.strs.is_empty() {
            // libbpf before 1.2 (Debian 12 has 1.1) refuses a string section that does not
            // start with the empty string, split BTF included; pahole always writes one.
            self.strs.push(0);
        }
        let off = self.start_str_off + self.strs.len() as u32;
        self.strs.extend_from_slice(s.as_bytes());
        self.strs.push(0);
        self.interned.insert(s.as_bytes().to_vec(), off);
        self.grown = true;
        off
    }

    /// Append a type; `extra` are the words after `struct btf_type`. Returns its id.
    pub fn add_type(
        &mut self,
        name_off: u32,
        kind: u32,
        vlen: u32,
        size_type: u32,
        extra: &[u32],
    ) -> u32 {
        self.add_type_info(name_off, make_info(kind, vlen, false), size_type, extra)
    }

    /// Append a type given its whole `info` word (to set the kind flag). Returns its id.
    pub fn add_type_info(
        &mut self,
        name_off: u32,
        info: u32,
        size_type: u32,
        extra: &[u32],
    ) -> u32 {
        let e = self.endian;
        for w in [name_off, info, size_type].iter().chain(extra) {
            self.types.extend_from_slice(&e.u32_bytes(*w));
        }
        let id = self.start_id + self.count;
        self.count += 1;
        self.grown = true;
        id
    }

    /// Encode: header, types, strings (in that order, no gaps).
    pub fn finish(&self) -> Vec<u8> {
        let e = self.endian;
        let mut out =
            Vec::with_capacity(self.hdr_len as usize + self.types.len() + self.strs.len());
        out.extend_from_slice(&e.u16_bytes(BTF_MAGIC));
        out.push(1);
        out.push(0);
        for w in [
            self.hdr_len,
            0,
            self.types.len() as u32,
            self.types.len() as u32,
            self.strs.len() as u32,
        ] {
            out.extend_from_slice(&e.u32_bytes(w));
        }
        out.resize(self.hdr_len as usize, 0);
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strs);
        out
    }
}

impl BtfSink for BtfBuilder {
    fn add_str(&mut self, s: &str) -> u32 {
        BtfBuilder::add_str(self, s)
    }
    fn add_type(
        &mut self,
        name_off: u32,
        kind: u32,
        vlen: u32,
        size_type: u32,
        extra: &[u32],
    ) -> u32 {
        BtfBuilder::add_type(self, name_off, kind, vlen, size_type, extra)
    }
    fn add_type_count(&self) -> u32 {
        BtfBuilder::add_type_count(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(e: Endian) -> Vec<u8> {
        let mut b = BtfBuilder::new(e, None);
        let int = b.add_str("int");
        let i = b.add_type(int, KIND_INT, 0, 4, &[(1 << 24) | 32]);
        let s = b.add_str("task_struct");
        let pid = b.add_str("pid");
        let st = b.add_type(s, KIND_STRUCT, 1, 8, &[pid, i, 0]);
        let p = b.add_type(0, KIND_PTR, 0, st, &[]);
        let arg = b.add_str("t");
        let proto = b.add_type(0, KIND_FUNC_PROTO, 1, i, &[arg, p]);
        let f = b.add_str("bpf_get");
        b.add_type(f, KIND_FUNC, FUNC_GLOBAL, proto, &[]);
        b.finish()
    }

    /// A struct that points to itself (through a member) is no loop; a pointer chain
    /// back to itself is, and so is an array of itself; both are named by their ids.
    #[test]
    fn reference_loops_only_without_a_struct() {
        let mut b = BtfBuilder::new(Endian::Little, None);
        let n = b.add_str("node");
        let next = b.add_str("next");
        let node = b.add_type_count();
        b.add_type(n, KIND_STRUCT, 1, 8, &[next, node + 2, 0]);
        let c = b.add_type(0, KIND_CONST, 0, node, &[]);
        b.add_type(0, KIND_PTR, 0, c, &[]);
        let ok = b.finish();
        assert!(Btf::parse(&ok, None).is_ok());
        let mut b = BtfBuilder::from_btf(&Btf::parse(&ok, None).unwrap());
        let t = b.add_str("t");
        let p = b.add_type_count();
        b.add_type(0, KIND_PTR, 0, p + 1, &[]);
        b.add_type(t, KIND_TYPEDEF, 0, p, &[]);
        let err = Btf::parse(&b.finish(), None).unwrap_err().to_string();
        assert!(err.contains("reference loop: types 4 -> 5 -> 4"), "{err}");
        let mut b = BtfBuilder::from_btf(&Btf::parse(&ok, None).unwrap());
        let a = b.add_type_count();
        b.add_type(0, KIND_ARRAY, 0, 0, &[a, 1, 2]);
        let err = Btf::parse(&b.finish(), None).unwrap_err().to_string();
        assert!(err.contains("reference loop: types 4 -> 4"), "{err}");
    }

    #[test]
    fn round_trip_both_endians() {
        for e in [Endian::Little, Endian::Big] {
            let bytes = sample(e);
            let btf = Btf::parse(&bytes, None).unwrap();
            assert_eq!(btf.endian, e);
            assert_eq!(btf.type_count(), 6);
            let f = btf.ty(5).unwrap();
            assert_eq!(f.kind(), KIND_FUNC);
            assert_eq!(btf.name(f.name_off), "bpf_get");
            let proto = btf.ty(f.size_type).unwrap();
            let params: Vec<_> = proto.params().collect();
            assert_eq!(params.len(), 1);
            assert_eq!(btf.name(params[0].0), "t");
            assert_eq!(btf.ty(params[0].1).unwrap().kind(), KIND_PTR);
            // Rebuilding from the parsed blob gives the same bytes.
            assert_eq!(BtfBuilder::from_btf(&btf).finish(), bytes);
        }
    }

    #[test]
    fn split_on_base() {
        let base_bytes = sample(Endian::Little);
        let base = Btf::parse(&base_bytes, None).unwrap();
        // An empty split BTF, as pahole writes for a Rust-only module.
        let empty = BtfBuilder::new(Endian::Little, Some(&base)).finish();
        assert_eq!(empty.len(), BTF_HDR_LEN);
        let split0 = Btf::parse(&empty, Some(&base)).unwrap();
        assert_eq!(split0.type_count(), base.type_count());
        let mut b = BtfBuilder::from_btf(&split0);
        let n = b.add_str("my_obj");
        let id = b.add_type(n, KIND_STRUCT, 0, 16, &[]);
        assert_eq!(id, base.type_count());
        let p = b.add_type(0, KIND_PTR, 0, id, &[]);
        let bytes = b.finish();
        let split = Btf::parse(&bytes, Some(&base)).unwrap();
        assert_eq!(split.type_count(), base.type_count() + 2);
        let t = split.ty(id).unwrap();
        // The split string section starts with "" (libbpf 1.1 requires it).
        assert_eq!(split.own_strings()[0], 0);
        assert_eq!(t.name_off, base.hdr.str_len + 1);
        assert_eq!(split.name(t.name_off), "my_obj");
        assert_eq!(split.ty(p).unwrap().size_type, id);
        // Base types and strings stay reachable through the split BTF.
        assert_eq!(split.name(split.ty(1).unwrap().name_off), "int");
        assert_eq!(split.all_types().count() as u32, split.type_count() - 1);
    }

    #[test]
    fn rejects_malformed() {
        let good = sample(Endian::Little);
        assert!(Btf::parse(&good[..10], None).is_err());
        let mut bad = good.clone();
        bad[0] = 0;
        assert!(matches!(Btf::parse(&bad, None), Err(BtfError::Header(_))));
        let mut bad = good.clone();
        bad[20..24].copy_from_slice(&10_000u32.to_le_bytes()); // str_len
        assert!(matches!(Btf::parse(&bad, None), Err(BtfError::Header(_))));
        let mut bad = good.clone();
        // name_off of type 1 far outside the strings.
        bad[24..28].copy_from_slice(&9_999u32.to_le_bytes());
        assert!(matches!(
            Btf::parse(&bad, None),
            Err(BtfError::Type { id: 1, .. })
        ));
        let mut bad = good.clone();
        // kind 31 is unknown.
        bad[31] = 31;
        assert!(matches!(
            Btf::parse(&bad, None),
            Err(BtfError::Type { id: 1, .. })
        ));
    }
}
