//! The one typed object every phase reads and fills, as `struct object` of
//! `tools/bpf/resolve_btfids/main.c`: the ELF, its `.BTF_ids` section, the `__BTF_ID__*`
//! symbols by kind, the sets, the `.kfunc.meta` records and the BTF ids are resolved
//! against.

use crate::btf::{Btf, KIND_FUNC, KIND_STRUCT, KIND_TYPEDEF, KIND_UNION};
use crate::elf::{ElfFile, Section};
use kfunc_layout::{
    Endian, MetaRecord, SetEntry, SetLayout, SET8_ARGS_ENTRY_SIZE, SET8_LEGACY_ENTRY_SIZE,
};
use std::collections::{BTreeMap, HashMap};
use std::ops::{Index, IndexMut};
use std::path::Path;

pub use kfunc_layout::BTF_IDS_SECTION;

/// Prefix of every BTF id symbol.
pub const BTF_ID_PREFIX: &[u8] = b"__BTF_ID__";
/// Number of addresses one name may have (`ADDR_CNT` in main.c).
pub const ADDR_CNT: usize = 100;

/// The four kinds of id symbols (`__BTF_ID__<kind>__<name>__<n>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdKind {
    /// `struct`: a BTF STRUCT.
    Struct,
    /// `union`: a BTF UNION.
    Union,
    /// `typedef`: a BTF TYPEDEF.
    Typedef,
    /// `func`: a BTF FUNC.
    Func,
}

impl IdKind {
    /// Every kind, in main.c's patch order.
    pub const ALL: [IdKind; 4] = [IdKind::Struct, IdKind::Union, IdKind::Typedef, IdKind::Func];

    /// The kind as it appears in symbol names and messages.
    pub const fn name(self) -> &'static str {
        match self {
            IdKind::Struct => "struct",
            IdKind::Union => "union",
            IdKind::Typedef => "typedef",
            IdKind::Func => "func",
        }
    }

    /// The BTF kind a name of this kind resolves to.
    pub const fn btf_kind(self) -> u32 {
        match self {
            IdKind::Struct => KIND_STRUCT,
            IdKind::Union => KIND_UNION,
            IdKind::Typedef => KIND_TYPEDEF,
            IdKind::Func => KIND_FUNC,
        }
    }

    /// The id kind of a BTF kind, if names of that kind are resolved at all.
    pub const fn of_btf_kind(kind: u32) -> Option<IdKind> {
        match kind {
            KIND_STRUCT => Some(IdKind::Struct),
            KIND_UNION => Some(IdKind::Union),
            KIND_TYPEDEF => Some(IdKind::Typedef),
            KIND_FUNC => Some(IdKind::Func),
            _ => None,
        }
    }
}

/// One value per [`IdKind`], as named fields; indexed by the kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerKind<T> {
    /// [`IdKind::Struct`].
    pub structs: T,
    /// [`IdKind::Union`].
    pub unions: T,
    /// [`IdKind::Typedef`].
    pub typedefs: T,
    /// [`IdKind::Func`].
    pub funcs: T,
}

impl<T> PerKind<T> {
    /// Every `(kind, value)`, in [`IdKind::ALL`] order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (IdKind, &T)> {
        IdKind::ALL.into_iter().map(move |k| (k, &self[k]))
    }
}

impl<T> Index<IdKind> for PerKind<T> {
    type Output = T;
    fn index(&self, k: IdKind) -> &T {
        match k {
            IdKind::Struct => &self.structs,
            IdKind::Union => &self.unions,
            IdKind::Typedef => &self.typedefs,
            IdKind::Func => &self.funcs,
        }
    }
}

impl<T> IndexMut<IdKind> for PerKind<T> {
    fn index_mut(&mut self, k: IdKind) -> &mut T {
        match k {
            IdKind::Struct => &mut self.structs,
            IdKind::Union => &mut self.unions,
            IdKind::Typedef => &mut self.typedefs,
            IdKind::Func => &mut self.funcs,
        }
    }
}

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
    /// Which kind of set the symbol names.
    pub kind: SetKind,
    /// Address (`st_value`).
    pub addr: u64,
    /// Size (`st_size`).
    pub size: u64,
    /// The full symbol name.
    pub symbol: &'a [u8],
}

/// The kind of a set symbol, `__BTF_ID__<kind>__<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `set`: `struct btf_id_set`.
    Set,
    /// `set8`: `struct btf_id_set8` (legacy pairs).
    Set8,
    /// `kfunc_args` ([`kfunc_layout::KFUNC_ARGS_SET_KIND`]): an extended kfunc set, or one
    /// rewritten as legacy pairs by `--legacy-set8`.
    KfuncArgs,
}

/// Collected `.BTF_ids` symbols.
#[derive(Debug, Default)]
pub struct Symbols<'a> {
    /// Names of each kind (main.c's rb trees), each with its id and addresses.
    pub ids: PerKind<BTreeMap<&'a [u8], IdSym>>,
    /// Symbol counts per kind (main.c's `nr_*`).
    pub nr: PerKind<usize>,
    /// Sets by name.
    pub sets: BTreeMap<&'a [u8], SetSym<'a>>,
}

impl<'a> Symbols<'a> {
    /// Map of `.BTF_ids` offset → func name, for every func symbol.
    pub fn func_at(&self, base_addr: u64) -> HashMap<u64, &'a [u8]> {
        let mut m = HashMap::new();
        for (name, sym) in &self.ids.funcs {
            for &a in &sym.addrs {
                m.entry(a.wrapping_sub(base_addr)).or_insert(*name);
            }
        }
        m
    }

    /// Resolved id of each func name.
    pub fn func_ids(&self) -> HashMap<&'a [u8], u32> {
        self.ids.funcs.iter().map(|(n, s)| (*n, s.id)).collect()
    }
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
    /// Whether a set of this layout with these header flags holds kfuncs: a set8 with
    /// `BTF_SET8_KFUNCS`, or an extended set (which leaves that flag out so that kernels
    /// without extended sets refuse it).
    pub fn holds_kfuncs(self, header_flags: u32) -> bool {
        match self {
            Layout::Set => false,
            Layout::Extended => true,
            Layout::Legacy | Layout::Converted => header_flags & kfunc_layout::BTF_SET8_KFUNCS != 0,
        }
    }
    /// How the entries are stored (a converted set holds legacy pairs).
    pub const fn storage(self) -> SetLayout {
        match self {
            Layout::Set => SetLayout::Set,
            Layout::Legacy | Layout::Converted => SetLayout::Set8,
            Layout::Extended => SetLayout::Set8Args,
        }
    }
    /// Bytes before the first entry.
    pub const fn header(self) -> usize {
        self.storage().header_size()
    }
    /// Stride of the member symbols.
    pub const fn stride(self) -> usize {
        match self {
            Layout::Converted => SET8_ARGS_ENTRY_SIZE,
            l => l.storage().entry_size(),
        }
    }
    /// Stride of the entries as stored (a converted set holds legacy pairs).
    pub const fn data_stride(self) -> usize {
        self.storage().entry_size()
    }
}

const _: () = assert!(Layout::Converted.data_stride() == SET8_LEGACY_ENTRY_SIZE);

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

impl SetInfo<'_> {
    /// Whether the set holds kfuncs: a set8 with `BTF_SET8_KFUNCS`, or an extended set
    /// (which leaves that flag out so that kernels without extended sets refuse it).
    pub fn is_kfunc_set(&self) -> bool {
        self.layout.holds_kfuncs(self.header_flags)
    }
    /// Offset of the first entry.
    pub fn first(&self) -> usize {
        self.off + self.layout.header()
    }
    /// Offset just past the last member slot (header and `cnt` member strides).
    pub fn end(&self) -> usize {
        self.first() + self.cnt * self.layout.stride()
    }
    /// Offset of member slot `i` (where the member symbol of entry `i` is).
    pub fn member_at(&self, i: usize) -> usize {
        self.first() + i * self.layout.stride()
    }
    /// Offset of stored entry `i`.
    pub fn entry_at(&self, i: usize) -> usize {
        self.first() + i * self.layout.data_stride()
    }
    /// The `cnt` stored in the set's header in `data`.
    pub fn stored_cnt(&self, data: &[u8], e: Endian) -> Option<u32> {
        self.layout.storage().read_cnt(data.get(self.off..)?, e)
    }
    /// Stored entry `i` of `data`, decoded.
    pub fn entry(&self, data: &[u8], i: usize, e: Endian) -> Option<SetEntry> {
        self.layout
            .storage()
            .read_entry(data.get(self.entry_at(i)..)?, e)
    }
}

/// The `.BTF_ids` section of an object and its data (target byte order).
#[derive(Debug, Clone)]
pub struct IdsSection<'a> {
    /// The section.
    pub section: Section<'a>,
    /// Its data.
    pub data: &'a [u8],
}

/// What the phases know about one object: main.c's `struct object`.
pub struct Object<'a> {
    /// The object's path (for messages).
    pub path: &'a Path,
    /// The ELF.
    pub elf: ElfFile<'a>,
    /// `.BTF_ids`: `None` when the object has no such section or no symbol table (then
    /// only the BTF is processed, or nothing).
    pub ids: Option<IdsSection<'a>>,
    /// Every `__BTF_ID__*` symbol of `.BTF_ids` (phase `collect`), ids filled by `resolve`.
    pub symbols: Symbols<'a>,
    /// The sets, located (in main.c's order).
    pub sets: Vec<SetInfo<'a>>,
    /// `#[kfunc]` records of `.kfunc.meta`.
    pub records: Vec<MetaRecord<'a>>,
    /// The BTF names are resolved against (phase `load_btf`; replaced by the BTF the later
    /// phases make).
    pub btf: Option<Btf<'a>>,
}

impl<'a> Object<'a> {
    /// An object of which only the ELF is known yet.
    pub fn new(path: &'a Path, elf: ElfFile<'a>) -> Self {
        Object {
            path,
            elf,
            ids: None,
            symbols: Symbols::default(),
            sets: Vec::new(),
            records: Vec::new(),
            btf: None,
        }
    }
    /// Byte order of the object.
    pub fn endian(&self) -> Endian {
        self.elf.endian
    }
    /// Address of `.BTF_ids` (0 without the section).
    pub fn ids_addr(&self) -> u64 {
        self.ids.as_ref().map_or(0, |i| i.section.addr)
    }
    /// Contents of `.BTF_ids` (empty without the section).
    pub fn ids_data(&self) -> &'a [u8] {
        self.ids.as_ref().map_or(&[], |i| i.data)
    }
}
