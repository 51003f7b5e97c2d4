//! Meaning of `#[kfunc(...)]`: resolve every flag against the function's signature and
//! check every rule, collecting all errors so the user sees them at once.

use crate::grammar::{self, ArgKind};
use crate::parse::{ArgItem, FlagItem};
use crate::types::{self, CType, Pointee};
use kfunc_layout::{kf_arg_mem, ARG_FLAGS, FUNC_FLAGS, MAX_ARGS};
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, Pat, ReturnType};

/// Accumulates errors; combined into one `syn::Error` at the end.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Add an error at `span`.
    pub(crate) fn push(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.add(syn::Error::new(span, msg));
    }
    /// Add an existing error.
    pub(crate) fn add(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    /// `Err` with every error, or `Ok`.
    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// One kfunc parameter.
#[derive(Debug, Clone)]
pub(crate) struct Param {
    /// Its name (written into the record).
    pub name: Ident,
    /// Its C type, `None` if the type was refused (an error was reported).
    pub c: Option<CType>,
}

/// A validated `#[kfunc]`.
#[derive(Debug, Clone)]
pub(crate) struct Kfunc {
    /// The function's name (= its symbol).
    pub name: Ident,
    /// `KF_*` function flags.
    pub func_flags: u32,
    /// `KF_PARAM_*` per argument.
    pub arg_flags: [u32; MAX_ARGS],
    /// Parameters.
    pub params: Vec<Param>,
    /// Return type.
    pub ret: CType,
}

/// Where each flag was written, for conflict messages.
#[derive(Default)]
struct Seen {
    func: Vec<Option<Span>>,
    arg: Vec<Vec<Option<Span>>>,
    /// Order in which per-argument flags were written (to blame the later of two).
    order: Vec<Vec<usize>>,
    next: usize,
    /// `size`/`const_size` on argument `a`: (memory argument, span of the flag).
    mem_of: Vec<Option<(usize, Span)>>,
}

fn parse_arg_n(s: &str) -> Option<usize> {
    let digits = s.strip_prefix("arg")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn func_index(kw: &str) -> usize {
    FUNC_FLAGS
        .iter()
        .position(|f| f.keyword == kw)
        .expect("keyword from the table")
}

/// Check the signature and the flags; every error is reported.
pub(crate) fn validate(flags: &[FlagItem], item: &ItemFn) -> Result<Kfunc, syn::Error> {
    let mut errs = Errors::default();
    let sig = &item.sig;
    let fname = sig.ident.to_string();

    // ---- signature ----
    if let Some(a) = &sig.asyncness {
        errs.push(
            a.span(),
            "a kfunc is called synchronously by BPF programs: remove `async`",
        );
    }
    for gp in &sig.generics.params {
        match gp {
            syn::GenericParam::Lifetime(l) => errs.push(
                l.span(),
                "lifetime parameters have no meaning across the C ABI of a kfunc: remove them \
                 and use raw pointers",
            ),
            syn::GenericParam::Type(_) | syn::GenericParam::Const(_) => errs.push(
                gp.span(),
                "a kfunc is one C symbol with one BTF prototype, it cannot be generic: write \
                 one kfunc per concrete type",
            ),
        }
    }
    if let Some(w) = &sig.generics.where_clause {
        errs.push(
            w.span(),
            "a kfunc cannot have a `where` clause: it is not generic",
        );
    }
    if let Some(abi) = &sig.abi {
        if let Some(name) = &abi.name {
            if name.value() != "C" {
                errs.push(
                    name.span(),
                    format!(
                        "kfuncs use the C ABI: write `extern \"C\"` (or leave the ABI out), \
                         not `extern \"{}\"`",
                        name.value()
                    ),
                );
            }
        }
    }
    if let Some(v) = &sig.variadic {
        errs.push(
            v.span(),
            "C-variadic kfuncs cannot be called from BPF: take fixed parameters",
        );
    }
    for a in &item.attrs {
        let p = a.path();
        let clash = [
            "no_mangle",
            "export_name",
            "inline",
            "link_section",
            "unsafe",
        ]
        .iter()
        .find(|n| p.is_ident(n));
        if let Some(n) = clash {
            errs.push(
                p.span(),
                format!(
                    "remove `#[{n}]`: #[kfunc] exports the function as `#[no_mangle] \
                     #[inline(never)] extern \"C\"` itself"
                ),
            );
        }
    }

    // Suffixes the 7.3 verifier reads, and the 6.12 ones it no longer does (`__opt`).
    let suffixes: Vec<(&str, &str, bool)> = ARG_FLAGS
        .iter()
        .filter_map(|f| f.suffix.map(|s| (s, f.keyword, false)))
        .chain(grammar::RETIRED_SUFFIXES.iter().map(|&(s, k)| (s, k, true)))
        .collect();
    let mut params = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => errs.push(
                r.span(),
                "a kfunc is a free function called from BPF: remove `self` (take a raw pointer \
                 to the object instead)",
            ),
            FnArg::Typed(pt) => {
                let name = match &*pt.pat {
                    Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                        Some(pi.ident.clone())
                    }
                    other => {
                        errs.push(
                            other.span(),
                            "a kfunc parameter needs a plain name (it becomes the parameter \
                             name in BTF): write `name: Type` and destructure in the body",
                        );
                        None
                    }
                };
                if i == MAX_ARGS {
                    errs.push(
                        pt.span(),
                        format!(
                            "a kfunc with per-argument flags takes at most {MAX_ARGS} \
                             arguments (the extended set8 entry has one flag word for each \
                             of R1-R{MAX_ARGS}; the arguments 7.3 passes on the stack have \
                             none); `{fname}` has {}: pass a pointer to a struct instead",
                            sig.inputs.len()
                        ),
                    );
                }
                let c = match types::analyse(&pt.ty, false) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        errs.add(e);
                        None
                    }
                };
                if let Some(name) = name {
                    let n = name.to_string();
                    if let Some(msg) = suffix_error(&n, &suffixes) {
                        errs.push(name.span(), msg);
                    }
                    params.push(Param { name, c });
                } else {
                    params.push(Param {
                        name: Ident::new(&format!("arg{i}"), pt.span()),
                        c,
                    });
                }
            }
        }
    }
    let ret = match &sig.output {
        ReturnType::Default => Some(CType::Void),
        ReturnType::Type(_, t) => match types::analyse(t, true) {
            Ok(c) => Some(c),
            Err(e) => {
                errs.add(e);
                None
            }
        },
    };
    let ret_span = match &sig.output {
        ReturnType::Default => sig.ident.span(),
        ReturnType::Type(_, t) => t.span(),
    };

    // ---- flags ----
    let nparams = params.len().min(MAX_ARGS);
    let mut seen = Seen {
        func: vec![None; FUNC_FLAGS.len()],
        arg: vec![vec![None; ARG_FLAGS.len()]; nparams],
        order: vec![vec![0; ARG_FLAGS.len()]; nparams],
        next: 0,
        mem_of: vec![None; nparams],
    };
    let mut func_flags = 0u32;
    let mut arg_flags = [0u32; MAX_ARGS];
    let mut bare_acquire: Option<Span> = None;
    let mut acquire_arg: Option<(usize, Span)> = None;
    let mut release_arg: Option<(usize, Span)> = None;

    let resolve = |errs: &mut Errors, id: &Ident| -> Option<usize> {
        let s = id.to_string();
        if let Some(i) = params.iter().take(nparams).position(|p| p.name == s) {
            return Some(i);
        }
        if let Some(n) = parse_arg_n(&s) {
            if n < nparams {
                return Some(n);
            }
            errs.push(
                id.span(),
                if nparams == 0 {
                    format!("`{s}` is out of range: `{fname}` has no parameters")
                } else {
                    format!(
                        "`{s}` is out of range: `{fname}` has {nparams} parameter{} \
                         (`arg0`..=`arg{}`)",
                        if nparams == 1 { "" } else { "s" },
                        nparams - 1
                    )
                },
            );
            return None;
        }
        let names: Vec<String> = params.iter().map(|p| p.name.to_string()).collect();
        let hint = match grammar::closest(&s, names.iter().map(String::as_str)) {
            Some(c) => format!("did you mean `{c}`? "),
            None => String::new(),
        };
        let list = if names.is_empty() {
            format!("`{fname}` has no parameters")
        } else {
            format!(
                "write a parameter name ({}) or `argN`",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        errs.push(
            id.span(),
            format!("`{s}` is not a parameter of `{fname}`; {hint}{list}"),
        );
        None
    };

    for item in flags {
        let kw = item.name.to_string();
        let span = item.name.span();
        let args_text = item.args.as_ref().map(|(_, list)| {
            list.iter()
                .map(|a| match a {
                    ArgItem::Ref(id) => id.to_string(),
                    ArgItem::Of { of, target } => format!("{of} = {target}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        });
        let written = match &args_text {
            Some(t) => format!("{kw}({t})"),
            None => kw.clone(),
        };
        let args_text = args_text.filter(|t| !t.is_empty());
        if let Some(msg) = grammar::retired(&kw, &written, args_text.as_deref()) {
            errs.push(span, msg);
            continue;
        }
        match &item.args {
            None => {
                if grammar::bare_keywords().any(|k| k == kw) {
                    let idx = func_index(&kw);
                    if seen.func[idx].is_some() {
                        errs.push(span, format!("duplicate flag `{kw}`: remove this one"));
                        continue;
                    }
                    if kw == "acquire" {
                        if let Some((a, _)) = acquire_arg {
                            errs.push(
                                span,
                                format!(
                                    "`acquire` is given twice: `acquire({})` already makes \
                                     `{fname}` an acquire kfunc; keep only one",
                                    params[a].name
                                ),
                            );
                            continue;
                        }
                        bare_acquire = Some(span);
                    }
                    seen.func[idx] = Some(span);
                    func_flags |= FUNC_FLAGS[idx].value;
                } else if grammar::FUNC_NEEDS_ARG.contains(&kw.as_str()) {
                    errs.push(
                        span,
                        format!(
                            "`{kw}` names the argument it applies to: write `{kw}(<parameter>)`, \
                             e.g. `{kw}(arg0)`"
                        ),
                    );
                } else if grammar::arg_flag(&kw).is_some() {
                    errs.push(
                        span,
                        format!(
                            "`{kw}` is a per-argument flag: write `{kw}(<parameter>)`, e.g. \
                             `{kw}({})`",
                            params.first().map_or("arg0".into(), |p| p.name.to_string())
                        ),
                    );
                } else {
                    unknown_flag(&mut errs, &item.name);
                }
            }
            Some((paren, list)) => {
                let Some(fdef) = grammar::arg_flag(&kw) else {
                    if grammar::bare_keywords().any(|k| k == kw) {
                        errs.push(
                            paren.span.join(),
                            format!(
                                "`{kw}` is a function flag and takes no arguments: write `{kw}`"
                            ),
                        );
                    } else {
                        unknown_flag(&mut errs, &item.name);
                    }
                    continue;
                };
                let fidx = grammar::arg_flag_index(&kw).expect("found above");
                let is_size = grammar::SIZE_KEYWORDS.contains(&kw.as_str());
                if list.is_empty() {
                    errs.push(
                        paren.span.join(),
                        if is_size {
                            format!(
                                "`{kw}()` names no argument: write `{kw}(<size>, of = <memory>)`"
                            )
                        } else {
                            format!("`{kw}()` names no argument: write `{kw}(<parameter>)`")
                        },
                    );
                    continue;
                }
                let mut refs = Vec::new();
                let mut of: Option<&Ident> = None;
                for a in list {
                    match a {
                        ArgItem::Ref(id) => refs.push(id),
                        ArgItem::Of { of: key, target } => {
                            if !is_size {
                                errs.push(
                                    key.span(),
                                    format!(
                                        "`{key} = ...` only belongs to `size(..)` and \
                                         `const_size(..)`; write `{kw}(<parameter>, ...)`"
                                    ),
                                );
                            } else if key != "of" {
                                errs.push(
                                    key.span(),
                                    format!(
                                        "unknown key `{key}`: write `{kw}(<size>, of = <memory>)`"
                                    ),
                                );
                            } else if of.is_some() {
                                errs.push(key.span(), "duplicate `of = ...`: remove this one");
                            } else {
                                of = Some(target);
                            }
                        }
                    }
                }
                if is_size {
                    if refs.len() > 1 {
                        errs.push(
                            refs[1].span(),
                            format!(
                                "`{kw}` describes one size argument: write one `{kw}(<size>, \
                                 of = <memory>)` per (memory, size) pair"
                            ),
                        );
                    }
                    if refs.is_empty() {
                        errs.push(
                            paren.span.join(),
                            format!("`{kw}` needs the size argument: write `{kw}(<size>, of = <memory>)`"),
                        );
                        continue;
                    }
                    if of.is_none() {
                        errs.push(
                            refs[0].span(),
                            format!(
                                "`{kw}` needs its memory argument: write `{kw}({}, of = \
                                 <pointer argument>)`",
                                refs[0]
                            ),
                        );
                    }
                }
                let mut done_here: Vec<usize> = Vec::new();
                for id in refs.iter().take(if is_size { 1 } else { usize::MAX }) {
                    let Some(a) = resolve(&mut errs, id) else {
                        continue;
                    };
                    let pname = params[a].name.to_string();
                    if done_here.contains(&a) || seen.arg[a][fidx].is_some() {
                        errs.push(
                            id.span(),
                            format!("`{kw}` is already set on `{pname}`: remove this one"),
                        );
                        continue;
                    }
                    done_here.push(a);
                    // Kind of parameter.
                    if let Some(c) = &params[a].c {
                        match (grammar::arg_kind(&kw), c.is_pointer()) {
                            (ArgKind::Pointer, false) => {
                                errs.push(
                                    id.span(),
                                    format!(
                                        "`{kw}` applies to pointer arguments, but `{pname}` is \
                                         {}: remove `{kw}({pname})`",
                                        c.describe()
                                    ),
                                );
                                continue;
                            }
                            (ArgKind::Scalar, true) => {
                                let hint = if is_size {
                                    format!(
                                        "put it on the length that follows the memory: \
                                         `{kw}(<length>, of = {pname})`"
                                    )
                                } else {
                                    format!("remove `{kw}({pname})`")
                                };
                                errs.push(
                                    id.span(),
                                    format!(
                                        "`{kw}` applies to scalar arguments, but `{pname}` is \
                                         {}: {hint}",
                                        c.describe()
                                    ),
                                );
                                continue;
                            }
                            _ => {}
                        }
                        if kw == "str" {
                            if let CType::Pointer { pointee, .. } = c {
                                let ok = match pointee {
                                    Pointee::Scalar(s) => {
                                        let last = types::tokens(&s.ty);
                                        let last = last.rsplit("::").next().unwrap_or("");
                                        types::STR_POINTEES.contains(&last)
                                    }
                                    _ => false,
                                };
                                if !ok {
                                    errs.push(
                                        id.span(),
                                        format!(
                                            "`str` needs a pointer to a C string \
                                             (`*const c_char`, `*const u8` or `*const i8`), but \
                                             `{pname}` points to `{}`",
                                            pointee.rust_name()
                                        ),
                                    );
                                    continue;
                                }
                            }
                        }
                        if kw == "iter" {
                            if let CType::Pointer { pointee, .. } = c {
                                let ok = matches!(pointee, Pointee::Kernel(n) | Pointee::Module(n, _)
                                    if n.starts_with("bpf_iter_") && n.len() > "bpf_iter_".len());
                                if !ok {
                                    errs.push(
                                        id.span(),
                                        format!(
                                            "`iter` needs a pointer to an iterator state struct \
                                             named `bpf_iter_<type>` (the verifier checks the \
                                             name), but `{pname}` points to `{}`",
                                            pointee.rust_name()
                                        ),
                                    );
                                    continue;
                                }
                            }
                        }
                        if kw == "irq_flag" {
                            if let CType::Pointer { pointee, .. } = c {
                                let ok = matches!(pointee, Pointee::Scalar(s)
                                    if grammar::IRQ_FLAG_POINTEES.contains(&s.c_name.as_str()));
                                if !ok {
                                    errs.push(
                                        id.span(),
                                        format!(
                                            "`irq_flag` needs a pointer to the `unsigned long` \
                                             stack slot the IRQ flags are saved in (`*mut \
                                             c_ulong` or `*mut u64`), but `{pname}` points to \
                                             `{}`",
                                            pointee.rust_name()
                                        ),
                                    );
                                    continue;
                                }
                            }
                        }
                        if kw == "nonown_allowed" {
                            if let CType::Pointer { pointee, .. } = c {
                                let ok = matches!(pointee, Pointee::Kernel(n)
                                    if n == grammar::NONOWN_POINTEE);
                                if !ok {
                                    errs.push(
                                        id.span(),
                                        format!(
                                            "`nonown_allowed` lets a list node argument be a \
                                             non-owning reference, and the verifier reads it \
                                             for `struct {0}` only: `{pname}` must be `*mut \
                                             bindings::{0}`, not a pointer to `{1}`",
                                            grammar::NONOWN_POINTEE,
                                            pointee.rust_name()
                                        ),
                                    );
                                    continue;
                                }
                            }
                        }
                    }
                    // Per-flag bookkeeping.
                    match kw.as_str() {
                        "release" => {
                            if let Some((r, _)) = release_arg {
                                errs.push(
                                    id.span(),
                                    format!(
                                        "only one argument can be released: `release({})` is \
                                         already given (the verifier releases one reference \
                                         per call)",
                                        params[r].name
                                    ),
                                );
                                continue;
                            }
                            release_arg = Some((a, id.span()));
                        }
                        "acquire" => {
                            if bare_acquire.is_some() {
                                errs.push(
                                    id.span(),
                                    format!(
                                        "`acquire` is given twice: bare `acquire` already makes \
                                         `{fname}` an acquire kfunc; keep only `acquire({pname})` \
                                         if the reference is taken on `{pname}`"
                                    ),
                                );
                                continue;
                            }
                            if let Some((r, _)) = acquire_arg {
                                errs.push(
                                    id.span(),
                                    format!(
                                        "a kfunc returns one reference: `acquire({})` is already \
                                         given",
                                        params[r].name
                                    ),
                                );
                                continue;
                            }
                            acquire_arg = Some((a, id.span()));
                        }
                        _ => {}
                    }
                    let mut bits = fdef.value;
                    if is_size {
                        if let Some(target) = of {
                            match resolve(&mut errs, target) {
                                Some(m) => {
                                    seen.mem_of[a] = Some((m, target.span()));
                                    bits |= kf_arg_mem(m as u32);
                                }
                                None => continue,
                            }
                        }
                    }
                    seen.arg[a][fidx] = Some(id.span());
                    seen.order[a][fidx] = seen.next;
                    seen.next += 1;
                    arg_flags[a] |= bits;
                    if let Some(f) = grammar::implied_func_flag(&kw) {
                        func_flags |= f.value;
                        let fi = func_index(f.keyword);
                        seen.func[fi].get_or_insert(id.span());
                    }
                }
            }
        }
    }

    // ---- cross-flag rules ----
    let pname = |a: usize| params[a].name.to_string();
    let idx = |kw: &str| grammar::arg_flag_index(kw).expect("keyword from the grammar tables");
    let has = |seen: &Seen, a: usize, kw: &str| seen.arg[a][idx(kw)];
    let ord = |seen: &Seen, a: usize, kw: &str| seen.order[a][idx(kw)];
    // (x, y, why): `x` and `y` on one argument contradict each other.
    let mut conflicts: Vec<(&str, &str, String)> = vec![
        (
            "release",
            "acquire",
            "an argument cannot be both released and the object the returned reference is \
             taken on"
                .into(),
        ),
        (
            "release",
            "rcu",
            "a released argument must hold a reference, which an RCU-protected pointer does \
             not (registration refuses it); remove `rcu`"
                .into(),
        ),
        (
            "size",
            "const_size",
            "a size is either checked (`size`) or a known constant (`const_size`); keep one".into(),
        ),
        (
            "constant",
            "const_size",
            "`const_size` already requires a known constant; remove `constant`".into(),
        ),
        (
            "size",
            "constant",
            "a size that must be a known constant is `const_size`; `constant` on a `size` \
             argument makes 7.3's verifier classify it as a plain constant and leave the \
             memory unchecked (registration refuses it)"
                .into(),
        ),
    ];
    for (k, why) in grammar::NEVER_NULL {
        conflicts.push((k, "nullable", (*why).into()));
    }
    for (i, x) in grammar::POINTER_KIND_KEYWORDS.iter().enumerate() {
        for y in &grammar::POINTER_KIND_KEYWORDS[i + 1..] {
            conflicts.push((
                x,
                y,
                format!(
                    "`{x}` makes it {} and `{y}` {}, but the verifier reads only the first \
                     that applies; keep one",
                    grammar::kind_noun(x),
                    grammar::kind_noun(y)
                ),
            ));
        }
    }
    for x in grammar::OBJECT_KEYWORDS {
        for y in grammar::POINTER_KIND_KEYWORDS {
            conflicts.push((
                x,
                y,
                format!(
                    "`{x}` is about a kernel object pointer (a struct the verifier tracks as \
                     trusted), but `{y}` makes the argument {}; keep one",
                    grammar::kind_noun(y)
                ),
            ));
        }
    }
    let rcu_args = seen.func[func_index("rcu_args")];
    for a in 0..nparams {
        let mut blamed = false;
        for (x, y, why) in &conflicts {
            if let (Some(sx), Some(sy)) = (has(&seen, a, x), has(&seen, a, y)) {
                let later = if ord(&seen, a, x) > ord(&seen, a, y) {
                    sx
                } else {
                    sy
                };
                errs.push(
                    later,
                    format!("`{x}` and `{y}` on `{}` conflict: {why}", pname(a)),
                );
                blamed = true;
            }
        }
        if let Some(si) = has(&seen, a, "ignore") {
            let others: Vec<&str> = ARG_FLAGS
                .iter()
                .enumerate()
                .filter(|(i, f)| f.keyword != "ignore" && seen.arg[a][*i].is_some())
                .map(|(_, f)| f.keyword)
                .collect();
            if !others.is_empty() {
                errs.push(
                    si,
                    format!(
                        "`ignore` means the verifier does not check `{}` at all, so `{}` on it \
                         would never be checked: remove one",
                        pname(a),
                        others.join("`, `")
                    ),
                );
                blamed = true;
            }
        }
        if let (Some(sr), Some(_)) = (has(&seen, a, "rcu"), rcu_args) {
            errs.push(
                sr,
                format!(
                    "`rcu_args` already lets every pointer argument of `{fname}` be \
                     RCU-protected; remove `rcu({0})` (or `rcu_args`, to relax `{0}` only)",
                    pname(a)
                ),
            );
        }
        // `rcu` relaxes the trust of a kernel object pointer; memory is not trusted at all.
        if let (Some(sr), false, Some(CType::Pointer { pointee, .. })) =
            (has(&seen, a, "rcu"), blamed, params[a].c.as_ref())
        {
            if matches!(pointee, Pointee::Void | Pointee::Scalar(_)) {
                errs.push(
                    sr,
                    format!(
                        "`rcu` lets a pointer to a kernel object be RCU-protected instead of \
                         trusted, but `{0}` points to `{1}`, which the verifier checks as \
                         memory, not for trust: remove `rcu({0})`",
                        pname(a),
                        pointee.rust_name()
                    ),
                );
            }
        }
        if let Some((m, mspan)) = seen.mem_of[a] {
            let kw = if has(&seen, a, "size").is_some() {
                "size"
            } else {
                "const_size"
            };
            match params[m].c.as_ref() {
                Some(c) if !c.is_pointer() => errs.push(
                    mspan,
                    format!(
                        "`{kw}({}, of = {})`: the memory argument must be a pointer, but `{}` \
                         is {}",
                        pname(a),
                        pname(m),
                        pname(m),
                        c.describe()
                    ),
                ),
                _ => {
                    if m + 1 != a {
                        errs.push(
                            mspan,
                            format!(
                                "`{kw}({}, of = {})`: the 7.3 verifier checks (memory, size) \
                                 as adjacent pairs, so the size argument must directly follow \
                                 its memory argument: put `{}` right after `{}`",
                                pname(a),
                                pname(m),
                                pname(a),
                                pname(m)
                            ),
                        );
                    }
                }
            }
            if let Some(b) = (0..a).find(|&b| matches!(seen.mem_of[b], Some((mm, _)) if mm == m)) {
                errs.push(
                    mspan,
                    format!(
                        "`{}` already gives the size of `{}`; a memory argument has one size",
                        pname(b),
                        pname(m)
                    ),
                );
            }
            // The memory of a pair is memory: a flag making it something else wins in the
            // verifier (it classifies the pointer before it looks for a size after it).
            let other = grammar::POINTER_KIND_KEYWORDS
                .iter()
                .chain(grammar::OBJECT_KEYWORDS)
                .find(|k| has(&seen, m, k).is_some());
            if let Some(k) = other {
                errs.push(
                    mspan,
                    format!(
                        "`{kw}({0}, of = {1})` makes `{1}` memory the verifier checks against \
                         `{0}`, but `{k}({1})` makes `{1}` {2}; keep one",
                        pname(a),
                        pname(m),
                        grammar::kind_noun(k)
                    ),
                );
            }
        }
    }
    // One verifier-known constant per call.
    let mut constants: Vec<(usize, usize, &str, Span)> = Vec::new();
    for a in 0..nparams {
        for k in grammar::CONSTANT_KEYWORDS {
            if let Some(s) = has(&seen, a, k) {
                constants.push((ord(&seen, a, k), a, k, s));
            }
        }
    }
    constants.sort_by_key(|c| c.0);
    if let Some(&(_, a0, k0, _)) = constants.first() {
        if let Some(&(_, a1, k1, s1)) = constants.iter().find(|c| c.1 != a0) {
            errs.push(
                s1,
                format!(
                    "`{k0}({})` and `{k1}({})` both need a verifier-known constant, but the \
                     7.3 verifier records one constant argument per call (\"only one constant \
                     argument permitted\"): keep one",
                    pname(a0),
                    pname(a1)
                ),
            );
        }
    }
    // Function flags.
    for (x, y, why) in grammar::FUNC_CONFLICTS {
        if let (Some(_), Some(sy)) = (seen.func[func_index(x)], seen.func[func_index(y)]) {
            errs.push(sy, format!("`{x}` and `{y}` conflict: {why}"));
        }
    }
    for &(k, i) in grammar::FUNC_POINTER_ARG {
        let Some(s) = seen.func[func_index(k)] else {
            continue;
        };
        let nth = ["first", "second", "third", "fourth", "fifth"][i];
        match params.get(i).and_then(|p| p.c.as_ref()) {
            None if params.len() <= i => errs.push(
                s,
                format!(
                    "`{k}` says the {nth} argument of `{fname}` is an arena pointer, but \
                     `{fname}` has {} parameter{}",
                    params.len(),
                    if params.len() == 1 { "" } else { "s" }
                ),
            ),
            Some(c) if !c.is_pointer() => errs.push(
                s,
                format!(
                    "`{k}` says the {nth} argument of `{fname}` is an arena pointer, but `{}` \
                     is {}: make it a raw pointer or remove `{k}`",
                    pname(i),
                    c.describe()
                ),
            ),
            _ => {}
        }
    }
    let (implicit_kw, implicit_types) = grammar::IMPLICIT_ARGS;
    if let Some(s) = seen.func[func_index(implicit_kw)] {
        let is_implicit = |p: &Param| {
            matches!(&p.c, Some(CType::Pointer { pointee: Pointee::Kernel(n), .. })
                if implicit_types.contains(&n.as_str()))
        };
        let names = implicit_types
            .iter()
            .map(|t| format!("`*mut bindings::{t}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        match params.iter().position(is_implicit) {
            None => errs.push(
                s,
                format!(
                    "`{implicit_kw}` says the verifier supplies the last arguments of \
                     `{fname}`, but none is an implicit argument: they are {names}, after \
                     the arguments BPF programs pass"
                ),
            ),
            Some(first) => {
                for p in params.iter().skip(first + 1) {
                    if !is_implicit(p) {
                        errs.push(
                            p.name.span(),
                            format!(
                                "implicit arguments come last (BPF programs see `{fname}` \
                                 without them): move `{}` before `{}`",
                                p.name, params[first].name
                            ),
                        );
                    }
                }
                for (p, spans) in params.iter().zip(&seen.arg).skip(first) {
                    if !is_implicit(p) {
                        continue;
                    }
                    for (f, sp) in ARG_FLAGS.iter().zip(spans) {
                        if let Some(sp) = sp {
                            errs.push(
                                *sp,
                                format!(
                                    "`{0}` is an implicit argument the verifier supplies, it \
                                     checks no flag on it: remove `{1}({0})`",
                                    p.name, f.keyword
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
    if let Some(ret) = &ret {
        let ret_ptr = ret.is_pointer();
        for k in grammar::FUNC_POINTER_RET {
            let Some(s) = seen.func[func_index(k)] else {
                continue;
            };
            if !ret_ptr {
                let says = match *k {
                    "ret_null" => "the returned pointer may be NULL".to_string(),
                    _ => format!("`{fname}` returns an arena pointer"),
                };
                errs.push(
                    s,
                    format!(
                        "`{k}` says {says}, but `{fname}` returns {}: return a raw pointer or \
                         remove `{k}`",
                        ret.describe()
                    ),
                );
            }
        }
        let acq_span = bare_acquire.or(acquire_arg.map(|x| x.1));
        if let Some(s) = acq_span {
            if !ret_ptr {
                errs.push(
                    s,
                    format!(
                        "`acquire` says `{fname}` returns a new reference, but it returns {}: \
                         return a raw pointer to the referenced object or remove `acquire`",
                        ret.describe()
                    ),
                );
            }
        }
        if let (Some((a, s)), CType::Pointer { pointee: rp, .. }) = (acquire_arg, ret) {
            if let Some(CType::Pointer { pointee: ap, .. }) = &params[a].c {
                if ap.key() != rp.key() {
                    errs.push(
                        s,
                        format!(
                            "`acquire({0})`: the returned reference is taken on the object \
                             `{0}` points to, so `{0}` must point to the returned type `{1}`, \
                             not `{2}`",
                            pname(a),
                            rp.rust_name(),
                            ap.rust_name()
                        ),
                    );
                }
            }
        }
    }
    // Iterators.
    let iters: Vec<(&str, Span)> = grammar::ITER_FUNC_KEYWORDS
        .iter()
        .filter_map(|k| seen.func[func_index(k)].map(|s| (*k, s)))
        .collect();
    if iters.len() > 1 {
        errs.push(
            iters[1].1,
            format!(
                "`{}` and `{}` cannot be combined: an iterator kfunc is exactly one of \
                 constructor (`iter_new`), `iter_next` or destructor (`iter_destroy`)",
                iters[0].0, iters[1].0
            ),
        );
    } else if let Some(&(ik, ispan)) = iters.first() {
        let iter_idx = grammar::arg_flag_index("iter").unwrap();
        if nparams == 0 || seen.arg[0][iter_idx].is_none() {
            errs.push(
                ispan,
                format!(
                    "`{ik}` needs `iter(arg0)`: the first argument of an iterator kfunc is the \
                     iterator state (`*mut bpf_iter_<type>`)"
                ),
            );
        } else if let Some(CType::Pointer {
            pointee: Pointee::Kernel(n) | Pointee::Module(n, _),
            ..
        }) = &params[0].c
        {
            let sfx = ik.trim_start_matches("iter_");
            let expect = format!("{n}_{sfx}");
            if fname != expect {
                errs.push(
                    sig.ident.span(),
                    format!(
                        "an `{ik}` kfunc on `{n}` must be named `{expect}` (the verifier checks \
                         `bpf_iter_<type>_{sfx}`): rename `{fname}`"
                    ),
                );
            }
        }
        if ik != "iter_new" && params.len() != 1 {
            errs.push(
                ispan,
                format!(
                    "an `{ik}` kfunc takes only the iterator state: remove the other parameters"
                ),
            );
        }
        match (ik, &ret) {
            ("iter_next", Some(r)) if !r.is_pointer() => errs.push(
                ret_span,
                "an `iter_next` kfunc returns a pointer to the next element (NULL at the end)",
            ),
            ("iter_destroy", Some(r)) if !matches!(r, CType::Void) => errs.push(
                ret_span,
                "an `iter_destroy` kfunc returns nothing: remove the return type",
            ),
            _ => {}
        }
    }

    errs.finish()?;
    Ok(Kfunc {
        name: sig.ident.clone(),
        func_flags,
        arg_flags,
        params,
        ret: ret.expect("no error means the return type was analysed"),
    })
}

/// The error for a parameter name ending in argument-name suffixes (`len__sz`,
/// `p__arena__nullable`, the retired `buf__opt`), or `None`.
fn suffix_error(name: &str, suffixes: &[(&str, &str, bool)]) -> Option<String> {
    let mut base = name;
    let mut found: Vec<(&str, &str, bool)> = Vec::new();
    while let Some(&(sfx, kw, retired)) = suffixes
        .iter()
        .find(|(s, _, _)| base.len() > s.len() && base.ends_with(s))
    {
        found.push((sfx, kw, retired));
        base = &base[..base.len() - sfx.len()];
    }
    if found.is_empty() {
        return None;
    }
    found.reverse();
    let sfxs: String = found.iter().map(|(s, _, _)| *s).collect();
    let flags: Vec<String> = found
        .iter()
        .map(|(_, kw, _)| {
            if grammar::SIZE_KEYWORDS.contains(kw) {
                format!("`{kw}({base}, of = <memory>)`")
            } else {
                format!("`{kw}({base})`")
            }
        })
        .collect();
    let notes: Vec<String> = found
        .iter()
        .filter(|(_, _, retired)| *retired)
        .map(|(s, kw, _)| {
            let now = grammar::arg_flag(kw).and_then(|f| f.suffix).unwrap_or(kw);
            format!(" (`{s}` was replaced by `{now}` in Linux 7.3)")
        })
        .collect();
    let many = found.len() > 1;
    Some(format!(
        "parameter `{name}` ends in the argument-name suffix{} `{sfxs}`{}: with #[kfunc] write \
         the flag{} {} and drop the suffix{}",
        if many { "es" } else { "" },
        notes.concat(),
        if many { "s" } else { "" },
        flags.join(", "),
        if many { "es" } else { "" },
    ))
}

fn unknown_flag(errs: &mut Errors, id: &Ident) {
    let s = id.to_string();
    let all = grammar::all_keywords();
    let msg = match grammar::closest(&s, all.iter().copied()) {
        Some(c) => format!("unknown kfunc flag `{s}`: did you mean `{c}`?"),
        None => format!(
            "unknown kfunc flag `{s}`; the flags are: {}",
            all.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    errs.push(id.span(), msg);
}
