//! Where inputs captured before resolution by `scripts/resolve-btfids-capture.sh` are
//! found (Linux 6.12's: [`read`]; Linux 7.3's, with their detached BTF: [`read_detached`]),
//! and the stock `resolve_btfids` of the tree they came from. Used by the captured
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

/// The detached BTF captured beside a Linux 7.3 input (`<file>.BTF.1`), if any.
pub fn detached_btf(file: &Path) -> Option<PathBuf> {
    let mut p = file.as_os_str().to_owned();
    p.push(".BTF.1");
    let p = PathBuf::from(p);
    p.exists().then_some(p)
}

/// One Linux 7.3 input (`scripts/gen-btf.sh` flow) of a capture directory.
// xtask compiles this file too (`cargo xtask bench`), and does not read 7.3 captures yet.
#[allow(dead_code)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedInput {
    /// The ELF as resolve_btfids got it (vmlinux's is `tmp_vmlinux1`).
    pub elf: PathBuf,
    /// The detached BTF pahole wrote for it (`--btf`).
    pub btf: PathBuf,
    /// The arguments the build passed (`<elf>.args`), split at spaces.
    pub args: Vec<String>,
    /// Whether it was resolved on a base (`-b`/`--btf_base`: a module).
    pub module: bool,
}

/// List the Linux 7.3 inputs of a capture directory (files with a `.BTF.1` beside them),
/// sorted; the base of the modules is [`Capture::base`] of [`read`].
#[allow(dead_code)] // not used by xtask, which compiles this file too
pub fn read_detached(dir: &Path) -> Result<Vec<DetachedInput>, String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let elf = e.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let name = elf.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(name) = name else { continue };
        if name.ends_with(".BTF.1") || name.ends_with(".args") || name.starts_with('.') {
            continue;
        }
        let Some(btf) = detached_btf(&elf) else {
            continue;
        };
        let args_file = dir.join(format!("{name}.args"));
        let line = std::fs::read_to_string(&args_file)
            .map_err(|e| format!("{}: {e}", args_file.display()))?;
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        let module = args
            .iter()
            .any(|a| a == "-b" || a == "--btf_base" || a.starts_with("--btf_base="));
        out.push(DetachedInput {
            elf,
            btf,
            args,
            module,
        });
    }
    out.sort_by(|a, b| a.elf.cmp(&b.elf));
    Ok(out)
}

/// List a capture directory (its Linux 6.12 inputs: Linux 7.3 ones, with a `.BTF.1`
/// beside them, are [`read_detached`]'s); the error names it.
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
                && detached_btf(p).is_none()
        })
        .collect();
    files.sort();
    Ok(Capture { base, files })
}
