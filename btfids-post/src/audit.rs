//! `btfids-post audit [--json] VMLINUX [MODULES...]`: the migration table of today's kfuncs.
//!
//! Lists every kfunc (every entry of every set8 whose header has `BTF_SET8_KFUNCS`) of a
//! resolved vmlinux and of modules (split BTF on top of the vmlinux), with
//!
//! - its function flags, decoded with the `kfunc_layout` tables;
//! - per parameter (from the BTF `FUNC_PROTO`): name, C type, the name suffix if any, and
//!   the per-argument flags that suffix implies (the `suffix` column of
//!   [`kfunc_layout::ARG_FLAGS`]; `__sz`/`__szk` also name the memory argument before them);
//! - the per-argument flags the function flags imply: `KF_RELEASE` releases "the one
//!   referenced argument", so the candidate pointer arguments are marked (one candidate:
//!   `KF_PARAM_RELEASE`; several: listed, the choice is left to a human); `KF_RCU` becomes
//!   `KF_PARAM_RCU` on every pointer argument to a struct or union (pointer arguments are
//!   trusted by default since Linux 7.0, which removed `KF_TRUSTED_ARGS`: no flag says so);
//!   `KF_ITER_*` kfuncs take the iterator as argument 0 (`KF_PARAM_ITER`);
//! - `KF_ACQUIRE`: the one argument pointing to the returned (non-void) type is the
//!   object the reference is taken on (`KF_PARAM_ACQUIRE`);
//! - the per-argument flags an extended set already declares.
//!
//! The text form is one block per kfunc and a summary; `--json` prints the same data.

use btfids_post::btf::{
    Btf, KIND_CONST, KIND_ENUM, KIND_ENUM64, KIND_FLOAT, KIND_FUNC, KIND_FUNC_PROTO, KIND_FWD,
    KIND_INT, KIND_PTR, KIND_RESTRICT, KIND_STRUCT, KIND_TYPEDEF, KIND_TYPE_TAG, KIND_UNION,
    KIND_VOLATILE,
};
use btfids_post::dump::{dump, SetDump};
use btfids_post::io::{btf_bytes, load};
use btfids_post::object::Layout;
use btfids_post::{Error, Options};
use kfunc_layout::{
    describe_arg_flags, describe_flags, kf_arg_mem, ARG_FLAGS, FUNC_FLAGS, KF_ACQUIRE,
    KF_ITER_DESTROY, KF_ITER_NEW, KF_ITER_NEXT, KF_PARAM_ACQUIRE, KF_PARAM_ARENA,
    KF_PARAM_CONST_SIZE, KF_PARAM_IGNORE, KF_PARAM_ITER, KF_PARAM_MAP, KF_PARAM_NULLABLE,
    KF_PARAM_RCU, KF_PARAM_RELEASE, KF_PARAM_SIZE, KF_PARAM_STR, KF_RCU, KF_RELEASE, MAX_ARGS,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// One parameter of a kfunc, with what its name and the function flags imply.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditArg {
    /// Argument index.
    pub index: usize,
    /// Parameter name as in BTF (with its suffix).
    pub name: String,
    /// The name without the suffix: what it would be called with per-argument flags.
    pub plain_name: String,
    /// C type, from BTF.
    pub ctype: String,
    /// Whether the parameter is a pointer.
    pub pointer: bool,
    /// The suffix found (`__sz`, `__nullable`, ...), if any.
    pub suffix: Option<String>,
    /// `KF_PARAM_*` flags the suffix implies.
    pub from_suffix: u32,
    /// `KF_PARAM_*` flags the function flags imply (release, trusted, rcu).
    pub from_func_flags: u32,
    /// `from_suffix | from_func_flags`, decoded.
    pub implied: String,
    /// A candidate for the argument `KF_RELEASE` releases.
    pub release_candidate: bool,
    /// Flags an extended set declares for this argument (`None` for a legacy set).
    pub declared: Option<u32>,
    /// Remarks (inconsistent suffixes, ...).
    pub notes: Vec<String>,
}

/// One kfunc entry of one set.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditKfunc {
    /// The file the set is in (vmlinux or a module).
    pub object: String,
    /// The set's name.
    pub set: String,
    /// The set's layout (legacy or extended).
    pub layout: String,
    /// BTF id of the FUNC.
    pub id: u32,
    /// The kfunc's name.
    pub name: String,
    /// `KF_*` function flags.
    pub flags: u32,
    /// Function flags, decoded.
    pub flags_decoded: String,
    /// Parameters.
    pub args: Vec<AuditArg>,
    /// At least one parameter name carries a suffix.
    pub uses_suffixes: bool,
    /// `KF_RELEASE` with more than one candidate argument: a human must choose.
    pub release_ambiguous: bool,
    /// Remarks.
    pub notes: Vec<String>,
}

/// Summary figures of an audit.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AuditSummary {
    /// Files read.
    pub objects: usize,
    /// Kfunc sets (set8 with `BTF_SET8_KFUNCS`).
    pub kfunc_sets: usize,
    /// Of those, extended sets.
    pub extended_sets: usize,
    /// Kfunc entries (a kfunc in several sets counts once per set).
    pub entries: usize,
    /// Distinct kfuncs (by object and name).
    pub kfuncs: usize,
    /// Distinct kfuncs with at least one suffixed parameter name.
    pub kfuncs_with_suffixes: usize,
    /// Parameters per suffix, over distinct kfuncs.
    pub suffixes: BTreeMap<String, usize>,
    /// Distinct kfuncs per function flag.
    pub func_flags: BTreeMap<String, usize>,
    /// Distinct kfuncs with no function flag.
    pub no_func_flags: usize,
    /// Distinct kfuncs whose conversion needs per-argument flags at all.
    pub kfuncs_needing_arg_flags: usize,
    /// Distinct `KF_RELEASE` kfuncs with exactly one release candidate.
    pub release_single: usize,
    /// Distinct `KF_RELEASE` kfuncs with several candidates.
    pub release_ambiguous: usize,
    /// Distinct `KF_RELEASE` kfuncs with no pointer argument found.
    pub release_none: usize,
    /// Distinct kfuncs with more than [`MAX_ARGS`] parameters (cannot be extended entries).
    pub too_many_args: usize,
    /// Distinct `KF_ACQUIRE` kfuncs with an acquire-source argument (`KF_PARAM_ACQUIRE`).
    pub acquire_source: usize,
    /// Distinct kfuncs where dropping the suffixes makes two parameters share a name.
    pub name_collisions: usize,
}

/// A whole audit.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Audit {
    /// Every kfunc entry, in object, set and entry order.
    pub kfuncs: Vec<AuditKfunc>,
    /// Figures.
    pub summary: AuditSummary,
}

/// The compound suffix of 7.3's nullable arena arguments: `x__arena__nullable` is an arena
/// pointer (`is_kfunc_arg_arena()`) that the JIT's function model keeps NULL
/// (`BTF_FMODEL_ARENA_ARG | BTF_FMODEL_NULLABLE_ARG`; an `__arena` one is rebased even
/// when NULL): `KF_PARAM_ARENA | KF_PARAM_NULLABLE`, as the series' registration reads it.
const ARENA_NULLABLE: &str = "__arena__nullable";

/// The suffix of `name` that the 7.3 verifier recognises, with the flags it implies
/// (without the memory-argument field), if any. Like `btf_param_match_suffix`, the name
/// must be longer than the suffix.
pub fn suffix_of(name: &str) -> Option<(&'static str, u32)> {
    if name.len() > ARENA_NULLABLE.len() && name.ends_with(ARENA_NULLABLE) {
        return Some((ARENA_NULLABLE, KF_PARAM_ARENA | KF_PARAM_NULLABLE));
    }
    ARG_FLAGS.iter().find_map(|f| {
        let s = f.suffix?;
        (name.len() > s.len() && name.ends_with(s)).then_some((s, f.value))
    })
}

/// What one parameter implies: flags from its suffix, flags from the function flags,
/// whether it is a release candidate, remarks.
pub type Implied = (u32, u32, bool, Vec<String>);

/// Per-argument flags implied by a parameter list and the function flags.
///
/// `params` are `(name, is_pointer, pointee_is_struct_or_union)`. Returns one
/// [`AuditArg`]-like triple per parameter: flags from the suffix, flags from the function
/// flags, release candidate; plus notes for the kfunc.
pub fn implied_flags(
    func_flags: u32,
    params: &[(String, bool, bool)],
) -> (Vec<Implied>, Vec<String>) {
    let mut out: Vec<Implied> = Vec::with_capacity(params.len());
    let mut notes = Vec::new();
    for (i, (name, ptr, _)) in params.iter().enumerate() {
        let mut arg_notes = Vec::new();
        let mut f = 0;
        if let Some((s, v)) = suffix_of(name) {
            f = v;
            if v & (KF_PARAM_SIZE | KF_PARAM_CONST_SIZE) != 0 {
                if i == 0 {
                    arg_notes.push(format!("{s} on the first argument: no memory argument"));
                } else {
                    // KF_PARAM_MEM holds memory arguments 0-7 (kf_arg_mem panics past them);
                    // arguments that far have no per-argument word anyway.
                    if i - 1 <= kfunc_layout::KF_PARAM_MEM_MASK as usize {
                        f |= kf_arg_mem(i as u32 - 1);
                    } else {
                        arg_notes.push(format!(
                            "{s}: memory argument {} does not fit KF_PARAM_MEM",
                            i - 1
                        ));
                    }
                    if !params[i - 1].1 {
                        arg_notes.push(format!(
                            "{s}: argument {} before it is not a pointer",
                            i - 1
                        ));
                    }
                }
                if *ptr {
                    arg_notes.push(format!("{s} on a pointer argument"));
                }
            }
        }
        out.push((f, 0, false, arg_notes));
    }
    // A pointer argument followed by a size argument is a memory argument.
    let is_mem = |i: usize| {
        out.get(i + 1)
            .is_some_and(|a| a.0 & (KF_PARAM_SIZE | KF_PARAM_CONST_SIZE) != 0)
    };
    let skip_release = KF_PARAM_IGNORE | KF_PARAM_STR | KF_PARAM_MAP;
    let candidates: Vec<usize> = params
        .iter()
        .enumerate()
        .filter(|&(i, (_, ptr, _))| *ptr && out[i].0 & skip_release == 0 && !is_mem(i))
        .map(|(i, _)| i)
        .collect();
    // Pointer arguments are trusted by default (7.0 removed KF_TRUSTED_ARGS); KF_RCU
    // relaxes that to "RCU-protected or trusted" for every object pointer.
    if func_flags & KF_RCU != 0 {
        for (i, (_, ptr, obj)) in params.iter().enumerate() {
            if *ptr && *obj {
                out[i].1 |= KF_PARAM_RCU;
            }
        }
    }
    // An iterator kfunc's first argument is the iterator (is_kfunc_arg_iter()).
    if func_flags & (KF_ITER_NEW | KF_ITER_NEXT | KF_ITER_DESTROY) != 0 && !params.is_empty() {
        out[0].1 |= KF_PARAM_ITER;
    }
    if func_flags & KF_RELEASE != 0 {
        match candidates.len() {
            0 => notes.push("KF_RELEASE but no pointer argument to release".into()),
            1 => {
                out[candidates[0]].1 |= KF_PARAM_RELEASE;
                out[candidates[0]].2 = true;
            }
            _ => {
                for &c in &candidates {
                    out[c].2 = true;
                }
                notes.push(format!(
                    "KF_RELEASE with {} candidate arguments ({}): the released one is whichever \
                     holds a reference at the call; choose one KF_PARAM_RELEASE",
                    candidates.len(),
                    candidates
                        .iter()
                        .map(|c| format!("arg{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    if params.len() > MAX_ARGS {
        notes.push(format!(
            "{} parameters: more than the {MAX_ARGS} an extended entry describes",
            params.len()
        ));
    }
    (out, notes)
}

/// C spelling of BTF type `id` (depth-limited).
fn ctype(btf: &Btf<'_>, id: u32, depth: u32) -> String {
    if id == 0 {
        return "void".into();
    }
    if depth > 16 {
        return "...".into();
    }
    let Some(t) = btf.ty(id) else {
        return format!("<bad type id {id}>");
    };
    let name = btf.name(t.name_off);
    match t.kind() {
        KIND_INT | KIND_TYPEDEF | KIND_FLOAT => name,
        KIND_STRUCT => format!("struct {name}"),
        KIND_UNION => format!("union {name}"),
        KIND_ENUM | KIND_ENUM64 => format!("enum {name}"),
        KIND_FWD => format!("struct {name} (fwd)"),
        KIND_PTR => format!("{} *", ctype(btf, t.size_type, depth + 1)),
        KIND_CONST => format!("const {}", ctype(btf, t.size_type, depth + 1)),
        KIND_VOLATILE => format!("volatile {}", ctype(btf, t.size_type, depth + 1)),
        KIND_RESTRICT | KIND_TYPE_TAG => ctype(btf, t.size_type, depth + 1),
        KIND_FUNC_PROTO => "fn(...)".into(),
        k => format!("<kind {k}>"),
    }
}

/// The (alias-resolved) pointee type id of pointer type `id`, `None` for a non-pointer or a
/// pointer to void.
fn pointee(btf: &Btf<'_>, id: u32) -> Option<u32> {
    let t = btf.ty(btf.resolve_alias(id))?;
    if t.kind() != KIND_PTR {
        return None;
    }
    let p = btf.resolve_alias(t.size_type);
    (p != 0).then_some(p)
}

/// `(is_pointer, pointee_is_struct_or_union)` of BTF type `id`.
fn pointer_info(btf: &Btf<'_>, id: u32) -> (bool, bool) {
    let r = btf.resolve_alias(id);
    match btf.ty(r) {
        Some(t) if t.kind() == KIND_PTR => {
            let p = btf.resolve_alias(t.size_type);
            let obj = btf
                .ty(p)
                .is_some_and(|pt| matches!(pt.kind(), KIND_STRUCT | KIND_UNION | KIND_FWD));
            (true, obj)
        }
        _ => (false, false),
    }
}

fn plain(name: &str) -> String {
    match suffix_of(name) {
        Some((s, _)) => name[..name.len() - s.len()].to_string(),
        None => name.to_string(),
    }
}

/// Audit the kfunc sets of one file. `base` is the vmlinux for a module (split BTF).
pub fn audit_object(path: &Path, base: Option<&Path>) -> Result<Vec<AuditKfunc>, Error> {
    let opts = Options {
        base: base.map(Path::to_path_buf),
        ..Default::default()
    };
    let sets: Vec<SetDump> = dump(path, &opts)?;
    let bytes = load(path)?;
    // A module's own distilled base (`.BTF.base`, Linux 7.3 out of tree) wins over `-b`.
    let own_base = btf_bytes(path, &bytes, ".BTF.base")
        .ok()
        .filter(|raw| raw.as_ptr() != bytes.as_ptr());
    let base_bytes = match (base, own_base) {
        (Some(b), None) => Some(load(b)?),
        _ => None,
    };
    let base_btf = match (base, &base_bytes, own_base) {
        (_, _, Some(raw)) => Some(
            Btf::parse(raw, None)
                .map_err(|e| Error::at(path, format!("section .BTF.base: {e}")))?,
        ),
        (Some(p), Some(b), None) => Some(
            Btf::parse(btf_bytes(p, b, ".BTF")?, None)
                .map_err(|e| Error::at(p, format!("section .BTF: {e}")))?,
        ),
        _ => None,
    };
    let kfunc_sets: Vec<&SetDump> = sets
        .iter()
        .filter(|s| s.layout.holds_kfuncs(s.header_flags))
        .collect();
    if kfunc_sets.is_empty() {
        return Ok(Vec::new());
    }
    let raw = btf_bytes(path, &bytes, ".BTF")?;
    let btf = Btf::parse(raw, base_btf.as_ref()).map_err(|e| {
        Error::at(
            path,
            format!(
                "section .BTF: {e}{}",
                if base.is_none() {
                    " (a module needs the vmlinux it was built against first)"
                } else {
                    ""
                }
            ),
        )
    })?;
    let object = path.display().to_string();
    let mut out = Vec::new();
    for st in kfunc_sets {
        for en in &st.entries {
            let mut notes = Vec::new();
            let flags = en.flags.unwrap_or(0);
            let func = btf.ty(en.id).filter(|t| t.kind() == KIND_FUNC);
            let Some(func) = func else {
                notes.push(format!(
                    "BTF id {} is not a FUNC (unresolved entry?)",
                    en.id
                ));
                out.push(AuditKfunc {
                    object: object.clone(),
                    set: st.name.clone(),
                    layout: format!("{:?}", st.layout),
                    id: en.id,
                    name: en.name.clone(),
                    flags,
                    flags_decoded: describe_flags(FUNC_FLAGS, flags),
                    args: Vec::new(),
                    uses_suffixes: false,
                    release_ambiguous: false,
                    notes,
                });
                continue;
            };
            let name = btf.name(func.name_off);
            let proto = btf
                .ty(func.size_type)
                .filter(|p| p.kind() == KIND_FUNC_PROTO)
                .ok_or_else(|| {
                    Error::at(
                        path,
                        format!("section .BTF: FUNC {name} (id {}) has no FUNC_PROTO", en.id),
                    )
                })?;
            let params: Vec<(String, u32)> =
                proto.params().map(|(n, t)| (btf.name(n), t)).collect();
            let shape: Vec<(String, bool, bool)> = params
                .iter()
                .map(|(n, t)| {
                    let (p, o) = pointer_info(&btf, *t);
                    (n.clone(), p, o)
                })
                .collect();
            let (mut implied, knotes) = implied_flags(flags, &shape);
            notes.extend(knotes);
            // KF_ACQUIRE: the argument pointing to the same (non-void) type as the returned
            // pointer is the object the reference is taken on (KF_PARAM_ACQUIRE).
            if flags & KF_ACQUIRE != 0 {
                let ret = pointee(&btf, proto.size_type);
                let same: Vec<usize> = params
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, t))| ret.is_some() && pointee(&btf, *t) == ret)
                    .map(|(i, _)| i)
                    .collect();
                match same[..] {
                    [i] => implied[i].1 |= KF_PARAM_ACQUIRE,
                    [] => {}
                    _ => notes.push(format!(
                        "KF_ACQUIRE: {} arguments point to the returned type; choose the \
                         KF_PARAM_ACQUIRE one",
                        same.len()
                    )),
                }
            }
            let extended = st.layout == Layout::Extended;
            let mut args: Vec<AuditArg> = params
                .iter()
                .enumerate()
                .map(|(i, (n, t))| {
                    let (fs, ff, rc, an) = implied[i].clone();
                    AuditArg {
                        index: i,
                        name: n.clone(),
                        plain_name: plain(n),
                        ctype: ctype(&btf, *t, 0),
                        pointer: shape[i].1,
                        suffix: suffix_of(n).map(|(s, _)| s.to_string()),
                        from_suffix: fs,
                        from_func_flags: ff,
                        implied: describe_arg_flags(fs | ff),
                        release_candidate: rc,
                        declared: extended
                            .then(|| en.args.iter().find(|a| a.index == i).map_or(0, |a| a.flags)),
                        notes: an,
                    }
                })
                .collect();
            // Dropping a suffix must not make two parameters share a name.
            for i in 0..args.len() {
                if args[i].suffix.is_none() {
                    continue;
                }
                if let Some(j) =
                    (0..args.len()).find(|&j| j != i && args[j].plain_name == args[i].plain_name)
                {
                    let n = format!(
                        "plain name {} collides with arg{j}: rename one",
                        args[i].plain_name
                    );
                    args[i].notes.push(n);
                }
            }
            out.push(AuditKfunc {
                object: object.clone(),
                set: st.name.clone(),
                layout: format!("{:?}", st.layout),
                id: en.id,
                uses_suffixes: args.iter().any(|a| a.suffix.is_some()),
                release_ambiguous: flags & KF_RELEASE != 0
                    && args.iter().filter(|a| a.release_candidate).count() > 1,
                name,
                flags,
                flags_decoded: describe_flags(FUNC_FLAGS, flags),
                args,
                notes,
            });
        }
    }
    Ok(out)
}

/// Compute the summary of a list of entries.
pub fn summarize(kfuncs: &[AuditKfunc], objects: usize) -> AuditSummary {
    let mut s = AuditSummary {
        objects,
        entries: kfuncs.len(),
        ..Default::default()
    };
    let sets: BTreeSet<(&str, &str)> = kfuncs
        .iter()
        .map(|k| (k.object.as_str(), k.set.as_str()))
        .collect();
    s.kfunc_sets = sets.len();
    s.extended_sets = kfuncs
        .iter()
        .filter(|k| k.layout == "Extended")
        .map(|k| (k.object.as_str(), k.set.as_str()))
        .collect::<BTreeSet<_>>()
        .len();
    let mut seen = BTreeSet::new();
    for k in kfuncs {
        if !seen.insert((k.object.as_str(), k.name.as_str())) {
            continue;
        }
        s.kfuncs += 1;
        if k.uses_suffixes {
            s.kfuncs_with_suffixes += 1;
        }
        for a in &k.args {
            if let Some(x) = &a.suffix {
                *s.suffixes.entry(x.clone()).or_default() += 1;
            }
        }
        if k.flags == 0 {
            s.no_func_flags += 1;
        }
        for f in FUNC_FLAGS.iter().filter(|f| k.flags & f.value != 0) {
            *s.func_flags.entry(f.c_name.to_string()).or_default() += 1;
        }
        if k.args
            .iter()
            .any(|a| a.from_suffix | a.from_func_flags != 0)
        {
            s.kfuncs_needing_arg_flags += 1;
        }
        if k.flags & KF_RELEASE != 0 {
            match k.args.iter().filter(|a| a.release_candidate).count() {
                0 => s.release_none += 1,
                1 => s.release_single += 1,
                _ => s.release_ambiguous += 1,
            }
        }
        if k.args.len() > MAX_ARGS {
            s.too_many_args += 1;
        }
        if k.args
            .iter()
            .any(|a| a.from_func_flags & KF_PARAM_ACQUIRE != 0)
        {
            s.acquire_source += 1;
        }
        if k.args
            .iter()
            .any(|a| a.notes.iter().any(|n| n.contains("collides")))
        {
            s.name_collisions += 1;
        }
    }
    s
}

/// Audit a vmlinux and modules built against it.
pub fn audit(vmlinux: &Path, modules: &[PathBuf]) -> Result<Audit, Error> {
    let mut kfuncs = audit_object(vmlinux, None)?;
    for m in modules {
        kfuncs.extend(audit_object(m, Some(vmlinux))?);
    }
    let summary = summarize(&kfuncs, 1 + modules.len());
    Ok(Audit { kfuncs, summary })
}

/// The text form: one block per kfunc entry, then the summary.
pub fn text(a: &Audit) -> String {
    let mut o = String::new();
    o.push_str(
        "# kfunc migration table: function flags, and the per-argument flags that the\n\
         # parameter-name suffixes (and KF_RELEASE / KF_RCU / KF_ITER_*) imply.\n\
         # arg lines: index name: C type  [suffix]  => implied KF_PARAM_* (declared: extended sets)\n\n",
    );
    let mut last = (String::new(), String::new());
    for k in &a.kfuncs {
        if (k.object.as_str(), k.set.as_str()) != (last.0.as_str(), last.1.as_str()) {
            o.push_str(&format!("== {} set {} ({})\n", k.object, k.set, k.layout));
            last = (k.object.clone(), k.set.clone());
        }
        o.push_str(&format!(
            "{} [{}] flags {}\n",
            k.name, k.id, k.flags_decoded
        ));
        for g in &k.args {
            let mut line = format!("    arg{} {}: {}", g.index, g.name, g.ctype);
            if let Some(s) = &g.suffix {
                line.push_str(&format!("  [{s} -> {}]", g.plain_name));
            }
            let f = g.from_suffix | g.from_func_flags;
            if f != 0 {
                line.push_str(&format!("  => {}", g.implied));
            }
            if g.release_candidate && g.from_func_flags & KF_PARAM_RELEASE == 0 {
                line.push_str("  (release candidate)");
            }
            if let Some(d) = g.declared {
                line.push_str(&format!("  declared {}", describe_arg_flags(d)));
            }
            for n in &g.notes {
                line.push_str(&format!("  ! {n}"));
            }
            o.push_str(&line);
            o.push('\n');
        }
        for n in &k.notes {
            o.push_str(&format!("    ! {n}\n"));
        }
    }
    let s = &a.summary;
    o.push_str(&format!(
        "\nsummary: {} object(s), {} kfunc set(s) ({} extended), {} entries, {} distinct kfuncs\n",
        s.objects, s.kfunc_sets, s.extended_sets, s.entries, s.kfuncs
    ));
    o.push_str(&format!(
        "  {} kfuncs use parameter-name suffixes; {} need per-argument flags after \
         conversion; {} have no function flag\n",
        s.kfuncs_with_suffixes, s.kfuncs_needing_arg_flags, s.no_func_flags
    ));
    o.push_str(&format!(
        "  {} kfuncs need a parameter renamed: dropping the suffixes would give two \
         parameters the same name\n",
        s.name_collisions
    ));
    o.push_str("  suffixes (parameters):");
    for (k, v) in &s.suffixes {
        o.push_str(&format!(" {k}={v}"));
    }
    o.push_str("\n  function flags (kfuncs):");
    for (k, v) in &s.func_flags {
        o.push_str(&format!(" {k}={v}"));
    }
    o.push_str(&format!(
        "\n  KF_RELEASE: {} with one candidate argument, {} ambiguous, {} without one; \
         KF_ACQUIRE: {} with an acquire-source argument; {} kfunc(s) with more than \
         {MAX_ARGS} parameters\n",
        s.release_single, s.release_ambiguous, s.release_none, s.acquire_source, s.too_many_args
    ));
    o
}

const USAGE: &str = "usage: btfids-post audit [--json] VMLINUX [MODULES...]";

/// `btfids-post audit` with an option it does not know: the message and status (2).
pub fn unknown_option(arg: &str) -> ExitCode {
    eprintln!("btfids-post: audit: unknown option {arg}\n{USAGE}");
    ExitCode::from(2)
}

/// `btfids-post audit [--json] VMLINUX [MODULES...]` (arguments parsed by the command
/// line's parser; `help`: `-h`/`--help` was given).
pub fn main(json: bool, help: bool, files: &[PathBuf]) -> ExitCode {
    if help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let Some((vmlinux, modules)) = files.split_first() else {
        eprintln!("btfids-post: audit: no VMLINUX given\n{USAGE}");
        return ExitCode::from(2);
    };
    match audit(vmlinux, modules) {
        Ok(a) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&a).expect("serializable")
                );
            } else {
                print!("{}", text(&a));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("btfids-post: audit: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, ptr: bool, obj: bool) -> (String, bool, bool) {
        (name.to_string(), ptr, obj)
    }

    #[test]
    fn every_suffix_of_the_table_is_recognised_and_stripped() {
        for f in ARG_FLAGS {
            let Some(s) = f.suffix else { continue };
            let n = format!("x{s}");
            assert_eq!(suffix_of(&n), Some((s, f.value)), "{n}");
            assert_eq!(plain(&n), "x");
            // The name must be longer than the suffix, as in btf_param_match_suffix().
            assert_eq!(suffix_of(s), None, "{s}");
        }
        assert_eq!(suffix_of("len__szk").map(|x| x.0), Some("__szk"));
        assert_eq!(suffix_of("plain"), None);
        // 7.3's compound arena suffix is one suffix: a nullable arena pointer.
        assert_eq!(
            suffix_of("val__arena__nullable"),
            Some(("__arena__nullable", KF_PARAM_ARENA | KF_PARAM_NULLABLE))
        );
        assert_eq!(plain("val__arena__nullable"), "val");
        assert_eq!(
            suffix_of("__arena__nullable").map(|x| x.0),
            Some("__nullable")
        );
    }

    #[test]
    fn size_suffix_names_the_previous_argument() {
        let (a, notes) = implied_flags(
            0,
            &[p("buf__nullable", true, false), p("len__sz", false, false)],
        );
        assert!(notes.is_empty());
        assert_eq!(a[0].0, KF_PARAM_NULLABLE);
        assert_eq!(a[1].0, KF_PARAM_SIZE | kf_arg_mem(0));
        let (a, _) = implied_flags(0, &[p("len__szk", false, false)]);
        assert_eq!(a[0].0, KF_PARAM_CONST_SIZE);
        assert!(!a[0].3.is_empty(), "a size suffix on arg0 must be reported");
    }

    #[test]
    fn size_suffix_past_the_mem_field_is_a_note_not_a_panic() {
        // A size at argument 9 describes argument 8, which KF_PARAM_MEM cannot hold.
        let mut params: Vec<_> = (0..9).map(|i| p(&format!("a{i}"), true, false)).collect();
        params.push(p("len__sz", false, false));
        let (a, _) = implied_flags(0, &params);
        assert_eq!(a[9].0, KF_PARAM_SIZE);
        assert!(
            a[9].3
                .iter()
                .any(|n| n.contains("does not fit KF_PARAM_MEM")),
            "{:?}",
            a[9].3
        );
    }

    #[test]
    fn release_with_one_candidate_gets_the_flag() {
        let (a, notes) = implied_flags(
            KF_RELEASE,
            &[
                p("obj", true, true),
                p("data", true, false),
                p("data__sz", false, false),
            ],
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(a[0].1, KF_PARAM_RELEASE);
        assert!(a[0].2);
        // A memory argument (followed by its size) is not a release candidate.
        assert!(!a[1].2);
        assert_eq!(a[1].1, 0);
    }

    #[test]
    fn release_with_two_candidates_is_ambiguous() {
        let (a, notes) = implied_flags(KF_RELEASE, &[p("dst", true, true), p("src", true, true)]);
        assert!(a[0].2 && a[1].2);
        assert_eq!(a[0].1 & KF_PARAM_RELEASE, 0);
        assert_eq!(notes.len(), 1);
        let (a, _) = implied_flags(
            KF_RELEASE,
            &[p("p__alloc", true, false), p("meta__ign", true, false)],
        );
        assert_eq!(a[0].1, KF_PARAM_RELEASE, "__ign args are not candidates");
    }

    #[test]
    fn rcu_applies_to_object_pointers_only() {
        let params = [
            p("task", true, true),
            p("hint__nullable", true, true),
            p("n", false, false),
            p("buf", true, false),
        ];
        let (a, _) = implied_flags(KF_RCU, &params);
        assert_eq!(a[0].1, KF_PARAM_RCU);
        assert_eq!(a[1].0 | a[1].1, KF_PARAM_NULLABLE | KF_PARAM_RCU);
        assert_eq!(a[2].1, 0);
        assert_eq!(a[3].1, 0);
        let (a, _) = implied_flags(0, &params);
        assert!(a.iter().all(|x| x.1 == 0));
    }
}
