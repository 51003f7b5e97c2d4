//! Phase `btf2btf` of Linux 7.3's resolve_btfids: for every kfunc of a `BTF_SET8_KFUNCS`
//! set, the BTF rewrites pahole used to do (`tools/bpf/resolve_btfids/main.c`,
//! `btf2btf()`):
//!
//! - a `bpf_kfunc` DECL_TAG (component_idx -1) on the kfunc's FUNC, and `bpf_fastcall`
//!   when the entry has `KF_FASTCALL`;
//! - `KF_IMPLICIT_ARGS`: a FUNC `<name>_impl` with the original prototype (unless the
//!   source already has one) carrying the kfunc's decl tags but `bpf_kfunc`, and the kfunc
//!   itself gets a prototype without the implicit arguments (the first `struct
//!   bpf_prog_aux *` or `struct btf_struct_meta *` and every argument after it);
//! - arena pointers (`KF_ARENA_RET`, `KF_ARENA_ARG1`, `KF_ARENA_ARG2`, parameters named
//!   `*__arena` or `*__arena__nullable`): a new prototype whose pointer is to an
//!   `address_space(1)` TYPE_TAG (kind flag set: a type attribute) of the pointee.
//!
//! Kfuncs are collected set by set (sets in main.c's order, entries in order), deduplicated
//! by FUNC id, and processed in FUNC id order, so that types are appended in the order
//! libbpf appends them in the stock tool.

use crate::btf::*;
use crate::btfmut::{MutBtf, TRef};
use crate::fxhash::FxBuild;
use crate::object::{SetInfo, Symbols};
use crate::strset;
use kfunc_layout::{
    Endian, KF_ARENA_ARG1, KF_ARENA_ARG2, KF_ARENA_RET, KF_FASTCALL, KF_IMPLICIT_ARGS,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The decl tag every kfunc gets.
pub const DECL_TAG_KFUNC: &str = "bpf_kfunc";
/// The decl tag of `KF_FASTCALL` kfuncs.
pub const DECL_TAG_FASTCALL: &str = "bpf_fastcall";
/// Suffix of the FUNC keeping a `KF_IMPLICIT_ARGS` kfunc's full prototype.
pub const IMPL_SUFFIX: &str = "_impl";
/// The type attribute of arena pointers.
pub const TYPE_ATTR_ARENA: &str = "address_space(1)";
/// Parameter name suffixes that make an argument an arena pointer.
pub const PARAM_SUFFIXES_ARENA: [&str; 2] = ["__arena", "__arena__nullable"];
/// Structs whose pointers are implicit kfunc arguments.
pub const IMPLICIT_ARG_TYPES: [&str; 2] = ["bpf_prog_aux", "btf_struct_meta"];
/// `KSYM_NAME_LEN`: a name and its NUL must fit.
pub const KSYM_NAME_LEN: usize = 512;

/// A kfunc found in a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kfunc {
    /// Name (of its `__BTF_ID__` symbol).
    pub name: String,
    /// Id of its own FUNC.
    pub btf_id: u32,
    /// The entry's `KF_*` flags.
    pub flags: u32,
}

/// What the phase did.
#[derive(Debug, Default)]
pub struct Btf2BtfReport {
    /// Kfuncs processed, in FUNC id order.
    pub kfuncs: Vec<Kfunc>,
    /// `WARN:` lines (main.c's wording).
    pub warnings: Vec<String>,
    /// Debug lines (`-v`).
    pub debug: Vec<String>,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `.BTF_ids` offset → symbol name, for every `__BTF_ID__` symbol (main.c's `addr_syms`):
/// the ids of every kind and the sets.
pub fn names_by_offset<'a>(syms: &Symbols<'a>, ids_addr: u64) -> HashMap<u64, &'a [u8]> {
    let mut m = HashMap::new();
    for (_, tree) in syms.ids.iter().rev() {
        for (name, sym) in tree {
            for &a in &sym.addrs {
                m.entry(a.wrapping_sub(ids_addr)).or_insert(*name);
            }
        }
    }
    for (name, set) in &syms.sets {
        m.entry(set.addr.wrapping_sub(ids_addr)).or_insert(*name);
    }
    m
}

/// First own FUNC of each of the `wanted` names (`btf__find_by_name_kind_own(...,
/// BTF_KIND_FUNC)`); names without one are left out.
fn own_funcs(btf: &MutBtf<'_>, wanted: HashSet<Vec<u8>, FxBuild>) -> HashMap<Vec<u8>, u32> {
    let mut m = HashMap::new();
    if wanted.is_empty() {
        return m;
    }
    // Most FUNCs are not wanted: their first eight bytes say so.
    let prefixes: HashSet<u64, FxBuild> = wanted.iter().map(|w| strset::prefix8_of(w)).collect();
    for (id, t) in btf.own_types() {
        if t.kind() != KIND_FUNC || !prefixes.contains(&btf.name_prefix8(t.name_off)) {
            continue;
        }
        if let Some(n) = btf.str_at(t.name_off) {
            if wanted.contains(n) && !m.contains_key(n) {
                m.insert(n.to_vec(), id);
            }
        }
    }
    m
}

/// main.c's `collect_kfuncs()`: every entry of every set8 with `BTF_SET8_KFUNCS` whose
/// symbol names an own FUNC, deduplicated by FUNC id. The same FUNC with other flags in
/// another set is an error.
pub fn collect_kfuncs(
    btf: &MutBtf<'_>,
    syms: &Symbols<'_>,
    sets: &[SetInfo<'_>],
    ids: &[u8],
    e: Endian,
    ids_addr: u64,
    report: &mut Btf2BtfReport,
) -> Result<BTreeMap<u32, Kfunc>, String> {
    let names = names_by_offset(syms, ids_addr);
    let mut wanted = HashSet::default();
    for set in sets.iter().filter(|s| s.is_kfunc_set()) {
        for i in 0..set.cnt {
            if let Some(name) = names.get(&(set.member_at(i) as u64)) {
                wanted.insert(name.to_vec());
            }
        }
    }
    let funcs = own_funcs(btf, wanted);
    let mut out: BTreeMap<u32, Kfunc> = BTreeMap::new();
    for set in sets {
        if !set.is_kfunc_set() {
            continue;
        }
        let sname = s(set.name);
        for i in 0..set.cnt {
            let at = set.member_at(i);
            let Some(name) = names.get(&(at as u64)) else {
                report.warnings.push(format!(
                    "WARN: resolve_btfids: no BTF ID symbol for {sname} entry {i}"
                ));
                continue;
            };
            let name = s(name);
            let Some(&btf_id) = funcs.get(name.as_bytes()) else {
                report.warnings.push(format!(
                    "WARN: resolve_btfids: no BTF func for kfunc {name} in {sname}"
                ));
                continue;
            };
            let flags = set.entry(ids, i, e).and_then(|en| en.flags()).unwrap_or(0);
            report.debug.push(format!("found kfunc {name} in {sname}"));
            match out.get(&btf_id) {
                Some(k) if k.flags == flags => {}
                Some(k) => {
                    return Err(format!(
                        "ERROR: resolve_btfids: kfunc {name} has inconsistent flags across BTF ID sets: {:#x} != {flags:#x}",
                        k.flags
                    ))
                }
                None => {
                    out.insert(
                        btf_id,
                        Kfunc {
                            name,
                            btf_id,
                            flags,
                        },
                    );
                }
            }
        }
    }
    Ok(out)
}

/// `btf_type_skip_qualifiers()`: follow VOLATILE, CONST, RESTRICT and TYPE_TAG.
fn skip_mods<'s>(btf: &'s MutBtf<'_>, mut id: u32) -> Option<TRef<'s>> {
    for _ in 0..64 {
        let t = btf.get(id)?;
        if !matches!(
            t.kind(),
            KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG
        ) {
            return Some(t);
        }
        id = t.size_type();
    }
    None
}

/// `is_kf_implicit_arg()`: a pointer (through modifiers) to one of
/// [`IMPLICIT_ARG_TYPES`].
fn is_implicit_arg(btf: &MutBtf<'_>, ty: u32) -> bool {
    let Some(p) = skip_mods(btf, ty).filter(|t| t.kind() == KIND_PTR) else {
        return false;
    };
    let Some(st) = skip_mods(btf, p.size_type()).filter(|t| t.kind() == KIND_STRUCT) else {
        return false;
    };
    let name = btf.str_at(st.name_off()).unwrap_or_default();
    IMPLICIT_ARG_TYPES.iter().any(|n| n.as_bytes() == name)
}

fn is_arena_arg(btf: &MutBtf<'_>, k: &Kfunc, name_off: u32, idx: usize) -> bool {
    let name = btf.str_at(name_off).unwrap_or_default();
    if PARAM_SUFFIXES_ARENA
        .iter()
        .any(|suf| name.ends_with(suf.as_bytes()))
    {
        return true;
    }
    match idx {
        0 => k.flags & KF_ARENA_ARG1 != 0,
        1 => k.flags & KF_ARENA_ARG2 != 0,
        _ => false,
    }
}

/// The FUNC_PROTO `id` refers to: (return type, parameters).
fn proto_of(btf: &MutBtf<'_>, proto_id: u32) -> Option<(u32, Vec<(u32, u32)>)> {
    let t = btf.get(proto_id).filter(|t| t.kind() == KIND_FUNC_PROTO)?;
    let m = t.to_mtype();
    Some((m.size_type, m.params()))
}

struct Ctx<'m, 'a> {
    btf: &'m mut MutBtf<'a>,
    /// Every DECL_TAG id, in id order, then those added by [`Ctx::add_decl_tag`].
    decl_tags: Vec<u32>,
    funcs: HashMap<Vec<u8>, u32>,
}

impl Ctx<'_, '_> {
    fn add_decl_tag(&mut self, value: &str, target: u32) {
        let id = self.btf.add_decl_tag(value, target, -1, false);
        self.decl_tags.push(id);
    }

    fn name(&self, off: u32) -> String {
        s(self.btf.str_at(off).unwrap_or_default())
    }

    /// `process_kfunc_with_implicit_args()`.
    fn implicit_args(&mut self, k: &Kfunc) -> Result<(), String> {
        let f = self
            .btf
            .own(k.btf_id)
            .filter(|t| t.kind() == KIND_FUNC)
            .ok_or_else(|| {
                format!(
                    "ERROR: resolve_btfids: btf id {} is not a function",
                    k.btf_id
                )
            })?;
        let linkage = f.vlen();
        let proto_id = f.size_type;
        let (ret, params) = proto_of(self.btf, proto_id).ok_or_else(|| {
            format!("ERROR: resolve_btfids: btf id {proto_id} is not a function prototype")
        })?;
        let impl_name = format!("{}{IMPL_SUFFIX}", k.name);
        if impl_name.len() >= KSYM_NAME_LEN {
            return Err(format!(
                "ERROR: function name is too long: {}{IMPL_SUFFIX}",
                k.name
            ));
        }
        if self.funcs.contains_key(impl_name.as_bytes()) {
            // A legacy kfunc whose _impl twin is in the source: only the new prototype.
        } else {
            if linkage > 2 {
                return Err(format!(
                    "ERROR: resolve_btfids: failed to add func {impl_name} to BTF (linkage {linkage})"
                ));
            }
            let new_func = self.btf.add_func(&impl_name, linkage, proto_id);
            self.funcs.insert(impl_name.clone().into_bytes(), new_func);
            // Copy every decl tag of the kfunc but bpf_kfunc.
            for i in 0..self.decl_tags.len() {
                let tag = self
                    .btf
                    .get(self.decl_tags[i])
                    .map(|t| t.to_mtype())
                    .ok_or_else(|| "internal: decl tag id out of range".to_string())?;
                if tag.size_type != k.btf_id {
                    continue;
                }
                let tname = self.name(tag.name_off);
                if tname == DECL_TAG_KFUNC {
                    continue;
                }
                let idx = tag.extra.first().copied().unwrap_or(u32::MAX) as i32;
                if idx < -1 {
                    return Err(format!(
                        "ERROR: resolve_btfids: failed to add decl tag {tname} for {impl_name}"
                    ));
                }
                self.btf.add_decl_tag(&tname, new_func, idx, tag.kflag());
            }
        }
        let new_proto = self.btf.add_func_proto(ret);
        for (name_off, ty) in params {
            if is_implicit_arg(self.btf, ty) {
                break;
            }
            let pname = self.name(name_off);
            self.btf.add_func_param(&pname, ty)?;
        }
        self.btf.set_size_type(k.btf_id, new_proto);
        Ok(())
    }

    /// `arena_tag_ptr()`: a pointer to an `address_space(1)` attribute of `ptr_id`'s pointee.
    fn arena_tag_ptr(&mut self, ptr_id: u32, k: &Kfunc) -> Result<u32, String> {
        let target = match self.btf.get(ptr_id) {
            Some(t) if t.kind() == KIND_PTR => t.size_type(),
            _ => {
                return Err(format!(
                    "ERROR: resolve_btfids: kfunc {}: arena type is not a pointer",
                    k.name
                ))
            }
        };
        let tag = self.btf.add_type_attr(TYPE_ATTR_ARENA, target);
        Ok(self.btf.add_ptr(tag))
    }

    /// `process_kfunc_with_arena_attrs()` / `add_arena_tagged_proto()`.
    fn arena_attrs(&mut self, k: &Kfunc) -> Result<(), String> {
        let proto_id = self.btf.own(k.btf_id).map(|f| f.size_type).ok_or_else(|| {
            format!(
                "ERROR: resolve_btfids: btf id {} is not a function",
                k.btf_id
            )
        })?;
        let (mut ret, params) = proto_of(self.btf, proto_id).ok_or_else(|| {
            format!("ERROR: resolve_btfids: btf id {proto_id} is not a function prototype")
        })?;
        let has_arena_arg = params
            .iter()
            .enumerate()
            .any(|(i, (n, _))| is_arena_arg(self.btf, k, *n, i));
        if k.flags & KF_ARENA_RET == 0 && !has_arena_arg {
            return Ok(());
        }
        if k.flags & KF_ARENA_RET != 0 {
            ret = self.arena_tag_ptr(ret, k)?;
        }
        let new_proto = self.btf.add_func_proto(ret);
        for &(name_off, ty) in &params {
            let pname = self.name(name_off);
            self.btf.add_func_param(&pname, ty)?;
        }
        for i in 0..params.len() {
            let (name_off, ty) = self
                .btf
                .own(new_proto)
                .map(|t| (t.extra[2 * i], t.extra[2 * i + 1]))
                .ok_or_else(|| "internal: new prototype lost".to_string())?;
            if !is_arena_arg(self.btf, k, name_off, i) {
                continue;
            }
            let id = self.arena_tag_ptr(ty, k)?;
            self.btf.set_extra(new_proto, 2 * i + 1, id);
        }
        self.btf.set_size_type(k.btf_id, new_proto);
        Ok(())
    }
}

/// main.c's `btf2btf()` on `btf`, for `kfuncs` (from [`collect_kfuncs`]).
pub fn btf2btf(
    btf: &mut MutBtf<'_>,
    kfuncs: BTreeMap<u32, Kfunc>,
    report: &mut Btf2BtfReport,
) -> Result<(), String> {
    let mut decl_tags = Vec::new();
    if let Some(base) = btf.base() {
        base.for_each_kind_name(&mut |id, kind, _| {
            if kind == KIND_DECL_TAG {
                decl_tags.push(id);
            }
        });
    }
    decl_tags.extend(
        btf.own_types()
            .filter(|(_, t)| t.kind() == KIND_DECL_TAG)
            .map(|(id, _)| id),
    );
    let impl_names = kfuncs
        .values()
        .filter(|k| k.flags & KF_IMPLICIT_ARGS != 0)
        .map(|k| format!("{}{IMPL_SUFFIX}", k.name).into_bytes())
        .collect();
    let funcs = own_funcs(btf, impl_names);
    let mut ctx = Ctx {
        btf,
        decl_tags,
        funcs,
    };
    for (_, k) in kfuncs {
        ctx.add_decl_tag(DECL_TAG_KFUNC, k.btf_id);
        if k.flags & KF_FASTCALL != 0 {
            ctx.add_decl_tag(DECL_TAG_FASTCALL, k.btf_id);
        }
        if k.flags & KF_IMPLICIT_ARGS != 0 {
            ctx.implicit_args(&k)?;
            report.debug.push(format!(
                "updated BTF for kfunc with implicit args {}",
                k.name
            ));
        }
        ctx.arena_attrs(&k)?;
        report.kfuncs.push(k);
    }
    Ok(())
}
