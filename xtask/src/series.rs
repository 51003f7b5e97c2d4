//! `cargo xtask series [--check]`: both series as `git format-patch --cover-letter` writes
//! them, cover letters included.
//!
//! The bpf series (`patches/`) and the rust series on top of it (`patches/rust/`) are applied
//! with `git am` to the pristine files of Debian's linux-source-7.3 tarball (from the kernel
//! source cache, `~/.cache/kfunc-args/src/`), then `git format-patch --cover-letter
//! --cover-from-description=subject` writes each series again, with the letter's subject and
//! text as its description: `RFC.md` for the bpf series, `patches/rust/COVER.md` for the
//! rust series (each a `Subject: [PREFIX 0/N] title` line, a blank line and the text). The
//! letters are written as `0000-cover-letter.patch` beside the patches; they carry no diff,
//! and `cargo xtask kernel` neither applies nor hashes them
//! ([`crate::kernel::is_series_patch`]).
//!
//! Only the files the series touch are unpacked (and `.gitattributes`, which gives git its
//! C and Rust hunk headers), into `~/.cache/kfunc-args/series/<source version>/`: a patch
//! applies to a file the same way in the whole tree, and the shortlog and diffstat only see
//! those files. git's automatic abbreviation of blob ids in the whole 7.3 tree is 9 hex
//! digits, so `core.abbrev=9` makes the `index` lines what format-patch gives there. The
//! identity and date of the letters are the last patch's `From:` and `Date:`, and the
//! `From <commit>` line of a letter is the last patch's (the commit format-patch names
//! there), so the output depends on the patches and the letters' text only.
//!
//! Besides the letters, both modes check:
//! - every patch comes out of `git am` and `git format-patch` as it is (its first line, the
//!   commit id of the tree it was made in, aside): the files are format-patch output of
//!   commits that apply to the base;
//! - the subjects are numbered `[PREFIX i/N]` in file order, and the letter's is `[PREFIX
//!   0/N]`;
//! - the shortlog and diffstat in RFC.md's "Patches" section are git's for the bpf series
//!   (`cargo xtask series` rewrites that block; it is left out of the letter's text, where
//!   git puts its own at the end), and RFC.md names each rust patch by its subject.
//!
//! `--check` writes nothing and fails if anything differs; without a cached kernel source
//! it prints `SKIPPED` (it does not fetch one). It is one test of `cargo xtask test`.

use crate::flags::Series;
use crate::kernel::{cache_dir, patch_files_in, repo_root, COVER_LETTER};
use crate::source::{self, Source, TARBALL_TOP};
use crate::test::Tally;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One series: where its patches are and where its cover letter's text is.
struct Def {
    /// Directory of the patches, relative to the repository.
    dir: &'static str,
    /// The letter's subject and text, relative to the repository.
    letter: &'static str,
}

const BPF: Def = Def {
    dir: "patches",
    letter: "RFC.md",
};
const RUST: Def = Def {
    dir: "patches/rust",
    letter: "patches/rust/COVER.md",
};

/// A `Subject: [PREFIX i/N] title` split up.
#[derive(Debug, PartialEq, Eq)]
pub struct Numbered {
    /// `RFC PATCH bpf-next v2`.
    pub prefix: String,
    /// The patch's number, 0 for a cover letter.
    pub n: usize,
    /// The number of patches.
    pub total: usize,
    /// What follows the brackets.
    pub title: String,
}

/// The `Subject:` header of an e-mail, unfolded (format-patch folds long subjects onto
/// continuation lines that start with a space).
pub fn subject(mail: &str) -> Option<String> {
    let mut lines = mail.lines();
    let first = lines.find_map(|l| l.strip_prefix("Subject: "))?;
    let mut s = first.to_string();
    for l in lines {
        if !l.starts_with(' ') && !l.starts_with('\t') {
            break;
        }
        s.push_str(l);
    }
    Some(s)
}

/// Split `[PREFIX i/N] title`.
pub fn numbered(subject: &str) -> Option<Numbered> {
    let rest = subject.strip_prefix('[')?;
    let (inside, title) = rest.split_once("] ")?;
    let (prefix, num) = inside.rsplit_once(' ')?;
    let (n, total) = num.split_once('/')?;
    Some(Numbered {
        prefix: prefix.to_string(),
        n: n.parse().ok()?,
        total: total.parse().ok()?,
        title: title.to_string(),
    })
}

/// The value of header `name` (`From`, `Date`) of an e-mail's header block.
fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    mail.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}

/// The files a series changes that exist before it (not created by one of its patches), in
/// order of first appearance.
pub fn preexisting_files<'a>(patches: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut created: Vec<String> = Vec::new();
    for p in patches {
        let mut cur: Option<String> = None;
        for l in p.lines() {
            if let Some(rest) = l.strip_prefix("diff --git a/") {
                let path = rest.split(" b/").next().unwrap_or("").to_string();
                if !seen.contains(&path) {
                    seen.push(path.clone());
                }
                cur = Some(path);
            } else if l.starts_with("new file mode ") {
                if let Some(c) = &cur {
                    if !created.contains(c) {
                        created.push(c.clone());
                    }
                }
            }
        }
    }
    seen.retain(|p| !created.contains(p));
    seen
}

/// Whether `l` is a `git shortlog` header line with `n` commits: `Author Name (n):`.
fn is_shortlog_header(l: &str, n: usize) -> bool {
    l.ends_with(&format!(" ({n}):")) && !l.starts_with(' ')
}

/// The lines `[start, end)` of the shortlog-and-diffstat block in the `Patches` section of
/// a letter's text: from the `Author (n):` line to the diffstat's summary line and the
/// `create mode`/`delete mode` lines after it.
pub fn shortlog_block(text: &str, n: usize) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let section = lines
        .windows(2)
        .position(|w| w[0] == "Patches" && w[1].starts_with("===="))?;
    let start = (section..lines.len()).find(|&i| is_shortlog_header(lines[i], n))?;
    let summary = (start..lines.len()).find(|&i| {
        let l = lines[i];
        l.starts_with(' ') && (l.contains(" files changed") || l.contains(" file changed"))
    })?;
    let mut end = summary + 1;
    while end < lines.len()
        && [
            " create mode ",
            " delete mode ",
            " rename ",
            " mode change ",
        ]
        .iter()
        .any(|p| lines[end].starts_with(p))
    {
        end += 1;
    }
    Some((start, end))
}

/// `text` without the lines `[start, end)` and the blank line after them.
fn without_lines(text: &str, (start, end): (usize, usize)) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = if lines.get(end) == Some(&"") {
        end + 1
    } else {
        end
    };
    let mut out = String::new();
    for l in lines[..start].iter().chain(&lines[end..]) {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// The shortlog and diffstat git put at the end of a cover letter of `n` patches.
pub fn git_block(cover: &str, n: usize) -> Option<String> {
    let lines: Vec<&str> = cover.lines().collect();
    let start = lines.iter().rposition(|l| is_shortlog_header(l, n))?;
    let mut block: Vec<&str> = lines[start..].to_vec();
    while block.last() == Some(&"") {
        block.pop();
    }
    Some(block.join("\n") + "\n")
}

/// The 1-based number of the first line where `a` and `b` differ.
fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .map_or(a.lines().count().min(b.lines().count()) + 1, |i| i + 1)
}

/// A mail without its first line (`From <commit> Mon Sep 17 00:00:00 2001`).
fn after_first_line(s: &str) -> &str {
    s.split_once('\n').map_or("", |(_, r)| r)
}

/// A series as read from the repository.
struct Read {
    def: &'static Def,
    files: Vec<PathBuf>,
    texts: Vec<String>,
    prefix: String,
    /// The letter: subject line parsed, and the text after it.
    letter: Numbered,
    letter_text: String,
}

fn read_series(def: &'static Def) -> Result<Read, String> {
    let root = repo_root();
    let files = patch_files_in(&root.join(def.dir))?;
    let mut texts = Vec::new();
    let mut prefix: Option<String> = None;
    for (i, f) in files.iter().enumerate() {
        let t = fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let shown = format!("{}/{}", def.dir, f.file_name().unwrap().to_string_lossy());
        let s = subject(&t).ok_or_else(|| format!("{shown}: no Subject: header"))?;
        let num = numbered(&s)
            .ok_or_else(|| format!("{shown}: subject {s:?} is not `[PREFIX i/N] title`"))?;
        if num.n != i + 1 || num.total != files.len() {
            return Err(format!(
                "{shown}: numbered {}/{} but it is patch {} of {}",
                num.n,
                num.total,
                i + 1,
                files.len()
            ));
        }
        match &prefix {
            None => prefix = Some(num.prefix.clone()),
            Some(p) if *p != num.prefix => {
                return Err(format!(
                    "{shown}: subject prefix {:?}, the first patch's is {p:?}",
                    num.prefix
                ))
            }
            Some(_) => {}
        }
        texts.push(t);
    }
    let prefix = prefix.expect("patch_files_in returns at least one patch");
    let lp = root.join(def.letter);
    let lt = fs::read_to_string(&lp).map_err(|e| format!("{}: {e}", lp.display()))?;
    let (first, rest) = lt.split_once('\n').unwrap_or((&lt, ""));
    let s = first
        .strip_prefix("Subject: ")
        .ok_or_else(|| format!("{}: the first line is not `Subject: ...`", def.letter))?;
    let letter = numbered(s)
        .ok_or_else(|| format!("{}: subject {s:?} is not `[PREFIX 0/N] title`", def.letter))?;
    if letter.prefix != prefix || letter.n != 0 || letter.total != files.len() {
        return Err(format!(
            "{}: subject [{} {}/{}], the series in {}/ wants [{prefix} 0/{}]",
            def.letter,
            letter.prefix,
            letter.n,
            letter.total,
            def.dir,
            files.len()
        ));
    }
    Ok(Read {
        def,
        files,
        texts,
        prefix,
        letter,
        letter_text: rest.to_string(),
    })
}

/// The pristine files the series change, unpacked once per source version into
/// `~/.cache/kfunc-args/series/<version>/`; returns the directory holding the tree's top.
fn pristine_files(src: &Source, paths: &[String]) -> Result<PathBuf, String> {
    let dir = cache_dir("series")?.join(&src.version);
    let top = dir.join(TARBALL_TOP);
    let missing: Vec<&String> = paths.iter().filter(|p| !top.join(p).exists()).collect();
    if !missing.is_empty() {
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        eprintln!(
            "series: unpacking {} file(s) of {} into {}",
            missing.len(),
            src.tarball.display(),
            dir.display()
        );
        let mut c = Command::new("tar");
        c.arg("-xJf").arg(&src.tarball).arg("-C").arg(&dir);
        c.args(missing.iter().map(|p| format!("{TARBALL_TOP}/{p}")));
        crate::deps::run_logged(
            &mut c,
            &format!("tar -x of {} file(s)", missing.len()),
            &dir.join("tar.log"),
        )?;
    }
    Ok(top)
}

/// `git` in `dir` with no user or system configuration and a fixed identity and date.
fn git(dir: &Path, ident: &(String, String), date: &str, args: &[&str]) -> Result<String, String> {
    let o = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", &ident.0)
        .env("GIT_AUTHOR_EMAIL", &ident.1)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_NAME", &ident.0)
        .env("GIT_COMMITTER_EMAIL", &ident.1)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "git {} in {} failed ({}): {}{}",
            args.join(" "),
            dir.display(),
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// What one run found: the letters to write, the RFC.md block, and every difference.
struct Outcome {
    /// (path, content) of each cover letter.
    letters: Vec<(PathBuf, String)>,
    /// git's shortlog and diffstat of the bpf series.
    bpf_block: String,
    /// Differences between the repository and what git generated, each naming its file.
    problems: Vec<String>,
}

fn generate(src: &Source) -> Result<Outcome, String> {
    let root = repo_root();
    let series = [read_series(&BPF)?, read_series(&RUST)?];
    let mut paths = vec![".gitattributes".to_string()];
    paths.extend(preexisting_files(
        series
            .iter()
            .flat_map(|s| s.texts.iter().map(String::as_str)),
    ));
    let top = pristine_files(src, &paths)?;

    let work = crate::sample::target_dir().join("kfunc-series");
    let _ = fs::remove_dir_all(&work);
    let tree = work.join(TARBALL_TOP);
    for p in &paths {
        let to = tree.join(p);
        fs::create_dir_all(to.parent().unwrap()).map_err(|e| format!("{}: {e}", to.display()))?;
        fs::copy(top.join(p), &to).map_err(|e| format!("{}: {e}", top.join(p).display()))?;
    }
    let last = series[1].texts.last().unwrap();
    let from = header(last, "From").ok_or("the last rust patch has no From: header")?;
    let (name, email) = from
        .strip_suffix('>')
        .and_then(|f| f.split_once(" <"))
        .ok_or_else(|| format!("From: {from:?} is not `Name <email>`"))?;
    let ident = (name.to_string(), email.to_string());
    let pristine_date = "2026-01-01T00:00:00Z";
    git(&tree, &ident, pristine_date, &["init", "-q"])?;
    git(&tree, &ident, pristine_date, &["add", "-f", "."])?;
    git(
        &tree,
        &ident,
        pristine_date,
        &["commit", "-q", "-m", "pristine"],
    )?;
    git(&tree, &ident, pristine_date, &["tag", "base"])?;

    let mut out = Outcome {
        letters: Vec::new(),
        bpf_block: String::new(),
        problems: Vec::new(),
    };
    let mut base = "base".to_string();
    for (k, s) in series.iter().enumerate() {
        let date = header(s.texts.last().unwrap(), "Date")
            .ok_or_else(|| format!("{}: the last patch has no Date: header", s.def.dir))?;
        let mut am = vec!["am", "-q", "--committer-date-is-author-date"];
        let files: Vec<String> = s
            .files
            .iter()
            .map(|f| f.to_string_lossy().to_string())
            .collect();
        am.extend(files.iter().map(String::as_str));
        git(&tree, &ident, date, &am).map_err(|e| {
            format!(
                "{}/ does not apply with git am to the pristine {TARBALL_TOP} {}: {e}",
                s.def.dir, src.version
            )
        })?;
        let tag = format!("series{k}");
        git(&tree, &ident, date, &["tag", &tag])?;

        // The letter's description: the title, a blank line, the text (without RFC.md's copy
        // of the shortlog and diffstat, which git appends).
        let block = shortlog_block(&s.letter_text, s.files.len());
        let body = match block {
            Some(b) => without_lines(&s.letter_text, b),
            None => s.letter_text.clone(),
        };
        let desc = work.join(format!("description{k}"));
        fs::write(&desc, format!("{}\n{body}", s.letter.title))
            .map_err(|e| format!("{}: {e}", desc.display()))?;
        let outdir = work.join(format!("out{k}"));
        let prefix = format!("--subject-prefix={}", s.prefix);
        let desc_arg = format!("--description-file={}", desc.display());
        let outdir_arg = outdir.to_string_lossy().to_string();
        let range = format!("{base}..{tag}");
        git(
            &tree,
            &ident,
            date,
            &[
                "-c",
                "core.abbrev=9",
                "format-patch",
                "-q",
                "--no-signature",
                "--cover-letter",
                "--cover-from-description=subject",
                &desc_arg,
                &prefix,
                "-o",
                &outdir_arg,
                &range,
            ],
        )?;
        base = tag;

        // The patches round-trip.
        let mut made: Vec<PathBuf> = fs::read_dir(&outdir)
            .map_err(|e| format!("{}: {e}", outdir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| crate::kernel::is_series_patch(p))
            .collect();
        made.sort();
        let names = |v: &[PathBuf]| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
                .collect()
        };
        if names(&made) != names(&s.files) {
            out.problems.push(format!(
                "{}/: git format-patch names the patches {:?}, the directory has {:?}",
                s.def.dir,
                names(&made),
                names(&s.files)
            ));
        } else {
            for (m, (f, t)) in made.iter().zip(s.files.iter().zip(&s.texts)) {
                let g = fs::read_to_string(m).map_err(|e| format!("{}: {e}", m.display()))?;
                if after_first_line(&g) != after_first_line(t) {
                    out.problems.push(format!(
                        "{}/{}: not what git am + git format-patch make of it (line {} \
                         differs): regenerate the series (patches/README.md)",
                        s.def.dir,
                        f.file_name().unwrap().to_string_lossy(),
                        first_difference(&g, t)
                    ));
                }
            }
        }

        // The letter, with the last patch's commit on its From line.
        let cover_path = outdir.join(COVER_LETTER);
        let cover = fs::read_to_string(&cover_path)
            .map_err(|e| format!("{}: {e}", cover_path.display()))?;
        let last_from = s.texts.last().unwrap().lines().next().unwrap_or("");
        let cover = format!("{last_from}\n{}", after_first_line(&cover));
        let gblock = git_block(&cover, s.files.len())
            .ok_or_else(|| format!("{}: no shortlog in git's cover letter", s.def.dir))?;
        if k == 0 {
            match block {
                Some((a, b)) => {
                    let lines: Vec<&str> = s.letter_text.lines().collect();
                    let have = lines[a..b].join("\n") + "\n";
                    if have != gblock {
                        out.problems.push(format!(
                            "{}: the shortlog and diffstat in \"Patches\" are not git's (line {} \
                             of the block differs)",
                            s.def.letter,
                            first_difference(&have, &gblock)
                        ));
                    }
                }
                None => out.problems.push(format!(
                    "{}: no shortlog and diffstat (`Name ({}):` ... `files changed`) in its \
                     \"Patches\" section",
                    s.def.letter,
                    s.files.len()
                )),
            }
            out.bpf_block = gblock;
        } else {
            // RFC.md names each rust patch by its subject.
            let rfc = &series[0].letter_text;
            for t in &s.texts {
                let title = numbered(&subject(t).unwrap()).unwrap().title;
                if !rfc.lines().any(|l| l.trim() == title) {
                    out.problems.push(format!(
                        "{}: does not list the rust patch {title:?}",
                        BPF.letter
                    ));
                }
            }
        }
        out.letters
            .push((root.join(s.def.dir).join(COVER_LETTER), cover));
    }
    Ok(out)
}

/// Replace RFC.md's shortlog-and-diffstat block by `block` (re-read just before writing).
fn update_rfc_block(block: &str, n: usize) -> Result<bool, String> {
    let path = repo_root().join(BPF.letter);
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let Some((a, b)) = shortlog_block(rest, n) else {
        return Err(format!(
            "{}: no shortlog and diffstat block in \"Patches\" to update",
            path.display()
        ));
    };
    let lines: Vec<&str> = rest.lines().collect();
    let mut new = format!("{first}\n");
    for l in &lines[..a] {
        new.push_str(l);
        new.push('\n');
    }
    new.push_str(block);
    for l in &lines[b..] {
        new.push_str(l);
        new.push('\n');
    }
    if new == text {
        return Ok(false);
    }
    fs::write(&path, new).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(true)
}

/// Entry point of `cargo xtask series [--check]`.
pub fn run(f: &Series) -> Result<Tally, String> {
    let src = if f.check {
        match source::cached_source() {
            Some(s) => s,
            None => {
                println!(
                    "SKIPPED series --check: no kernel source in ~/.cache/kfunc-args/src/ \
                     (`cargo xtask kernel` fetches it)"
                );
                return Ok(Tally {
                    skipped: 1,
                    ..Tally::default()
                });
            }
        }
    } else {
        source::ensure_source()?
    };
    let out = generate(&src)?;
    let mut problems = out.problems;
    for (path, text) in &out.letters {
        let shown = path.strip_prefix(repo_root()).unwrap_or(path).display();
        let old = fs::read_to_string(path).unwrap_or_default();
        if old == *text {
            println!("series: {shown} is up to date");
        } else if f.check {
            problems.push(if old.is_empty() {
                format!("{shown} is missing: run `cargo xtask series`")
            } else {
                format!(
                    "{shown} differs from line {} on: run `cargo xtask series`",
                    first_difference(&old, text)
                )
            });
        } else {
            fs::write(path, text).map_err(|e| format!("{shown}: {e}"))?;
            println!("series: wrote {shown}");
        }
    }
    if !f.check {
        let n = patch_files_in(&repo_root().join(BPF.dir))?.len();
        // The block was compared above; rewrite it and drop that complaint.
        if update_rfc_block(&out.bpf_block, n)? {
            println!(
                "series: updated the shortlog and diffstat in {}",
                BPF.letter
            );
        }
        problems.retain(|p| !p.starts_with(&format!("{}: the shortlog", BPF.letter)));
    }
    for p in &problems {
        println!("series: {p}");
    }
    let ok = problems.is_empty();
    println!(
        "series{}: {}",
        if f.check { " --check" } else { "" },
        if ok { "ok" } else { "FAILED" }
    );
    Ok(Tally {
        passed: u64::from(ok),
        failed: u64::from(!ok),
        skipped: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_unfold_and_split() {
        let m = "From x\nSubject: [RFC PATCH bpf-next v2 1/6] bpf: Add per-argument kfunc flags and\n extended kfunc sets\n\nBody\n";
        let s = subject(m).unwrap();
        assert_eq!(
            s,
            "[RFC PATCH bpf-next v2 1/6] bpf: Add per-argument kfunc flags and extended kfunc sets"
        );
        let n = numbered(&s).unwrap();
        assert_eq!(n.prefix, "RFC PATCH bpf-next v2");
        assert_eq!((n.n, n.total), (1, 6));
        assert_eq!(
            n.title,
            "bpf: Add per-argument kfunc flags and extended kfunc sets"
        );
        assert_eq!(numbered("[RFC PATCH] x"), None);
        assert_eq!(numbered("bpf: x"), None);
    }

    #[test]
    fn preexisting_files_leave_out_created_ones() {
        let a = "diff --git a/x.h b/x.h\nnew file mode 100644\n+a\ndiff --git a/y.c b/y.c\nindex 1..2\n";
        let b = "diff --git a/x.h b/x.h\nindex 3..4\ndiff --git a/z.c b/z.c\nindex 5..6\n";
        assert_eq!(preexisting_files([a, b]), ["y.c", "z.c"]);
    }

    const LETTER: &str = "Hi,\n\nPatches\n=======\n\nA Name (2):\n  a: One\n  b: Two\n\n f | 2 +-\n g | 1 +\n 2 files changed, 2 insertions(+), 1 deletion(-)\n create mode 100644 g\n\n(note)\n";

    #[test]
    fn finds_and_removes_the_shortlog_block() {
        let (a, b) = shortlog_block(LETTER, 2).unwrap();
        let lines: Vec<&str> = LETTER.lines().collect();
        assert_eq!(lines[a], "A Name (2):");
        assert_eq!(lines[b - 1], " create mode 100644 g");
        assert_eq!(
            without_lines(LETTER, (a, b)),
            "Hi,\n\nPatches\n=======\n\n(note)\n"
        );
        // Another count is another block (none here).
        assert_eq!(shortlog_block(LETTER, 3), None);
        // Not outside the "Patches" section.
        assert_eq!(
            shortlog_block(&LETTER.replace("Patches\n", "Other\n"), 2),
            None
        );
    }

    #[test]
    fn git_block_is_the_end_of_the_letter() {
        let cover = "Subject: x\n\ntext\nB Name (2):\n  old\n\nA Name (2):\n  a: One\n\n f | 1 +\n 1 file changed, 1 insertion(+)\n\n";
        assert_eq!(
            git_block(cover, 2).unwrap(),
            "A Name (2):\n  a: One\n\n f | 1 +\n 1 file changed, 1 insertion(+)\n"
        );
        assert_eq!(git_block(cover, 5), None);
    }
}
