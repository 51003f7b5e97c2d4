//! Phase `btfgen`: BTF FUNC + FUNC_PROTO for `#[kfunc]` records that have no FUNC (Rust
//! code gets no BTF from pahole), and cross-checks of records against FUNCs that exist.
//!
//! Type names follow `DESIGN.md`: scalars by TYPEDEF or INT name; pointees as STRUCT,
//! UNION, ENUM, TYPEDEF (or INT for scalar pointees); `void`; `const` as a CONST modifier;
//! `TYPE_F_MODULE` pointees become a member-less STRUCT of that name and size in the
//! module's split BTF, once per name.

use crate::btf::*;
use kfunc_layout::{
    MetaRecord, MetaType, TYPE_F_CONST, TYPE_F_MODULE, TYPE_POINTER, TYPE_SCALAR, TYPE_VOID,
};
use std::collections::{HashMap, HashSet};

/// What `generate` produced.
#[derive(Debug, Default)]
pub struct Generated {
    /// The builder holding the grown BTF (when something was added).
    pub builder: Option<BtfBuilder>,
    /// Names of the kfuncs that got a FUNC.
    pub generated: Vec<String>,
    /// Types added.
    pub types_added: u32,
    /// Mismatches between records and FUNCs that already exist.
    pub problems: Vec<String>,
}

fn strip_kind(name: &str) -> (Option<&[u32]>, &str) {
    const S: &[u32] = &[KIND_STRUCT];
    const U: &[u32] = &[KIND_UNION];
    const E: &[u32] = &[KIND_ENUM, KIND_ENUM64];
    if let Some(n) = name.strip_prefix("struct ") {
        (Some(S), n)
    } else if let Some(n) = name.strip_prefix("union ") {
        (Some(U), n)
    } else if let Some(n) = name.strip_prefix("enum ") {
        (Some(E), n)
    } else {
        (None, name)
    }
}

const POINTEE_ORDER: &[u32] = &[
    KIND_STRUCT,
    KIND_UNION,
    KIND_ENUM,
    KIND_ENUM64,
    KIND_TYPEDEF,
    KIND_INT,
];
const SCALAR_ORDER: &[u32] = &[KIND_TYPEDEF, KIND_INT, KIND_ENUM, KIND_ENUM64];

struct Gen<'b, 'a, S> {
    btf: &'b Btf<'a>,
    index: HashMap<&'a [u8], Vec<(u32, u32)>>,
    b: S,
    module_structs: HashMap<String, u32>,
    ptrs: HashMap<u32, u32>,
    consts: HashMap<u32, u32>,
}

impl<S: BtfSink> Gen<'_, '_, S> {
    fn find(&self, name: &str, kinds: &[u32]) -> Option<u32> {
        let cands = self.index.get(name.as_bytes())?;
        kinds
            .iter()
            .find_map(|k| cands.iter().find(|(kk, _)| kk == k).map(|(_, id)| *id))
    }

    fn int_size(&self, id: u32) -> Option<u32> {
        let t = self.btf.ty(self.btf.resolve_alias(id))?;
        matches!(t.kind(), KIND_INT | KIND_ENUM | KIND_ENUM64).then_some(t.size_type)
    }

    fn scalar(&self, fname: &str, t: &MetaType<'_>, what: &str) -> Result<u32, String> {
        let (_, n) = strip_kind(t.type_name);
        let id = self.find(n, SCALAR_ORDER).ok_or_else(|| {
            format!(
                "kfunc {fname}: {what}: scalar type '{}' not found in base BTF (as TYPEDEF or INT)",
                t.type_name
            )
        })?;
        if t.size != 0 && self.int_size(id) != Some(t.size) {
            return Err(format!(
                "kfunc {fname}: {what}: type '{}' is {:?} bytes in BTF, the record says {}",
                t.type_name,
                self.int_size(id),
                t.size
            ));
        }
        Ok(id)
    }

    fn pointer(&mut self, fname: &str, t: &MetaType<'_>, what: &str) -> Result<u32, String> {
        let target = if t.tflags & TYPE_F_MODULE != 0 {
            let (_, n) = strip_kind(t.type_name);
            match self.module_structs.get(n) {
                Some(&id) => id,
                None => {
                    let off = self.b.add_str(n);
                    let id = self.b.add_type(off, KIND_STRUCT, 0, t.size, &[]);
                    self.module_structs.insert(n.to_string(), id);
                    id
                }
            }
        } else if t.type_name == "void" {
            0
        } else {
            let (kinds, n) = strip_kind(t.type_name);
            self.find(n, kinds.unwrap_or(POINTEE_ORDER))
                .ok_or_else(|| {
                    format!(
                        "kfunc {fname}: {what}: pointee type '{}' not found in base BTF",
                        t.type_name
                    )
                })?
        };
        let target = if t.tflags & TYPE_F_CONST != 0 {
            match self.consts.get(&target) {
                Some(&c) => c,
                None => {
                    let c = self.b.add_type(0, KIND_CONST, 0, target, &[]);
                    self.consts.insert(target, c);
                    c
                }
            }
        } else {
            target
        };
        Ok(match self.ptrs.get(&target) {
            Some(&p) => p,
            None => {
                let p = self.b.add_type(0, KIND_PTR, 0, target, &[]);
                self.ptrs.insert(target, p);
                p
            }
        })
    }

    fn ty(&mut self, fname: &str, t: &MetaType<'_>, what: &str) -> Result<u32, String> {
        match t.kind {
            TYPE_VOID => Ok(0),
            TYPE_SCALAR => self.scalar(fname, t, what),
            TYPE_POINTER => self.pointer(fname, t, what),
            k => Err(format!("kfunc {fname}: {what}: unknown type kind {k}")),
        }
    }
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch == '_' || ch.is_ascii_alphabetic())
        && c.all(|ch| ch == '_' || ch.is_ascii_alphanumeric())
}

/// Is `id` a pointer (through typedefs and modifiers)?
fn is_pointer(btf: &Btf<'_>, id: u32) -> bool {
    btf.ty(btf.resolve_alias(id))
        .is_some_and(|t| t.kind() == KIND_PTR)
}

fn check_existing(btf: &Btf<'_>, func: Type<'_>, r: &MetaRecord<'_>, problems: &mut Vec<String>) {
    let Some(proto) = btf
        .ty(func.size_type)
        .filter(|t| t.kind() == KIND_FUNC_PROTO)
    else {
        problems.push(format!(
            "kfunc {}: BTF FUNC [{}] has no FUNC_PROTO",
            r.name, func.id
        ));
        return;
    };
    let params: Vec<(u32, u32)> = proto.params().collect();
    if params.len() != r.args.len() {
        problems.push(format!(
            "kfunc {}: BTF FUNC_PROTO has {} arguments, the .kfunc.meta record {}",
            r.name,
            params.len(),
            r.args.len()
        ));
        return;
    }
    for (i, ((n, t), a)) in params.iter().zip(&r.args).enumerate() {
        let bname = btf.name(*n);
        if bname != a.name {
            problems.push(format!(
                "kfunc {}: argument {i}: named '{bname}' in BTF, '{}' in the .kfunc.meta record",
                r.name, a.name
            ));
        }
        let bp = is_pointer(btf, *t);
        if bp != (a.kind == TYPE_POINTER) {
            problems.push(format!(
                "kfunc {}: argument {i} ({}): {} in BTF, {} in the .kfunc.meta record",
                r.name,
                a.name,
                if bp { "pointer" } else { "scalar" },
                if a.kind == TYPE_POINTER {
                    "pointer"
                } else {
                    "scalar"
                }
            ));
        }
    }
    let ret_void = proto.size_type == 0;
    if ret_void != (r.ret.kind == TYPE_VOID)
        || (!ret_void && is_pointer(btf, proto.size_type) != (r.ret.kind == TYPE_POINTER))
    {
        problems.push(format!(
            "kfunc {}: return type differs between BTF and the .kfunc.meta record",
            r.name
        ));
    }
}

/// Build FUNC + FUNC_PROTO for every record without a FUNC in `btf`'s own part, and
/// cross-check the others. The new types go to a [`BtfBuilder`] started from `btf`
/// ([`Generated::builder`], only when something is missing).
pub fn generate(btf: &Btf<'_>, records: &[MetaRecord<'_>]) -> Result<Generated, String> {
    let mut g = Generated::default();
    let Some(plan) = plan(btf, records, &mut g)? else {
        return Ok(g);
    };
    let b = emit(btf, plan, BtfBuilder::from_btf(btf), &mut g)?;
    g.builder = Some(b);
    Ok(g)
}

/// Like [`generate`], but the new types are appended to `sink`, which must hold the same
/// types as `btf` (ids and string offsets agree). [`Generated::builder`] stays `None`.
pub fn generate_into<S: BtfSink>(
    btf: &Btf<'_>,
    records: &[MetaRecord<'_>],
    sink: &mut S,
) -> Result<Generated, String> {
    let mut g = Generated::default();
    if let Some(plan) = plan(btf, records, &mut g)? {
        emit(btf, plan, sink, &mut g)?;
    }
    Ok(g)
}

impl<S: BtfSink> BtfSink for &mut S {
    fn add_str(&mut self, s: &str) -> u32 {
        (**self).add_str(s)
    }
    fn add_type(
        &mut self,
        name_off: u32,
        kind: u32,
        vlen: u32,
        size_type: u32,
        extra: &[u32],
    ) -> u32 {
        (**self).add_type(name_off, kind, vlen, size_type, extra)
    }
    fn add_type_count(&self) -> u32 {
        (**self).add_type_count()
    }
}

/// What [`emit`] works from: the records without a FUNC, the module's own structs, and a
/// name index of the types those records use.
struct Plan<'r, 'x, 'a> {
    missing: Vec<&'r MetaRecord<'x>>,
    own_structs: HashMap<String, u32>,
    index: HashMap<&'a [u8], Vec<(u32, u32)>>,
}

/// Check the records, cross-check those with a FUNC, and plan the others (`None`: nothing
/// to generate).
fn plan<'r, 'x, 'a>(
    btf: &Btf<'a>,
    records: &'r [MetaRecord<'x>],
    g: &mut Generated,
) -> Result<Option<Plan<'r, 'x, 'a>>, String> {
    if records.is_empty() {
        return Ok(None);
    }
    let mut seen = HashSet::new();
    for r in records {
        if !seen.insert(r.name) {
            return Err(format!(
                "section .kfunc.meta: two records for kfunc {}",
                r.name
            ));
        }
    }
    let mut own_funcs: HashMap<&[u8], Type<'_>> = HashMap::new();
    let mut own_structs: HashMap<String, u32> = HashMap::new();
    for t in btf.own_types_iter() {
        match t.kind() {
            KIND_FUNC => {
                if let Some(n) = btf.str_at(t.name_off) {
                    own_funcs.entry(n).or_insert(t);
                }
            }
            KIND_STRUCT if btf.base().is_some() => {
                own_structs.entry(btf.name(t.name_off)).or_insert(t.id);
            }
            _ => {}
        }
    }
    let mut missing = Vec::new();
    for r in records {
        match own_funcs.get(r.name.as_bytes()) {
            Some(f) => check_existing(btf, *f, r, &mut g.problems),
            None => missing.push(r),
        }
    }
    if missing.is_empty() {
        return Ok(None);
    }
    // A FUNC of the same name in the base (vmlinux) would win the name lookup of the
    // set entries (first match), silently pointing the module's set at another function.
    if let Some(base) = btf.base() {
        let names: HashSet<&[u8]> = missing.iter().map(|r| r.name.as_bytes()).collect();
        let mut clash = Vec::new();
        base.for_each_kind_name(&mut |id, kind, name_off| {
            if kind == KIND_FUNC {
                if let Some(n) = base.str_at(name_off).filter(|n| names.contains(n)) {
                    clash.push(format!(
                        "kfunc {}: the base BTF already has a FUNC of that name ([{id}]); the module's set would resolve to it",
                        String::from_utf8_lossy(n)
                    ));
                }
            }
        });
        if !clash.is_empty() {
            return Err(clash.join("; "));
        }
    }
    // Index the names the missing records use, in one pass over every type.
    let mut wanted: HashSet<&[u8]> = HashSet::new();
    for r in &missing {
        for t in std::iter::once(&r.ret).chain(&r.args) {
            if t.tflags & TYPE_F_MODULE == 0 && t.kind != TYPE_VOID {
                wanted.insert(strip_kind(t.type_name).1.as_bytes());
            }
        }
    }
    let mut index: HashMap<&'a [u8], Vec<(u32, u32)>> = HashMap::new();
    for t in btf.all_types() {
        if !matches!(
            t.kind(),
            KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_TYPEDEF | KIND_INT
        ) {
            continue;
        }
        if let Some(n) = btf.str_at(t.name_off) {
            if wanted.contains(n) {
                index.entry(n).or_default().push((t.kind(), t.id));
            }
        }
    }
    Ok(Some(Plan {
        missing,
        own_structs,
        index,
    }))
}

/// Append FUNC + FUNC_PROTO (and the types they need) for every planned record to `sink`.
fn emit<S: BtfSink>(
    btf: &Btf<'_>,
    plan: Plan<'_, '_, '_>,
    sink: S,
    g: &mut Generated,
) -> Result<S, String> {
    let mut gen = Gen {
        btf,
        index: plan.index,
        b: sink,
        module_structs: plan.own_structs,
        ptrs: HashMap::new(),
        consts: HashMap::new(),
    };
    let before = gen.b.add_type_count();
    for r in plan.missing {
        if !is_ident(r.name) {
            return Err(format!(
                "section .kfunc.meta: kfunc name '{}' is not a C identifier",
                r.name
            ));
        }
        let ret = gen.ty(r.name, &r.ret, "return type")?;
        let mut params = Vec::new();
        for (i, a) in r.args.iter().enumerate() {
            if !is_ident(a.name) {
                return Err(format!(
                    "kfunc {}: argument {i}: name '{}' is not a C identifier",
                    r.name, a.name
                ));
            }
            if a.kind == TYPE_VOID {
                return Err(format!(
                    "kfunc {}: argument {i} ({}): void argument",
                    r.name, a.name
                ));
            }
            let t = gen.ty(r.name, a, &format!("argument {i} ({})", a.name))?;
            let n = gen.b.add_str(a.name);
            params.push(n);
            params.push(t);
        }
        let proto = gen
            .b
            .add_type(0, KIND_FUNC_PROTO, r.args.len() as u32, ret, &params);
        let n = gen.b.add_str(r.name);
        gen.b.add_type(n, KIND_FUNC, FUNC_GLOBAL, proto, &[]);
        g.generated.push(r.name.to_string());
    }
    g.types_added = gen.b.add_type_count() - before;
    Ok(gen.b)
}
