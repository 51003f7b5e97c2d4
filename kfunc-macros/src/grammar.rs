//! The keywords of `#[kfunc(...)]`, derived from the `kfunc_layout` tables.
//!
//! Nothing here restates a bit value: every keyword and value comes from
//! [`kfunc_layout::FUNC_FLAGS`] and [`kfunc_layout::ARG_FLAGS`]. What this module adds is
//! the knowledge the tables do not carry: which kind of parameter a per-argument flag
//! applies to, which flags exclude each other, which function flags need an argument, and
//! the keywords Linux 7.3 retired (with what to write instead).

use kfunc_layout::{FlagDef, ARG_FLAGS, FUNC_FLAGS};

/// The kind of parameter a per-argument flag applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgKind {
    /// Only raw pointers.
    Pointer,
    /// Only scalars (integers, `bool`, integer typedefs of `bindings`).
    Scalar,
    /// Either.
    Any,
}

/// The parameter kind each per-argument keyword applies to.
///
/// A test checks that every keyword of [`ARG_FLAGS`] has an entry, so a new flag in the
/// layout crate cannot be forgotten here.
pub(crate) const ARG_KINDS: &[(&str, ArgKind)] = &[
    ("release", ArgKind::Pointer),
    ("nullable", ArgKind::Pointer),
    ("rcu", ArgKind::Pointer),
    ("acquire", ArgKind::Pointer),
    ("constant", ArgKind::Scalar),
    ("ignore", ArgKind::Any),
    ("uninit", ArgKind::Pointer),
    ("alloc", ArgKind::Pointer),
    ("refcounted_kptr", ArgKind::Pointer),
    ("str", ArgKind::Pointer),
    ("map", ArgKind::Pointer),
    ("const_map", ArgKind::Pointer),
    ("iter", ArgKind::Pointer),
    ("size", ArgKind::Scalar),
    ("const_size", ArgKind::Scalar),
    ("irq_flag", ArgKind::Pointer),
    ("nonown_allowed", ArgKind::Pointer),
    ("arena", ArgKind::Pointer),
];

/// Function flags that cannot be written bare: the flag is implied by a per-argument
/// flag of the same keyword (`release(a)` sets `KF_RELEASE`).
pub(crate) const FUNC_NEEDS_ARG: &[&str] = &["release"];

/// Per-argument keywords that take `of = m` (a size argument and its memory argument).
pub(crate) const SIZE_KEYWORDS: &[&str] = &["size", "const_size"];

/// Per-argument keywords whose argument the verifier requires to be a known constant: the
/// 7.3 verifier records one constant per call (`process_const_arg`, "only one constant
/// argument permitted"), so at most one argument of a kfunc may have one of them.
pub(crate) const CONSTANT_KEYWORDS: &[&str] = &["constant", "const_size"];

/// Per-argument keywords that decide what a pointer argument is to the verifier (7.3
/// `get_kfunc_arg_type()` takes the first that applies, in this order, before it looks for a
/// size argument after it): at most one per argument, and none on the memory argument of a
/// `size`/`const_size` pair.
pub(crate) const POINTER_KIND_KEYWORDS: &[&str] = &[
    "alloc",
    "refcounted_kptr",
    "iter",
    "str",
    "const_map",
    "map",
    "irq_flag",
    "arena",
];

/// What a per-argument keyword of [`POINTER_KIND_KEYWORDS`] or [`OBJECT_KEYWORDS`] makes
/// the argument, for messages.
pub(crate) fn kind_noun(kw: &str) -> &'static str {
    match kw {
        "alloc" => "an object from `bpf_obj_new`",
        "refcounted_kptr" => "a refcounted local kptr",
        "iter" => "an iterator state",
        "str" => "a constant string",
        "const_map" | "map" => "a BPF map",
        "irq_flag" => "an IRQ flag slot",
        "arena" => "an arena pointer",
        _ => "a kernel object",
    }
}

/// Per-argument keywords about a kernel object the verifier tracks as `PTR_TO_BTF_ID`
/// (trusted by default since 7.0): meaningless on an argument of another kind.
pub(crate) const OBJECT_KEYWORDS: &[&str] = &["rcu", "acquire"];

/// Per-argument keywords whose argument can never be NULL (what the kfunc releases or takes
/// its reference from, an iterator state or an IRQ flag slot on the program's stack), with
/// the reason: `nullable` on the same argument is a contradiction.
pub(crate) const NEVER_NULL: &[(&str, &str)] = &[
    (
        "release",
        "a released argument is the reference the kfunc drops, it must not be NULL",
    ),
    (
        "acquire",
        "the returned reference is taken on the object this argument points to, so it must \
         not be NULL (registration refuses an acquire source that is nullable)",
    ),
    (
        "iter",
        "an iterator state lives on the program's stack and is never NULL",
    ),
    (
        "irq_flag",
        "the IRQ flags are saved in a slot on the program's stack, which is never NULL",
    ),
];

/// Function flag pairs that contradict each other, with the reason.
pub(crate) const FUNC_CONFLICTS: &[(&str, &str, &str)] = &[(
    "sleepable",
    "spinlock_safe",
    "a kfunc that may sleep cannot be called while a `bpf_spin_lock` is held",
)];

/// Function flags naming an argument by position that must be a pointer (resolve_btfids of
/// 7.3 tags that argument `address_space(1)`), as (keyword, argument index).
pub(crate) const FUNC_POINTER_ARG: &[(&str, usize)] = &[("arena_arg1", 0), ("arena_arg2", 1)];

/// Function flags that need a pointer return value.
pub(crate) const FUNC_POINTER_RET: &[&str] = &["ret_null", "arena_ret"];

/// The function flag of implicit arguments, and the pointee types an implicit argument may
/// have (7.3 resolve_btfids `is_kf_implicit_arg()`): the verifier supplies them, BPF
/// programs see the kfunc without them.
pub(crate) const IMPLICIT_ARGS: (&str, &[&str]) =
    ("implicit_args", &["bpf_prog_aux", "btf_struct_meta"]);

/// The function keyword `iter_*` flags (exactly one of them per iterator kfunc).
pub(crate) const ITER_FUNC_KEYWORDS: &[&str] = &["iter_new", "iter_next", "iter_destroy"];

/// C names of the pointee an `irq_flag` argument may have: the verifier reads and writes
/// the 8-byte `unsigned long` slot it points to.
pub(crate) const IRQ_FLAG_POINTEES: &[&str] = &[
    "long unsigned int",
    "u64",
    "long long unsigned int",
    "size_t",
];

/// The pointee a `nonown_allowed` argument must have: 7.3 reads the flag only for
/// `struct bpf_list_node` arguments.
pub(crate) const NONOWN_POINTEE: &str = "bpf_list_node";

/// A keyword of 6.12 that Linux 7.x removed.
pub(crate) struct Retired {
    /// The keyword.
    pub keyword: &'static str,
    /// What to write instead; `{}` is replaced by the flag as written (`trusted(a, b)`),
    /// `{args}` by its argument list (`a, b`, or `<parameter>` when it has none).
    pub message: &'static str,
}

/// Keywords that were flags of this crate on 6.12 and are errors since the 7.3 rebase.
pub(crate) const RETIRED: &[Retired] = &[
    Retired {
        keyword: "trusted",
        message: "pointer arguments of kfuncs are trusted by default since Linux 7.0; remove \
                  `{}` (use `rcu({args})` to also accept RCU-protected pointers)",
    },
    Retired {
        keyword: "trusted_args",
        message: "`trusted_args` (`KF_TRUSTED_ARGS`) was removed in Linux 7.0: pointer \
                  arguments of kfuncs are trusted by default; remove `{}` (use `rcu_args` \
                  to also accept RCU-protected pointers)",
    },
    Retired {
        keyword: "optional",
        message: "`optional` was replaced by `nullable` in Linux 7.3 (the `__opt` suffix \
                  became `__nullable`): write `nullable({args})`",
    },
];

/// Argument-name suffixes of 6.12 that 7.3 no longer reads, with the keyword that replaced
/// them.
pub(crate) const RETIRED_SUFFIXES: &[(&str, &str)] = &[("__opt", "nullable")];

/// The retired-keyword error for `kw` written as `written` with argument list `args`.
pub(crate) fn retired(kw: &str, written: &str, args: Option<&str>) -> Option<String> {
    RETIRED.iter().find(|r| r.keyword == kw).map(|r| {
        r.message
            .replace("{args}", args.unwrap_or("<parameter>"))
            .replace("{}", written)
    })
}

/// The function flag keyword set when a per-argument flag of this keyword is used.
pub(crate) fn implied_func_flag(arg_keyword: &str) -> Option<&'static FlagDef> {
    match arg_keyword {
        "release" | "acquire" => func_flag(arg_keyword),
        _ => None,
    }
}

/// Look up a function flag by keyword.
pub(crate) fn func_flag(kw: &str) -> Option<&'static FlagDef> {
    FUNC_FLAGS.iter().find(|f| f.keyword == kw)
}

/// Look up a per-argument flag by keyword.
pub(crate) fn arg_flag(kw: &str) -> Option<&'static FlagDef> {
    ARG_FLAGS.iter().find(|f| f.keyword == kw)
}

/// Index of a per-argument flag in [`ARG_FLAGS`].
pub(crate) fn arg_flag_index(kw: &str) -> Option<usize> {
    ARG_FLAGS.iter().position(|f| f.keyword == kw)
}

/// The parameter kind a per-argument keyword applies to.
pub(crate) fn arg_kind(kw: &str) -> ArgKind {
    ARG_KINDS
        .iter()
        .find(|(k, _)| *k == kw)
        .map(|&(_, kind)| kind)
        .unwrap_or(ArgKind::Any)
}

/// Keywords usable bare, at function level.
pub(crate) fn bare_keywords() -> impl Iterator<Item = &'static str> {
    FUNC_FLAGS
        .iter()
        .map(|f| f.keyword)
        .filter(|k| !FUNC_NEEDS_ARG.contains(k))
}

/// Every keyword, for suggestions.
pub(crate) fn all_keywords() -> Vec<&'static str> {
    let mut v: Vec<&str> = bare_keywords()
        .chain(ARG_FLAGS.iter().map(|f| f.keyword))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Levenshtein distance, for "did you mean" suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|&(d, c)| {
            d <= (c.len().max(word.len()) / 3).max(2) || c.starts_with(word) || word.starts_with(c)
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_arg_flag_has_a_kind_and_no_stale_entry() {
        for f in ARG_FLAGS {
            assert!(
                ARG_KINDS.iter().any(|(k, _)| *k == f.keyword),
                "ARG_KINDS lacks `{}`",
                f.keyword
            );
        }
        for (k, _) in ARG_KINDS {
            assert!(arg_flag(k).is_some(), "ARG_KINDS has unknown `{k}`");
        }
        let func_kws = FUNC_NEEDS_ARG
            .iter()
            .chain(ITER_FUNC_KEYWORDS)
            .chain(FUNC_POINTER_RET)
            .chain(FUNC_POINTER_ARG.iter().map(|(k, _)| k))
            .chain(FUNC_CONFLICTS.iter().flat_map(|(a, b, _)| [a, b]))
            .chain([&IMPLICIT_ARGS.0]);
        for k in func_kws {
            assert!(func_flag(k).is_some(), "unknown function keyword `{k}`");
        }
        let arg_kws = SIZE_KEYWORDS
            .iter()
            .chain(CONSTANT_KEYWORDS)
            .chain(POINTER_KIND_KEYWORDS)
            .chain(OBJECT_KEYWORDS)
            .chain(NEVER_NULL.iter().map(|(k, _)| k))
            .chain(RETIRED_SUFFIXES.iter().map(|(_, k)| k));
        for k in arg_kws {
            assert!(arg_flag(k).is_some(), "unknown per-argument keyword `{k}`");
        }
    }

    #[test]
    fn retired_keywords_are_not_flags_any_more() {
        for r in RETIRED {
            assert!(
                func_flag(r.keyword).is_none() && arg_flag(r.keyword).is_none(),
                "`{}` is retired but still in a kfunc_layout table",
                r.keyword
            );
        }
        for (sfx, _) in RETIRED_SUFFIXES {
            assert!(
                !ARG_FLAGS.iter().any(|f| f.suffix == Some(*sfx)),
                "`{sfx}` is retired but still a suffix of kfunc_layout"
            );
        }
        assert_eq!(
            retired("trusted", "trusted(a, b)", Some("a, b")).unwrap(),
            "pointer arguments of kfuncs are trusted by default since Linux 7.0; remove \
             `trusted(a, b)` (use `rcu(a, b)` to also accept RCU-protected pointers)"
        );
        assert_eq!(
            retired("optional", "optional(buf)", Some("buf")).unwrap(),
            "`optional` was replaced by `nullable` in Linux 7.3 (the `__opt` suffix became \
             `__nullable`): write `nullable(buf)`"
        );
        assert!(retired("nullable", "nullable(a)", Some("a")).is_none());
    }

    #[test]
    fn suggestions() {
        let all = all_keywords();
        assert_eq!(closest("nulable", all.iter().copied()), Some("nullable"));
        assert_eq!(closest("sleepabel", all.iter().copied()), Some("sleepable"));
        assert_eq!(closest("fastcal", all.iter().copied()), Some("fastcall"));
        assert_eq!(
            closest("nonown_alowed", all.iter().copied()),
            Some("nonown_allowed")
        );
        assert_eq!(closest("zzzzzzzzzzzz", all.iter().copied()), None);
        assert!(!all.iter().any(|k| RETIRED.iter().any(|r| r.keyword == *k)));
        assert!(!bare_keywords().any(|k| k == "release"));
        assert!(bare_keywords().any(|k| k == "acquire"));
    }
}
