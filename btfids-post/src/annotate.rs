//! `btfids-post annotate`: a module's kfunc facts written into the C header bpftool
//! generates from its BTF.
//!
//! Since Linux 6.11, `bpftool btf dump file X.ko format c` ends the header with one
//! `extern ... __weak __ksym;` prototype per FUNC that carries a `bpf_kfunc` decl tag (the
//! tags resolve_btfids, or btfids-post, adds to the kfuncs of `BTF_SET8_KFUNCS` sets). It
//! prints nothing about arguments: its `dump_btf_kfuncs()` (`tools/bpf/bpftool/btf.c` of
//! 7.3) skips every decl tag whose `component_idx` is not -1, and libbpf's
//! `btf_dump__emit_type_decl()` prints a prototype from its FUNC_PROTO alone (parameter
//! types and names). The per-argument facts are in the module's extended set8, not in BTF.
//!
//! This module reads them from the module's sets (decoded through [`kfunc_layout`] by
//! [`crate::dump`]) and writes them into that header, in the words of `#[kfunc(...)]`:
//! each parameter with facts gets a comment after it, and each kfunc with function flags a
//! comment after its declaration:
//!
//! ```c
//! extern u32 bpf_sample_refcount(struct SampleObj *obj, struct SampleObj *hint /* nullable */) __weak __ksym;
//! extern u64 bpf_sample_sum(const u8 *data, u32 len /* size(of = data) */) __weak __ksym;
//! extern struct SampleObj *bpf_sample_get(struct SampleObj *obj /* acquire */) __weak __ksym; /* flags: acquire, ret_null */
//! ```
//!
//! [`annotate`] fails if a kfunc of the module's sets has no prototype in the header (its
//! FUNC has no `bpf_kfunc` decl tag, or the header is of another object). [`check`] reads an
//! annotated header back and lists every line whose annotations are not exactly those of
//! the module's sets (stale, edited, missing, or on a function that is not one of its
//! kfuncs).

use crate::dump::SetDump;
use kfunc_layout::{
    kf_arg_dynptr_of, kf_arg_mem_of, ArgFlag, FuncFlag, DYNPTR_TYPES, KF_PARAM_DYNPTR_MASK,
    KF_PARAM_DYNPTR_SHIFT, KF_PARAM_KNOWN_MASK, KF_PARAM_MEM_MASK, KF_PARAM_MEM_SHIFT,
};

/// What the module's sets say about one argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgFacts {
    /// Parameter name from BTF (empty if unknown).
    pub name: String,
    /// `KF_PARAM_*` flags.
    pub flags: u32,
}

/// What the module's sets say about one kfunc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KfuncFacts {
    /// The kfunc's name (its FUNC's).
    pub name: String,
    /// `KF_*` function flags.
    pub flags: u32,
    /// Per-argument facts, by argument index (empty for a legacy set).
    pub args: Vec<ArgFacts>,
}

/// Counts of an [`annotate`] or [`check`] run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Kfuncs in the module's sets.
    pub kfuncs: usize,
    /// Their prototypes found in the header (equal to `kfuncs` when the run succeeds).
    pub prototypes: usize,
    /// Parameters annotated with at least one fact.
    pub args: usize,
    /// Prototypes annotated with function flags.
    pub functions: usize,
}

/// The first line of the comment [`annotate`] puts at the top of the header.
pub const BANNER_FIRST: &str = "/* btfids-post annotate: ";

/// The kfuncs of every kfunc set of `sets` (a `btfids-post dump` of the module), one entry
/// per name. A kfunc in several sets must have the same facts in each; otherwise the
/// problem is returned.
pub fn facts(sets: &[SetDump]) -> Result<Vec<KfuncFacts>, Vec<String>> {
    let mut out: Vec<KfuncFacts> = Vec::new();
    let mut problems = Vec::new();
    for st in sets
        .iter()
        .filter(|s| s.layout.holds_kfuncs(s.header_flags))
    {
        for en in &st.entries {
            if en.name.is_empty() {
                problems.push(format!(
                    "set {}: entry with BTF id {} has no name (unresolved, or no BTF?)",
                    st.name, en.id
                ));
                continue;
            }
            let f = KfuncFacts {
                name: en.name.clone(),
                flags: en.flags.unwrap_or(0),
                args: en
                    .args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        debug_assert_eq!(a.index, i);
                        ArgFacts {
                            name: a.name.clone(),
                            flags: a.flags,
                        }
                    })
                    .collect(),
            };
            match out.iter().find(|o| o.name == f.name) {
                Some(o) if *o != f => problems.push(format!(
                    "{}: different facts in set {} than in an earlier set",
                    f.name, st.name
                )),
                Some(_) => {}
                None => out.push(f),
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// One argument's facts in the words of `#[kfunc(...)]`, comma-separated: `nullable`,
/// `size(of = data)`, `uninit, dynptr(SKB)`; empty without any. Bits no flag names are
/// printed in hex.
pub fn arg_text(flags: u32, args: &[ArgFacts]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for &f in ArgFlag::ALL {
        if flags & f.value() == 0 {
            continue;
        }
        parts.push(match f {
            ArgFlag::Size | ArgFlag::ConstSize => {
                let m = kf_arg_mem_of(flags) as usize;
                let of = args
                    .get(m)
                    .map(|a| a.name.as_str())
                    .filter(|n| !n.is_empty())
                    .map_or_else(|| format!("arg{m}"), str::to_string);
                format!("{}(of = {of})", f.keyword())
            }
            _ => f.keyword().to_string(),
        });
    }
    let mem_bits = flags & (KF_PARAM_MEM_MASK << KF_PARAM_MEM_SHIFT);
    if mem_bits != 0 && flags & (ArgFlag::Size.value() | ArgFlag::ConstSize.value()) == 0 {
        parts.push(format!("{mem_bits:#x}"));
    }
    if flags & (KF_PARAM_DYNPTR_MASK << KF_PARAM_DYNPTR_SHIFT) != 0 {
        let t = kf_arg_dynptr_of(flags) as usize;
        parts.push(match DYNPTR_TYPES.get(t - 1) {
            Some(n) => format!("dynptr({n})"),
            None => format!("dynptr({t})"),
        });
    }
    let rest = flags & !KF_PARAM_KNOWN_MASK;
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join(", ")
}

/// Function flags in the words of `#[kfunc(...)]`: `acquire, ret_null`; empty without any.
pub fn func_text(flags: u32) -> String {
    let mut parts: Vec<String> = FuncFlag::ALL
        .iter()
        .filter(|f| flags & f.value() != 0)
        .map(|f| f.keyword().to_string())
        .collect();
    let rest = flags & !kfunc_layout::KF_KNOWN_MASK;
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join(", ")
}

/// A prototype line of bpftool's kfunc block: `extern ... __ksym;` (possibly annotated).
fn is_prototype(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with("extern ") && line.contains("__ksym;")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Where the parameter list of `name` opens in `line` (the index of its `(`), if the line
/// declares `name`.
fn find_call(line: &str, name: &str) -> Option<usize> {
    let pat = format!("{name}(");
    let mut from = 0;
    while let Some(i) = line[from..].find(&pat) {
        let at = from + i;
        if !line[..at].ends_with(is_ident) {
            return Some(at + name.len());
        }
        from = at + pat.len();
    }
    None
}

/// The name a prototype line declares: the identifier right before the first `(` that
/// follows one without a space (bpftool prints `ret name(params)`; in a function-pointer
/// return type, `ret (*name(params))(...)`, the first `(` follows a space).
fn declared_name(line: &str) -> Option<&str> {
    let open = line
        .char_indices()
        .find(|&(i, c)| c == '(' && line[..i].ends_with(is_ident))?
        .0;
    let before = &line[..open];
    let start = before.rfind(|c: char| !is_ident(c)).map_or(0, |i| i + 1);
    Some(&before[start..])
}

/// Split a parameter list (the text between the parentheses) at its top-level commas.
fn split_params(list: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    let mut in_comment = false;
    let b = list.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if in_comment {
            if b[i..].starts_with(b"*/") {
                in_comment = false;
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            in_comment = true;
            i += 1;
        } else {
            match b[i] {
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth -= 1,
                b',' if depth == 0 => {
                    out.push(&list[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    out.push(&list[start..]);
    out
}

/// The index of the `)` closing the `(` at `open`.
fn matching_paren(line: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in line[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `line` without the comments [`annotate_line`] adds (the text bpftool printed).
pub fn strip_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(" /* ") {
        out.push_str(&rest[..i]);
        match rest[i..].find(" */") {
            Some(j) => rest = &rest[i + j + 3..],
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The name a parameter declares: its last identifier, unless it is a function pointer or
/// has no name (`void`, an unnamed parameter), where `None` is returned.
fn param_name(param: &str) -> Option<&str> {
    let p = param.trim();
    if p.contains('(') || p == "void" || p == "..." {
        return None;
    }
    let p = p.trim_end_matches(|c: char| c == ']' || c.is_ascii_digit() || c == '[');
    let start = p.rfind(|c: char| !is_ident(c)).map_or(0, |i| i + 1);
    let name = &p[start..];
    // A lone type (`u32`, `struct x *`) has no name; bpftool prints names for kfuncs.
    (start > 0 && !name.is_empty()).then_some(name)
}

/// The annotated form of one (stripped) prototype line of kfunc `k`; problems (a parameter
/// count or name that does not match the module's BTF) are pushed to `problems`.
fn annotate_line(
    line: &str,
    k: &KfuncFacts,
    stats: &mut Stats,
    problems: &mut Vec<String>,
) -> String {
    let Some(open) = find_call(line, &k.name) else {
        problems.push(format!("{}: not declared in `{line}`", k.name));
        return line.to_string();
    };
    let Some(close) = matching_paren(line, open) else {
        problems.push(format!("{}: unbalanced parentheses in `{line}`", k.name));
        return line.to_string();
    };
    let list = &line[open + 1..close];
    let params: Vec<&str> = if list.trim() == "void" || list.trim().is_empty() {
        Vec::new()
    } else {
        split_params(list)
    };
    for (i, a) in k.args.iter().enumerate() {
        match params.get(i) {
            None if a.flags != 0 => problems.push(format!(
                "{}: the set gives argument {i} ({}) flags but the prototype has {} parameter(s)",
                k.name,
                a.name,
                params.len()
            )),
            None => {}
            Some(p) => {
                if let Some(n) = param_name(p) {
                    if !a.name.is_empty() && n != a.name {
                        problems.push(format!(
                            "{}: parameter {i} is `{n}` in the header, `{}` in the module's BTF",
                            k.name, a.name
                        ));
                    }
                }
            }
        }
    }
    let mut out = String::with_capacity(line.len() + 64);
    out.push_str(&line[..=open]);
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(p);
        let text = k
            .args
            .get(i)
            .map(|a| arg_text(a.flags, &k.args))
            .unwrap_or_default();
        if !text.is_empty() {
            out.push_str(&format!(" /* {text} */"));
            stats.args += 1;
        }
    }
    if params.is_empty() {
        out.push_str(list);
    }
    out.push_str(&line[close..]);
    let ft = func_text(k.flags);
    if !ft.is_empty() {
        out.push_str(&format!(" /* flags: {ft} */"));
        stats.functions += 1;
    }
    out
}

/// The banner [`annotate`] puts first: what was added and from where.
fn banner(object: &str) -> String {
    format!(
        "{BANNER_FIRST}the kfunc prototypes of {object} below carry the module's\n \
         * per-argument facts (a comment after each parameter) and function flags (a comment\n \
         * after the declaration), read from its kfunc sets, in the words of #[kfunc(...)].\n \
         * bpftool prints neither. `btfids-post annotate --check` verifies them.\n \
         */\n"
    )
}

/// `header` without the banner, as bpftool printed it plus the annotations.
fn without_banner(header: &str) -> &str {
    match header.strip_prefix(BANNER_FIRST) {
        Some(rest) => rest.find("*/\n").map_or(header, |i| &rest[i + 3..]),
        None => header,
    }
}

/// The header bpftool printed, with the facts of `kfuncs` (the module's, see [`facts`])
/// written into their prototypes; `object` names the module in the banner. Fails, listing
/// every problem, if a kfunc has no prototype (or more than one) or a prototype's
/// parameters are not those of the module's BTF. Annotations already there are replaced.
pub fn annotate(
    header: &str,
    kfuncs: &[KfuncFacts],
    object: &str,
) -> Result<(String, Stats), Vec<String>> {
    let body = without_banner(header);
    let mut stats = Stats {
        kfuncs: kfuncs.len(),
        ..Stats::default()
    };
    let mut problems = Vec::new();
    let mut lines: Vec<String> = body.split_inclusive('\n').map(str::to_string).collect();
    for k in kfuncs {
        let found: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| is_prototype(l) && declared_name(&strip_line(l)) == Some(&*k.name))
            .map(|(i, _)| i)
            .collect();
        match found[..] {
            [i] => {
                stats.prototypes += 1;
                let (text, nl) = match lines[i].strip_suffix('\n') {
                    Some(t) => (t.to_string(), "\n"),
                    None => (lines[i].clone(), ""),
                };
                let new = annotate_line(&strip_line(&text), k, &mut stats, &mut problems);
                lines[i] = format!("{new}{nl}");
            }
            [] => problems.push(format!(
                "{}: no prototype in the header (bpftool prints a kfunc only if its FUNC has \
                 a `bpf_kfunc` decl tag)",
                k.name
            )),
            _ => problems.push(format!(
                "{}: {} prototypes in the header",
                k.name,
                found.len()
            )),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut out = banner(object);
    out.extend(lines);
    Ok((out, stats))
}

/// Every line of an annotated `header` whose annotations are not exactly those [`annotate`]
/// writes for `kfuncs`: a kfunc without its prototype, a fact missing, different or extra,
/// an annotation on a prototype that is not one of the module's kfuncs, a missing banner.
/// Empty: the header and the module's sets agree.
pub fn check(header: &str, kfuncs: &[KfuncFacts], object: &str) -> (Vec<String>, Stats) {
    let stripped: String = without_banner(header)
        .split_inclusive('\n')
        .map(|l| {
            if is_prototype(l) {
                let (t, nl) = l.strip_suffix('\n').map_or((l, ""), |t| (t, "\n"));
                format!("{}{nl}", strip_line(t))
            } else {
                l.to_string()
            }
        })
        .collect();
    let (want, stats) = match annotate(&stripped, kfuncs, object) {
        Ok(w) => w,
        Err(p) => return (p, Stats::default()),
    };
    let mut problems = Vec::new();
    if !header.starts_with(BANNER_FIRST) {
        problems.push("no `btfids-post annotate` banner: the header is not annotated".into());
    }
    let have: Vec<&str> = without_banner(header).lines().collect();
    let want_lines: Vec<&str> = without_banner(&want).lines().collect();
    for (h, w) in have.iter().zip(&want_lines) {
        if h != w {
            let plain = strip_line(h);
            let name = declared_name(&plain).unwrap_or("?");
            let kind = if kfuncs.iter().any(|k| k.name == name) {
                "the module's sets say"
            } else {
                "not a kfunc of the module's sets; bpftool printed"
            };
            problems.push(format!("{name}:\n    header: {h}\n    {kind}: {w}"));
        }
    }
    (problems, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kfunc_layout::*;

    fn arg(name: &str, flags: u32) -> ArgFacts {
        ArgFacts {
            name: name.into(),
            flags,
        }
    }

    fn sample() -> Vec<KfuncFacts> {
        vec![
            KfuncFacts {
                name: "bpf_get".into(),
                flags: KF_ACQUIRE | KF_RET_NULL,
                args: vec![arg("obj", KF_PARAM_ACQUIRE)],
            },
            KfuncFacts {
                name: "bpf_live".into(),
                flags: 0,
                args: vec![],
            },
            KfuncFacts {
                name: "bpf_ref".into(),
                flags: 0,
                args: vec![arg("obj", 0), arg("hint", KF_PARAM_NULLABLE)],
            },
            KfuncFacts {
                name: "bpf_sum".into(),
                flags: 0,
                args: vec![
                    arg("data", KF_PARAM_NULLABLE),
                    arg("len", KF_PARAM_SIZE | kf_arg_mem(0)),
                ],
            },
        ]
    }

    const RAW: &str = "#ifndef __VMLINUX_H__\n\
        struct S {\n\tlong: 64;\n};\n\
        /* BPF kfuncs */\n\
        #ifndef BPF_NO_KFUNC_PROTOTYPES\n\
        extern struct S *bpf_get(struct S *obj) __weak __ksym;\n\
        extern u64 bpf_live(void) __weak __ksym;\n\
        extern void bpf_other(struct S *p__nullable) __weak __ksym;\n\
        extern u32 bpf_ref(struct S *obj, struct S *hint) __weak __ksym;\n\
        extern u64 bpf_sum(const u8 *data, u32 len) __weak __ksym;\n\
        extern u64 bpf_sum_x(int (*cb)(int a, int b), u32 n) __weak __ksym;\n\
        #endif\n";

    #[test]
    fn annotates_parameters_and_functions_in_kfunc_words() {
        let (out, st) = annotate(RAW, &sample(), "m.ko").unwrap();
        assert!(out.starts_with(BANNER_FIRST));
        assert!(out.contains(
            "extern struct S *bpf_get(struct S *obj /* acquire */) __weak __ksym; \
             /* flags: acquire, ret_null */\n"
        ));
        assert!(out.contains("extern u64 bpf_live(void) __weak __ksym;\n"));
        assert!(out.contains("extern void bpf_other(struct S *p__nullable) __weak __ksym;\n"));
        assert!(out.contains(
            "extern u32 bpf_ref(struct S *obj, struct S *hint /* nullable */) __weak __ksym;\n"
        ));
        assert!(out.contains(
            "extern u64 bpf_sum(const u8 *data /* nullable */, u32 len /* size(of = data) */) \
             __weak __ksym;\n"
        ));
        assert_eq!(
            st,
            Stats {
                kfuncs: 4,
                prototypes: 4,
                args: 4,
                functions: 1
            }
        );
        // Idempotent, and its own output checks clean.
        assert_eq!(annotate(&out, &sample(), "m.ko").unwrap().0, out);
        assert_eq!(check(&out, &sample(), "m.ko").0, Vec::<String>::new());
    }

    #[test]
    fn check_finds_every_disagreement() {
        let (good, _) = annotate(RAW, &sample(), "m.ko").unwrap();
        let cases: &[(&str, &str, &str)] = &[
            // A fact removed, changed, added; function flags removed; an annotation on a
            // function that is not one of the module's kfuncs.
            ("hint /* nullable */", "hint", "bpf_ref"),
            ("hint /* nullable */", "hint /* release */", "bpf_ref"),
            (
                "struct S *obj, struct S *hint",
                "struct S *obj /* rcu */, struct S *hint",
                "bpf_ref",
            ),
            (" /* flags: acquire, ret_null */", "", "bpf_get"),
            ("p__nullable)", "p__nullable /* nullable */)", "bpf_other"),
            ("size(of = data)", "size(of = len)", "bpf_sum"),
        ];
        for (from, to, who) in cases {
            assert!(good.contains(from), "{from}");
            let bad = good.replacen(from, to, 1);
            let (p, _) = check(&bad, &sample(), "m.ko");
            assert_eq!(p.len(), 1, "{from} -> {to}: {p:?}");
            assert!(p[0].starts_with(&format!("{who}:")), "{p:?}");
        }
        // Not annotated at all: the banner and every annotated line.
        let (p, _) = check(RAW, &sample(), "m.ko");
        assert_eq!(p.len(), 1 + 3, "{p:?}");
        // Facts of the module changed after the header was made.
        let mut changed = sample();
        changed[2].args[1].flags = 0;
        let (p, _) = check(&good, &changed, "m.ko");
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("bpf_ref"), "{p:?}");
    }

    #[test]
    fn a_kfunc_without_prototype_or_with_other_parameters_fails() {
        let mut k = sample();
        k.push(KfuncFacts {
            name: "bpf_missing".into(),
            flags: 0,
            args: vec![],
        });
        let e = annotate(RAW, &k, "m.ko").unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("bpf_missing: no prototype"), "{e:?}");
        // A name that is only a prefix of a declared one (bpf_sum_x) is not found either.
        let mut k = sample();
        k[3].name = "bpf_su".into();
        assert!(annotate(RAW, &k, "m.ko").is_err());
        // Parameter names and counts must be those of the module's BTF.
        let mut k = sample();
        k[2].args[1].name = "other".into();
        let e = annotate(RAW, &k, "m.ko").unwrap_err();
        assert!(e[0].contains("`hint` in the header, `other`"), "{e:?}");
        let mut k = sample();
        k[1].args.push(arg("x", KF_PARAM_NULLABLE));
        let e = annotate(RAW, &k, "m.ko").unwrap_err();
        assert!(e[0].contains("prototype has 0 parameter(s)"), "{e:?}");
    }

    #[test]
    fn texts() {
        let a = [arg("buf", 0), arg("len", 0)];
        assert_eq!(arg_text(0, &a), "");
        assert_eq!(
            arg_text(KF_PARAM_CONST_SIZE | kf_arg_mem(0), &a),
            "const_size(of = buf)"
        );
        assert_eq!(
            arg_text(KF_PARAM_SIZE | kf_arg_mem(3), &a),
            "size(of = arg3)"
        );
        assert_eq!(
            arg_text(KF_PARAM_UNINIT | kf_arg_dynptr(3), &a),
            "uninit, dynptr(SKB)"
        );
        assert_eq!(
            arg_text(KF_PARAM_RCU | KF_PARAM_NULLABLE, &a),
            "nullable, rcu"
        );
        assert_eq!(arg_text(1 << 30, &a), "0x40000000");
        assert_eq!(func_text(KF_SLEEPABLE | KF_RELEASE), "release, sleepable");
        assert_eq!(func_text(0), "");
        assert_eq!(
            split_params("int (*cb)(int a, int b), u32 n"),
            ["int (*cb)(int a, int b)", " u32 n"]
        );
        assert_eq!(param_name(" const u8 *data"), Some("data"));
        assert_eq!(param_name("u32"), None);
        assert_eq!(param_name("int (*cb)(int)"), None);
        assert_eq!(
            declared_name("extern int (*bpf_f(int a))(void) __ksym;"),
            Some("bpf_f")
        );
        assert_eq!(
            strip_line("f(a /* x */, b /* y, z */) __ksym; /* flags: q */"),
            "f(a, b) __ksym;"
        );
    }
}
