//! The kernel source every build starts from: Debian's `linux-source-7.3`, fetched from the
//! `trixie-backports` suite of the Debian mirror this machine already uses, without touching
//! the machine's own package state (a private sources list, lists and cache under
//! `~/.cache/kfunc-args/src/`), then unpacked with `dpkg-deb -x`.
//!
//! Backports keep only the newest 7.3.x: any is accepted, and its version (the `.deb`'s
//! `Version` field) is part of every kernel cache key and printed with every build. If the
//! suite no longer has `linux-source-7.3`, the fetch fails saying what it looked for and
//! where.

use crate::deps;
use crate::kernel::cache_dir;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Debian binary package holding the kernel source tarball.
pub const SOURCE_PACKAGE: &str = "linux-source-7.3";
/// The Debian suite that has [`SOURCE_PACKAGE`].
pub const SUITE: &str = "trixie-backports";
/// Top directory inside the tarball.
pub const TARBALL_TOP: &str = "linux-source-7.3";
/// The tarball's path inside the package.
const TARBALL_IN_DEB: &str = "usr/src/linux-source-7.3.tar.xz";

/// The fetched kernel source.
#[derive(Debug, Clone)]
pub struct Source {
    /// `linux-source-7.3.tar.xz`.
    pub tarball: PathBuf,
    /// The package version (`7.3.4-1~bpo13+1`).
    pub version: String,
}

/// The Debian mirror of this machine: the first `URIs:` (deb822) or `deb` line naming a
/// `/debian` archive in `/etc/apt/sources.list.d/*.sources` or `/etc/apt/sources.list`.
fn debian_mirror() -> String {
    let mut files: Vec<PathBuf> = fs::read_dir("/etc/apt/sources.list.d")
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files.push(PathBuf::from("/etc/apt/sources.list"));
    for f in files {
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            let uri = if let Some(rest) = line.strip_prefix("URIs:") {
                rest.split_whitespace().next()
            } else if line.starts_with("deb ") {
                line.split_whitespace().find(|w| w.contains("://"))
            } else {
                None
            };
            if let Some(u) = uri {
                let u = u.trim_end_matches('/');
                if u.ends_with("/debian") {
                    return u.to_string();
                }
            }
        }
    }
    "http://deb.debian.org/debian".to_string()
}

/// The `.deb` of [`SOURCE_PACKAGE`] already downloaded into `dir`, if any (newest name).
fn downloaded_deb(dir: &Path) -> Option<PathBuf> {
    let mut debs: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&format!("{SOURCE_PACKAGE}_")) && n.ends_with(".deb")
            })
        })
        .collect();
    debs.sort();
    debs.pop()
}

fn apt_get(dir: &Path, list: &Path) -> Command {
    let mut c = Command::new("apt-get");
    c.current_dir(dir)
        .arg("-q")
        .arg(format!("-oDir::Etc::sourcelist={}", list.display()))
        .arg("-oDir::Etc::sourceparts=/dev/null")
        .arg(format!(
            "-oDir::State::Lists={}",
            dir.join("lists").display()
        ))
        .arg(format!("-oDir::Cache={}", dir.join("cache").display()))
        .arg("-oAPT::Get::List-Cleanup=0")
        .arg("-oAPT::Sandbox::User=root");
    c
}

/// The source if an earlier [`ensure_source`] left it in the cache (nothing is fetched).
pub fn cached_source() -> Option<Source> {
    let dir = cache_dir("src").ok()?;
    let tarball = dir.join("deb").join(TARBALL_IN_DEB);
    let version = fs::read_to_string(dir.join("version")).ok()?;
    tarball.exists().then(|| Source {
        tarball,
        version: version.trim().to_string(),
    })
}

/// Fetch (once) and unpack [`SOURCE_PACKAGE`]; return its tarball and version.
pub fn ensure_source() -> Result<Source, String> {
    let dir = cache_dir("src")?;
    let tarball = dir.join("deb").join(TARBALL_IN_DEB);
    let version_file = dir.join("version");
    if tarball.exists() {
        if let Ok(v) = fs::read_to_string(&version_file) {
            return Ok(Source {
                tarball,
                version: v.trim().to_string(),
            });
        }
    }
    deps::ensure_debian_packages(&["apt", "dpkg", "xz-utils"])?;
    for sub in ["lists/partial", "cache/archives/partial"] {
        fs::create_dir_all(dir.join(sub)).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let log = dir.join("fetch.log");
    let deb = match downloaded_deb(&dir) {
        Some(d) => d,
        None => {
            let mirror = debian_mirror();
            let list = dir.join("sources.list");
            let line = format!("deb {mirror} {SUITE} main\n");
            fs::write(&list, &line).map_err(|e| format!("{}: {e}", list.display()))?;
            eprintln!(
                "source: fetching {SOURCE_PACKAGE} from {mirror} {SUITE} (private apt lists in {}; \
                 the machine's packages are not touched)",
                dir.display()
            );
            deps::run_logged(
                apt_get(&dir, &list).arg("update"),
                &format!("apt-get update of {mirror} {SUITE}"),
                &log,
            )?;
            deps::run_logged(
                apt_get(&dir, &list).args(["download", SOURCE_PACKAGE]),
                &format!("apt-get download {SOURCE_PACKAGE}"),
                &log,
            )
            .map_err(|e| {
                format!(
                    "{SOURCE_PACKAGE} not found in {mirror} {SUITE} (it may have been replaced by \
                     a newer linux-source-7.x there: the series must then be rebased): {e}"
                )
            })?;
            downloaded_deb(&dir).ok_or_else(|| {
                format!(
                    "apt-get download {SOURCE_PACKAGE} from {mirror} {SUITE} left no .deb in {}",
                    dir.display()
                )
            })?
        }
    };
    let version = deps::command_output("dpkg-deb", &["-f", &deb.to_string_lossy(), "Version"])
        .ok_or_else(|| format!("{}: dpkg-deb -f ... Version failed", deb.display()))?;
    eprintln!("source: unpacking {} ({version})", deb.display());
    let tmp = dir.join("deb.tmp");
    let _ = fs::remove_dir_all(&tmp);
    deps::run_logged(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tmp),
        &format!("dpkg-deb -x {}", deb.display()),
        &log,
    )?;
    if !tmp.join(TARBALL_IN_DEB).exists() {
        return Err(format!("{}: no {TARBALL_IN_DEB} inside", deb.display()));
    }
    let _ = fs::remove_dir_all(dir.join("deb"));
    fs::rename(&tmp, dir.join("deb")).map_err(|e| format!("{}: {e}", dir.display()))?;
    fs::write(&version_file, format!("{version}\n"))
        .map_err(|e| format!("{}: {e}", version_file.display()))?;
    Ok(Source { tarball, version })
}
