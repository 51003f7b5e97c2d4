//! The keywords of `#[kfunc(...)]`, derived from the `kfunc_layout` tables.
//!
//! Nothing here restates a bit value: every keyword and value comes from
//! [`kfunc_layout::FUNC_FLAGS`] and [`kfunc_layout::ARG_FLAGS`]. What this module adds is
//! the knowledge the tables do not carry: which kind of parameter a per-argument flag
//! applies to, and which function flags need an argument.

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
    ("trusted", ArgKind::Pointer),
    ("rcu", ArgKind::Pointer),
    ("acquire", ArgKind::Pointer),
    ("constant", ArgKind::Scalar),
    ("ignore", ArgKind::Any),
    ("uninit", ArgKind::Pointer),
    ("alloc", ArgKind::Pointer),
    ("optional", ArgKind::Pointer),
    ("refcounted_kptr", ArgKind::Pointer),
    ("str", ArgKind::Pointer),
    ("map", ArgKind::Pointer),
    ("iter", ArgKind::Pointer),
    ("size", ArgKind::Scalar),
    ("const_size", ArgKind::Scalar),
];

/// Function flags that cannot be written bare: the flag is implied by a per-argument
/// flag of the same keyword (`release(a)` sets `KF_RELEASE`).
pub(crate) const FUNC_NEEDS_ARG: &[&str] = &["release"];

/// Per-argument keywords that take `of = m` (a size argument and its memory argument).
pub(crate) const SIZE_KEYWORDS: &[&str] = &["size", "const_size"];

/// The function keyword `iter_*` flags (exactly one of them per iterator kfunc).
pub(crate) const ITER_FUNC_KEYWORDS: &[&str] = &["iter_new", "iter_next", "iter_destroy"];

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
        for k in FUNC_NEEDS_ARG.iter().chain(ITER_FUNC_KEYWORDS) {
            assert!(func_flag(k).is_some(), "unknown function keyword `{k}`");
        }
        for k in SIZE_KEYWORDS {
            assert!(arg_flag(k).is_some(), "unknown size keyword `{k}`");
        }
    }

    #[test]
    fn suggestions() {
        let all = all_keywords();
        assert_eq!(closest("nulable", all.iter().copied()), Some("nullable"));
        assert_eq!(closest("sleepabel", all.iter().copied()), Some("sleepable"));
        assert_eq!(
            closest("trusted_arg", all.iter().copied()),
            Some("trusted_args")
        );
        assert_eq!(closest("zzzzzzzzzzzz", all.iter().copied()), None);
        assert!(!bare_keywords().any(|k| k == "release"));
        assert!(bare_keywords().any(|k| k == "acquire"));
    }
}
