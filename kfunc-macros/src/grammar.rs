// SPDX-License-Identifier: GPL-2.0

//! The knowledge about the `#[kfunc(...)]` flags that the flag tables of `layout` do not
//! carry.
//!
//! Nothing here restates a keyword or a bit value: the flags are the [`FuncFlag`] and
//! [`ArgFlag`] enums of `layout`, one variant per entry of its `FUNC_FLAGS` and `ARG_FLAGS`
//! tables. What this module adds is which kind of parameter a per-argument flag applies to,
//! which flags exclude each other, which function flags need an argument, and the keywords
//! Linux 7.3 retired (with what to write instead).

use super::layout::{ArgFlag, FuncFlag};
use super::symbol::{Symbol, OPTIONAL, TRUSTED, TRUSTED_ARGS};

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

/// The parameter kind a per-argument flag applies to (exhaustive: a flag added to
/// `ARG_FLAGS` does not compile until it is given a kind here).
pub(crate) const fn arg_kind(flag: ArgFlag) -> ArgKind {
    match flag {
        ArgFlag::Release
        | ArgFlag::Nullable
        | ArgFlag::Rcu
        | ArgFlag::Acquire
        | ArgFlag::Uninit
        | ArgFlag::Alloc
        | ArgFlag::RefcountedKptr
        | ArgFlag::Str
        | ArgFlag::Map
        | ArgFlag::ConstMap
        | ArgFlag::Iter
        | ArgFlag::IrqFlag
        | ArgFlag::NonownAllowed
        | ArgFlag::Arena => ArgKind::Pointer,
        ArgFlag::Constant | ArgFlag::Size | ArgFlag::ConstSize => ArgKind::Scalar,
        ArgFlag::Ignore => ArgKind::Any,
    }
}

/// Function flags that cannot be written bare: the flag is implied by the per-argument
/// flag of the same keyword (`release(a)` sets `KF_RELEASE`).
pub(crate) const fn needs_arg(flag: FuncFlag) -> bool {
    matches!(flag, FuncFlag::Release)
}

/// The function flag a per-argument flag also sets (the one of the same keyword).
pub(crate) const fn implied_func_flag(flag: ArgFlag) -> Option<FuncFlag> {
    match flag {
        ArgFlag::Release => Some(FuncFlag::Release),
        ArgFlag::Acquire => Some(FuncFlag::Acquire),
        _ => None,
    }
}

/// Per-argument flags that take `of = m` (a size argument and its memory argument).
pub(crate) const SIZE: &[ArgFlag] = &[ArgFlag::Size, ArgFlag::ConstSize];

/// Is `flag` one of [`SIZE`]?
pub(crate) fn is_size(flag: ArgFlag) -> bool {
    SIZE.contains(&flag)
}

/// Per-argument flags whose argument the verifier requires to be a known constant: the
/// 7.3 verifier records one constant per call (`process_const_arg`, "only one constant
/// argument permitted"), so at most one argument of a kfunc may have one of them.
pub(crate) const CONSTANT: &[ArgFlag] = &[ArgFlag::Constant, ArgFlag::ConstSize];

/// Per-argument flags that decide what a pointer argument is to the verifier (7.3
/// `get_kfunc_arg_type()` takes the first that applies, in this order, before it looks for a
/// size argument after it): at most one per argument, and none on the memory argument of a
/// `size`/`const_size` pair.
pub(crate) const POINTER_KIND: &[ArgFlag] = &[
    ArgFlag::Alloc,
    ArgFlag::RefcountedKptr,
    ArgFlag::Iter,
    ArgFlag::Str,
    ArgFlag::ConstMap,
    ArgFlag::Map,
    ArgFlag::IrqFlag,
    ArgFlag::Arena,
];

/// What a flag of [`POINTER_KIND`] or [`OBJECT`] makes the argument, for messages.
pub(crate) const fn kind_noun(flag: ArgFlag) -> &'static str {
    match flag {
        ArgFlag::Alloc => "an object from `bpf_obj_new`",
        ArgFlag::RefcountedKptr => "a refcounted local kptr",
        ArgFlag::Iter => "an iterator state",
        ArgFlag::Str => "a constant string",
        ArgFlag::ConstMap | ArgFlag::Map => "a BPF map",
        ArgFlag::IrqFlag => "an IRQ flag slot",
        ArgFlag::Arena => "an arena pointer",
        _ => "a kernel object",
    }
}

/// Per-argument flags about a kernel object the verifier tracks as `PTR_TO_BTF_ID`
/// (trusted by default since 7.0): meaningless on an argument of another kind.
pub(crate) const OBJECT: &[ArgFlag] = &[ArgFlag::Rcu, ArgFlag::Acquire];

/// Per-argument flags whose argument can never be NULL (what the kfunc releases or takes
/// its reference from, an iterator state or an IRQ flag slot on the program's stack), with
/// the reason: `nullable` on the same argument is a contradiction.
pub(crate) const NEVER_NULL: &[(ArgFlag, &str)] = &[
    (
        ArgFlag::Release,
        "a released argument is the reference the kfunc drops, it must not be NULL",
    ),
    (
        ArgFlag::Acquire,
        "the returned reference is taken on the object this argument points to, so it must \
         not be NULL (registration refuses an acquire source that is nullable)",
    ),
    (
        ArgFlag::Iter,
        "an iterator state lives on the program's stack and is never NULL",
    ),
    (
        ArgFlag::IrqFlag,
        "the IRQ flags are saved in a slot on the program's stack, which is never NULL",
    ),
];

/// Pairs of per-argument flags that contradict each other on one argument, `(x, y, why)`,
/// in the order they are checked.
pub(crate) fn arg_conflicts() -> Vec<(ArgFlag, ArgFlag, String)> {
    let mut conflicts: Vec<(ArgFlag, ArgFlag, String)> = vec![
        (
            ArgFlag::Release,
            ArgFlag::Acquire,
            "an argument cannot be both released and the object the returned reference is \
             taken on"
                .into(),
        ),
        (
            ArgFlag::Release,
            ArgFlag::Rcu,
            "a released argument must hold a reference, which an RCU-protected pointer does \
             not (registration refuses it); remove `rcu`"
                .into(),
        ),
        (
            ArgFlag::Size,
            ArgFlag::ConstSize,
            "a size is either checked (`size`) or a known constant (`const_size`); keep one".into(),
        ),
        (
            ArgFlag::Constant,
            ArgFlag::ConstSize,
            "`const_size` already requires a known constant; remove `constant`".into(),
        ),
        (
            ArgFlag::Size,
            ArgFlag::Constant,
            "a size that must be a known constant is `const_size`; `constant` on a `size` \
             argument makes 7.3's verifier classify it as a plain constant and leave the \
             memory unchecked (registration refuses it)"
                .into(),
        ),
    ];
    for &(k, why) in NEVER_NULL {
        conflicts.push((k, ArgFlag::Nullable, why.into()));
    }
    for (i, &x) in POINTER_KIND.iter().enumerate() {
        for &y in &POINTER_KIND[i + 1..] {
            conflicts.push((
                x,
                y,
                format!(
                    "`{}` makes it {} and `{}` {}, but the verifier reads only the first \
                     that applies; keep one",
                    x.keyword(),
                    kind_noun(x),
                    y.keyword(),
                    kind_noun(y)
                ),
            ));
        }
    }
    for &x in OBJECT {
        for &y in POINTER_KIND {
            conflicts.push((
                x,
                y,
                format!(
                    "`{}` is about a kernel object pointer (a struct the verifier tracks as \
                     trusted), but `{}` makes the argument {}; keep one",
                    x.keyword(),
                    y.keyword(),
                    kind_noun(y)
                ),
            ));
        }
    }
    conflicts
}

/// Function flag pairs that contradict each other, with the reason.
pub(crate) const FUNC_CONFLICTS: &[(FuncFlag, FuncFlag, &str)] = &[(
    FuncFlag::Sleepable,
    FuncFlag::SpinlockSafe,
    "a kfunc that may sleep cannot be called while a `bpf_spin_lock` is held",
)];

/// Function flags naming an argument by position that must be a pointer (resolve_btfids of
/// 7.3 tags that argument `address_space(1)`), as (flag, argument index).
pub(crate) const FUNC_POINTER_ARG: &[(FuncFlag, usize)] =
    &[(FuncFlag::ArenaArg1, 0), (FuncFlag::ArenaArg2, 1)];

/// Function flags that need a pointer return value.
pub(crate) const FUNC_POINTER_RET: &[FuncFlag] = &[FuncFlag::RetNull, FuncFlag::ArenaRet];

/// The function flag of implicit arguments, and the pointee types an implicit argument may
/// have (7.3 resolve_btfids `is_kf_implicit_arg()`): the verifier supplies them, BPF
/// programs see the kfunc without them.
pub(crate) const IMPLICIT_ARGS: (FuncFlag, &[&str]) =
    (FuncFlag::ImplicitArgs, &["bpf_prog_aux", "btf_struct_meta"]);

/// The `iter_*` function flags (exactly one of them per iterator kfunc).
pub(crate) const ITER_FUNC: &[FuncFlag] =
    &[FuncFlag::IterNew, FuncFlag::IterNext, FuncFlag::IterDestroy];

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
#[derive(Debug)]
pub(crate) struct Retired {
    /// The keyword.
    pub keyword: Symbol,
    /// What to write instead; `{}` is replaced by the flag as written (`trusted(a, b)`),
    /// `{args}` by its argument list (`a, b`, or `<parameter>` when it has none).
    pub message: &'static str,
}

impl Retired {
    /// The error for the keyword written as `written` with argument list `args`.
    pub(crate) fn error(&self, written: &str, args: Option<&str>) -> String {
        self.message
            .replace("{args}", args.unwrap_or("<parameter>"))
            .replace("{}", written)
    }
}

/// Keywords that were flags of this crate on 6.12 and are errors since the 7.3 rebase.
pub(crate) const RETIRED: &[Retired] = &[
    Retired {
        keyword: TRUSTED,
        message: "pointer arguments of kfuncs are trusted by default since Linux 7.0; remove \
                  `{}` (use `rcu({args})` to also accept RCU-protected pointers)",
    },
    Retired {
        keyword: TRUSTED_ARGS,
        message: "`trusted_args` (`KF_TRUSTED_ARGS`) was removed in Linux 7.0: pointer \
                  arguments of kfuncs are trusted by default; remove `{}` (use `rcu_args` \
                  to also accept RCU-protected pointers)",
    },
    Retired {
        keyword: OPTIONAL,
        message: "`optional` was replaced by `nullable` in Linux 7.3 (the `__opt` suffix \
                  became `__nullable`): write `nullable({args})`",
    },
];

/// Argument-name suffixes of 6.12 that 7.3 no longer reads, with the flag that replaced
/// them.
pub(crate) const RETIRED_SUFFIXES: &[(&str, ArgFlag)] = &[("__opt", ArgFlag::Nullable)];

/// Every argument-name suffix a parameter name must not end in, with its flag and whether
/// it is retired: the suffixes the 7.3 verifier reads (in `ARG_FLAGS` order), then
/// [`RETIRED_SUFFIXES`].
pub(crate) fn name_suffixes() -> Vec<(&'static str, ArgFlag, bool)> {
    ArgFlag::ALL
        .iter()
        .filter_map(|&f| f.def().suffix.map(|s| (s, f, false)))
        .chain(RETIRED_SUFFIXES.iter().map(|&(s, f)| (s, f, true)))
        .collect()
}

/// Keywords usable bare, at function level.
pub(crate) fn bare_keywords() -> impl Iterator<Item = &'static str> {
    FuncFlag::ALL
        .iter()
        .filter(|&&f| !needs_arg(f))
        .map(|f| f.keyword())
}

/// Every keyword, for suggestions.
pub(crate) fn all_keywords() -> Vec<&'static str> {
    let mut v: Vec<&str> = bare_keywords()
        .chain(ArgFlag::ALL.iter().map(|f| f.keyword()))
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
    fn implied_function_flags_have_the_same_keyword() {
        for &f in ArgFlag::ALL {
            if let Some(func) = implied_func_flag(f) {
                assert_eq!(func.keyword(), f.keyword());
            }
        }
        for &f in FuncFlag::ALL.iter().filter(|&&f| needs_arg(f)) {
            assert!(
                ArgFlag::from_keyword(f.keyword()).and_then(implied_func_flag) == Some(f),
                "`{}` cannot be written bare, so a per-argument flag must set it",
                f.keyword()
            );
        }
    }

    #[test]
    fn retired_keywords_are_not_flags_any_more() {
        for r in RETIRED {
            assert!(
                FuncFlag::from_keyword(r.keyword.0).is_none()
                    && ArgFlag::from_keyword(r.keyword.0).is_none(),
                "`{}` is retired but still in a layout table",
                r.keyword
            );
        }
        for (sfx, _) in RETIRED_SUFFIXES {
            assert!(
                !ArgFlag::ALL.iter().any(|f| f.def().suffix == Some(*sfx)),
                "`{sfx}` is retired but still a suffix of the layout"
            );
        }
        assert_eq!(
            RETIRED[0].error("trusted(a, b)", Some("a, b")),
            "pointer arguments of kfuncs are trusted by default since Linux 7.0; remove \
             `trusted(a, b)` (use `rcu(a, b)` to also accept RCU-protected pointers)"
        );
        assert_eq!(
            RETIRED[2].error("optional(buf)", Some("buf")),
            "`optional` was replaced by `nullable` in Linux 7.3 (the `__opt` suffix became \
             `__nullable`): write `nullable(buf)`"
        );
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
        assert!(!all
            .iter()
            .any(|k| RETIRED.iter().any(|r| r.keyword.0 == *k)));
        assert!(!bare_keywords().any(|k| k == "release"));
        assert!(bare_keywords().any(|k| k == "acquire"));
    }
}
