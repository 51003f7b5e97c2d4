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
//!
//! Not in main.c, and only with `--arg-decl-tags` (off by default: the output is then the
//! stock tool's): the per-argument facts of the kfuncs of extended sets also written as BTF
//! decl tags, the rival representation the RFC weighs against the extended set8 ("BTF decl
//! tags on parameters"). One `BTF_KIND_DECL_TAG` per (argument, fact) on the kfunc's FUNC,
//! `component_idx` = the argument, valued [`DECL_TAG_ARG_PREFIX`] and the fact: the
//! `#[kfunc]` keyword of each `KF_PARAM_*` bit ([`kfunc_layout::ARG_FLAGS`]), `mem=<m>` for
//! the memory argument of a size argument, `dynptr=<type>` for a dynptr type
//! ([`kfunc_layout::DYNPTR_TYPES`]); see [`arg_tag_values`] and its inverse
//! [`arg_flags_of_tags`]. They are added after the kfunc's own rewrites, so they sit on the
//! FUNC and prototype the kernel sees.

use crate::btf::*;
use crate::btfmut::{MutBtf, TRef};
use crate::fxhash::FxBuild;
use crate::object::{Layout, SetInfo, Symbols};
use crate::strset;
use kfunc_layout::{
    describe_arg_flags, kf_arg_dynptr, kf_arg_dynptr_of, kf_arg_mem, kf_arg_mem_of,
    validate_arg_flags, ArgFlag, Endian, DYNPTR_TYPES, KF_ARENA_ARG1, KF_ARENA_ARG2, KF_ARENA_RET,
    KF_FASTCALL, KF_IMPLICIT_ARGS, KF_PARAM_CONST_SIZE, KF_PARAM_SIZE, MAX_ARGS,
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
/// Prefix of the per-argument decl tags `--arg-decl-tags` writes (`kf_param:nullable`).
pub const DECL_TAG_ARG_PREFIX: &str = "kf_param:";
/// The fact of a [`DECL_TAG_ARG_PREFIX`] tag naming the memory argument of a size argument
/// (`kf_param:mem=0`).
pub const ARG_TAG_MEM: &str = "mem=";
/// The fact of a [`DECL_TAG_ARG_PREFIX`] tag naming a dynptr type (`kf_param:dynptr=SKB`).
pub const ARG_TAG_DYNPTR: &str = "dynptr=";

/// The decl tag values of one argument's `KF_PARAM_*` word, in bit order, then the memory
/// argument of a size argument, then the dynptr type: `kf_param:<keyword>`,
/// `kf_param:mem=<m>`, `kf_param:dynptr=<type>`. Empty for 0; an error for a word
/// [`validate_arg_flags`] refuses.
pub fn arg_tag_values(arg: usize, flags: u32) -> Result<Vec<String>, String> {
    validate_arg_flags(arg, flags).map_err(|e| e.to_string())?;
    let mut v: Vec<String> = ArgFlag::ALL
        .iter()
        .filter(|f| flags & f.value() != 0)
        .map(|f| format!("{DECL_TAG_ARG_PREFIX}{}", f.keyword()))
        .collect();
    if flags & (KF_PARAM_SIZE | KF_PARAM_CONST_SIZE) != 0 {
        v.push(format!(
            "{DECL_TAG_ARG_PREFIX}{ARG_TAG_MEM}{}",
            kf_arg_mem_of(flags)
        ));
    }
    let t = kf_arg_dynptr_of(flags) as usize;
    if t != 0 {
        // validate_arg_flags() refused types beyond the table.
        v.push(format!(
            "{DECL_TAG_ARG_PREFIX}{ARG_TAG_DYNPTR}{}",
            DYNPTR_TYPES[t - 1]
        ));
    }
    Ok(v)
}

/// The `KF_PARAM_*` word the decl tags `values` of one argument stand for (the inverse of
/// [`arg_tag_values`]); values without [`DECL_TAG_ARG_PREFIX`] are not per-argument facts
/// and are passed over. An unknown fact, a fact twice, or a word [`validate_arg_flags`]
/// refuses is an error.
pub fn arg_flags_of_tags<'v>(
    arg: usize,
    values: impl IntoIterator<Item = &'v str>,
) -> Result<u32, String> {
    let mut flags = 0u32;
    let mut seen = HashSet::new();
    for v in values {
        let Some(fact) = v.strip_prefix(DECL_TAG_ARG_PREFIX) else {
            continue;
        };
        if !seen.insert(fact) {
            return Err(format!("argument {arg}: decl tag {v} twice"));
        }
        let bits = if let Some(m) = fact.strip_prefix(ARG_TAG_MEM) {
            match m.parse::<u32>() {
                Ok(m) if (m as usize) < MAX_ARGS => kf_arg_mem(m),
                _ => return Err(format!("argument {arg}: decl tag {v}: no such argument")),
            }
        } else if let Some(t) = fact.strip_prefix(ARG_TAG_DYNPTR) {
            match DYNPTR_TYPES.iter().position(|n| *n == t) {
                Some(i) => kf_arg_dynptr(i as u32 + 1),
                None => return Err(format!("argument {arg}: decl tag {v}: no such dynptr type")),
            }
        } else {
            match ArgFlag::from_keyword(fact) {
                Some(f) => f.value(),
                None => return Err(format!("argument {arg}: decl tag {v}: unknown fact")),
            }
        };
        flags |= bits;
    }
    let is_size = flags & (KF_PARAM_SIZE | KF_PARAM_CONST_SIZE) != 0;
    if is_size && !seen.iter().any(|f| f.starts_with(ARG_TAG_MEM)) {
        return Err(format!(
            "argument {arg}: a size argument without a {DECL_TAG_ARG_PREFIX}{ARG_TAG_MEM} tag"
        ));
    }
    validate_arg_flags(arg, flags).map_err(|e| e.to_string())?;
    Ok(flags)
}

/// The per-argument facts [`DECL_TAG_ARG_PREFIX`] decl tags give each FUNC of `btf`'s own
/// types ([`arg_flags_of_tags`] per argument), by FUNC id: what a reader of the tag
/// representation would get. Such a tag on anything but a FUNC, with a `component_idx`
/// outside the FUNC's parameters (or -1), or not decoding, is an error.
pub fn arg_facts_in_btf(btf: &Btf<'_>) -> Result<BTreeMap<u32, [u32; MAX_ARGS]>, String> {
    let mut values: BTreeMap<(u32, usize), Vec<String>> = BTreeMap::new();
    for t in btf.own_types_iter() {
        if t.kind() != KIND_DECL_TAG {
            continue;
        }
        let v = btf.name(t.name_off);
        if !v.starts_with(DECL_TAG_ARG_PREFIX) {
            continue;
        }
        let idx = t.word(0) as i32;
        let target = btf.ty(t.size_type).filter(|f| f.kind() == KIND_FUNC);
        let nparams = target
            .and_then(|f| btf.ty(f.size_type))
            .filter(|p| p.kind() == KIND_FUNC_PROTO)
            .map(|p| p.vlen() as usize);
        let Some(nparams) = nparams else {
            return Err(format!(
                "decl tag [{}] {v}: its target [{}] is not a FUNC with a prototype",
                t.id, t.size_type
            ));
        };
        if idx < 0 || idx as usize >= nparams.min(MAX_ARGS) {
            return Err(format!(
                "decl tag [{}] {v}: component_idx {idx}, FUNC [{}] has {nparams} parameter(s)",
                t.id, t.size_type
            ));
        }
        values
            .entry((t.size_type, idx as usize))
            .or_default()
            .push(v);
    }
    let mut out: BTreeMap<u32, [u32; MAX_ARGS]> = BTreeMap::new();
    for ((func, arg), vals) in values {
        let w = arg_flags_of_tags(arg, vals.iter().map(String::as_str))
            .map_err(|e| format!("FUNC [{func}]: {e}"))?;
        out.entry(func).or_default()[arg] = w;
    }
    Ok(out)
}

/// A kfunc found in a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kfunc {
    /// Name (of its `__BTF_ID__` symbol).
    pub name: String,
    /// Id of its own FUNC.
    pub btf_id: u32,
    /// The entry's `KF_*` flags.
    pub flags: u32,
    /// The `KF_PARAM_*` words of each extended-set entry naming this kfunc, with the set's
    /// name, in set order (empty when only legacy sets name it).
    pub arg_flags: Vec<(String, [u32; MAX_ARGS])>,
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
    /// Entries of extended sets (each 20 bytes more than a legacy pair in `.BTF_ids`).
    pub extended_entries: usize,
    /// Per-argument decl tags added (`--arg-decl-tags`).
    pub arg_tags: usize,
    /// Kfuncs that got at least one of them.
    pub arg_tag_kfuncs: usize,
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
        if set.layout == Layout::Extended {
            report.extended_entries += set.cnt;
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
            let entry = set.entry(ids, i, e);
            let flags = entry.and_then(|en| en.flags()).unwrap_or(0);
            let args = entry.and_then(|en| en.arg_flags());
            report.debug.push(format!("found kfunc {name} in {sname}"));
            match out.get_mut(&btf_id) {
                Some(k) if k.flags == flags => {
                    k.arg_flags.extend(args.map(|a| (sname.clone(), a)));
                }
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
                            arg_flags: args.map(|a| (sname.clone(), a)).into_iter().collect(),
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

    /// `--arg-decl-tags`: the facts of `k`'s extended entries as decl tags on its FUNC (see
    /// the module's doc), after its other rewrites; returns how many. Entries of two sets
    /// with different words, facts of an argument its prototype does not have, and words
    /// the layout refuses are errors: one FUNC's tags hold one set of facts, and a
    /// `component_idx` must name a parameter.
    fn arg_decl_tags(&mut self, k: &Kfunc) -> Result<usize, String> {
        let Some((set, words)) = k.arg_flags.first() else {
            return Ok(0);
        };
        if let Some((other, w)) = k.arg_flags.iter().find(|(_, w)| w != words) {
            let a = (0..MAX_ARGS).find(|&a| w[a] != words[a]).unwrap_or(0);
            return Err(format!(
                "ERROR: btfids-post: --arg-decl-tags: kfunc {} has argument {a} flags {} in set \
                 '{set}' and {} in set '{other}': the decl tags of one FUNC hold one set of facts",
                k.name,
                describe_arg_flags(words[a]),
                describe_arg_flags(w[a])
            ));
        }
        let proto_id = self.btf.own(k.btf_id).map(|f| f.size_type).ok_or_else(|| {
            format!(
                "ERROR: resolve_btfids: btf id {} is not a function",
                k.btf_id
            )
        })?;
        let (_, params) = proto_of(self.btf, proto_id).ok_or_else(|| {
            format!("ERROR: resolve_btfids: btf id {proto_id} is not a function prototype")
        })?;
        let mut n = 0;
        for (a, &w) in words.iter().enumerate() {
            if w == 0 {
                continue;
            }
            if a >= params.len() {
                return Err(format!(
                    "ERROR: btfids-post: --arg-decl-tags: kfunc {}: argument {a} has flags {} \
                     but its BTF prototype has {} parameter(s): no component_idx for them",
                    k.name,
                    describe_arg_flags(w),
                    params.len()
                ));
            }
            let values = arg_tag_values(a, w).map_err(|e| {
                format!(
                    "ERROR: btfids-post: --arg-decl-tags: kfunc {} in set '{set}': {e}",
                    k.name
                )
            })?;
            for v in values {
                self.btf.add_decl_tag(&v, k.btf_id, a as i32, false);
                n += 1;
            }
        }
        Ok(n)
    }
}

/// main.c's `btf2btf()` on `btf`, for `kfuncs` (from [`collect_kfuncs`]); with
/// `arg_decl_tags` (`--arg-decl-tags`), each kfunc's per-argument facts as decl tags too.
pub fn btf2btf(
    btf: &mut MutBtf<'_>,
    kfuncs: BTreeMap<u32, Kfunc>,
    arg_decl_tags: bool,
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
        if arg_decl_tags {
            let n = ctx.arg_decl_tags(&k)?;
            report.arg_tags += n;
            report.arg_tag_kfuncs += usize::from(n > 0);
        }
        report.kfuncs.push(k);
    }
    Ok(())
}

/// Start of the `-v` line that says what `--arg-decl-tags` added: `kf_param decl tags: N
/// tags on K kfuncs; E entries in extended sets` (`cargo xtask repr-sizes --measure`
/// reads it; [`arg_decl_tags_line`]).
pub const ARG_DECL_TAGS_LINE: &str = "kf_param decl tags: ";

/// The `-v` line of [`ARG_DECL_TAGS_LINE`] for `report`.
pub fn arg_decl_tags_line(report: &Btf2BtfReport) -> String {
    format!(
        "{ARG_DECL_TAGS_LINE}{} tags on {} kfuncs; {} entries in extended sets",
        report.arg_tags, report.arg_tag_kfuncs, report.extended_entries
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kfunc_layout::*;

    #[test]
    fn arg_tags_name_each_fact_in_bit_order_then_mem_then_dynptr() {
        assert_eq!(arg_tag_values(0, 0).unwrap(), Vec::<String>::new());
        assert_eq!(
            arg_tag_values(1, KF_PARAM_RELEASE | KF_PARAM_NULLABLE).unwrap(),
            ["kf_param:release", "kf_param:nullable"]
        );
        assert_eq!(
            arg_tag_values(2, KF_PARAM_SIZE | kf_arg_mem(1)).unwrap(),
            ["kf_param:size", "kf_param:mem=1"]
        );
        // The memory argument of a size argument is named even when it is argument 0
        // (the field's value 0), so that a reader need not know the field's default.
        assert_eq!(
            arg_tag_values(1, KF_PARAM_CONST_SIZE).unwrap(),
            ["kf_param:const_size", "kf_param:mem=0"]
        );
        assert_eq!(
            arg_tag_values(2, KF_PARAM_UNINIT | kf_arg_dynptr(3)).unwrap(),
            ["kf_param:uninit", "kf_param:dynptr=SKB"]
        );
        // Every keyword is the #[kfunc] keyword of the table.
        for f in ARG_FLAGS {
            let w = if f.value & (KF_PARAM_SIZE | KF_PARAM_CONST_SIZE) != 0 {
                f.value | kf_arg_mem(4)
            } else {
                f.value
            };
            assert_eq!(
                arg_tag_values(0, w).unwrap()[0],
                format!("kf_param:{}", f.keyword)
            );
        }
    }

    #[test]
    fn words_the_layout_refuses_have_no_tags() {
        let unknown = 1 << 30;
        assert!(unknown & KF_PARAM_KNOWN_MASK == 0);
        assert!(arg_tag_values(0, unknown).is_err());
        // A memory argument without a size fact, a dynptr type that does not exist.
        assert!(arg_tag_values(0, kf_arg_mem(2)).is_err());
        let bad_dynptr = (DYNPTR_TYPES.len() as u32 + 1) << KF_PARAM_DYNPTR_SHIFT;
        assert!(arg_tag_values(0, bad_dynptr).is_err());
        assert!(arg_tag_values(0, KF_PARAM_SIZE | kf_arg_mem(MAX_ARGS as u32)).is_err());
    }

    /// Every word of one or two facts, with every memory argument for size facts and every
    /// dynptr type (and none), goes to tags and back unchanged.
    #[test]
    fn tags_decode_to_the_words_they_were_made_from() {
        let mut words = vec![0u32];
        for (i, a) in ARG_FLAGS.iter().enumerate() {
            words.push(a.value);
            for b in &ARG_FLAGS[i + 1..] {
                words.push(a.value | b.value);
            }
        }
        let mut n = 0;
        for w in words {
            let mems: Vec<u32> = if w & (KF_PARAM_SIZE | KF_PARAM_CONST_SIZE) != 0 {
                (0..MAX_ARGS as u32).collect()
            } else {
                vec![0]
            };
            for m in mems {
                for t in 0..=DYNPTR_TYPES.len() as u32 {
                    let word = w | kf_arg_mem(m) | (t << KF_PARAM_DYNPTR_SHIFT);
                    let tags = arg_tag_values(3, word).unwrap();
                    let back = arg_flags_of_tags(3, tags.iter().map(String::as_str)).unwrap();
                    assert_eq!(back, word, "{word:#x}: {tags:?}");
                    n += 1;
                }
            }
        }
        assert!(n > 1000, "{n} words");
    }

    #[test]
    fn tags_that_say_nothing_valid_are_refused() {
        let dec = |v: &[&str]| arg_flags_of_tags(0, v.iter().copied());
        assert_eq!(dec(&["bpf_kfunc", "arg:nullable"]), Ok(0));
        assert_eq!(dec(&["kf_param:nullable"]), Ok(KF_PARAM_NULLABLE));
        assert!(dec(&["kf_param:nulable"]).is_err());
        assert!(dec(&["kf_param:release", "kf_param:release"]).is_err());
        assert!(dec(&["kf_param:size"]).is_err(), "size without mem");
        assert!(dec(&["kf_param:mem=1"]).is_err(), "mem without size");
        assert!(dec(&["kf_param:size", "kf_param:mem=5"]).is_err());
        assert!(dec(&["kf_param:size", "kf_param:mem=x"]).is_err());
        assert!(
            dec(&["kf_param:dynptr=skb"]).is_err(),
            "types are upper case"
        );
        assert_eq!(
            dec(&["kf_param:uninit", "kf_param:dynptr=RINGBUF"]),
            Ok(KF_PARAM_UNINIT | kf_arg_dynptr(2))
        );
    }
}
