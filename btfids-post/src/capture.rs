//! Where inputs captured before resolution by `scripts/resolve-btfids-capture.sh` are
//! found, and the stock `resolve_btfids` of the tree they came from. Used by the captured
//! differential test and by `cargo xtask bench` (which compiles this file on its own: it
//! uses only `std`).

use std::path::{Path, PathBuf};

/// The capture directories of this project's cache, sorted: `kernel/*/btfids-inputs`,
/// `kernel/*/linux/btfids-inputs` and `post/capture*` below `~/.cache/kfunc-args`.
/// Empty without `$HOME`.
pub fn default_dirs() -> Vec<PathBuf> {
    let Ok(home) = std::env::var("HOME") else {
        return Vec::new();
    };
    let root = Path::new(&home).join(".cache/kfunc-args");
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(root.join("kernel")) {
        for d in rd.flatten() {
            for sub in ["btfids-inputs", "linux/btfids-inputs"] {
                let p = d.path().join(sub);
                if p.is_dir() {
                    out.push(p);
                }
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(root.join("post")) {
        for d in rd.flatten() {
            if d.file_name().to_string_lossy().starts_with("capture") && d.path().is_dir() {
                out.push(d.path());
            }
        }
    }
    out.sort();
    out
}

/// The stock `resolve_btfids` of the build tree a capture came from: the first working
/// directory in the capture's `args` file (`name<TAB>cwd<TAB>args` lines) that has
/// `tools/bpf/resolve_btfids/resolve_btfids`.
pub fn stock_from_args(dir: &Path) -> Option<PathBuf> {
    let args = std::fs::read_to_string(dir.join("args")).ok()?;
    args.lines().find_map(|l| {
        let p = Path::new(l.split('\t').nth(1)?).join("tools/bpf/resolve_btfids/resolve_btfids");
        p.exists().then_some(p)
    })
}

/// What a capture directory holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The base BTF its modules are resolved against: `vmlinux` or `base.vmlinux` in it.
    pub base: Option<PathBuf>,
    /// The inputs: `vmlinux` and every `*.ko`, sorted.
    pub files: Vec<PathBuf>,
}

/// List a capture directory; the error names it.
pub fn read(dir: &Path) -> Result<Capture, String> {
    let base = ["vmlinux", "base.vmlinux"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.exists());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n == "vmlinux" || n.to_string_lossy().ends_with(".ko"))
        })
        .collect();
    files.sort();
    Ok(Capture { base, files })
}
