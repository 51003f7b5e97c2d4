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

/// Where a kernel tree keeps its resolve_btfids.
pub const TREE_TOOL: &str = "tools/bpf/resolve_btfids/resolve_btfids";

/// The `(name, cwd)` of every line of a capture's `args` file (`name<TAB>cwd<TAB>args`),
/// in order (later lines are later builds).
fn args_lines(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(args) = std::fs::read_to_string(dir.join("args")) else {
        return Vec::new();
    };
    args.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_string(), PathBuf::from(f.next()?)))
        })
        .collect()
}

/// The stock `resolve_btfids` of the build tree a capture came from: the working directory
/// of the last line of the capture's `args` file (the latest build: a capture directory
/// copied along with its kernel tree, then filled again by that tree's build, has the
/// lines of both) that has `tools/bpf/resolve_btfids/resolve_btfids`.
#[allow(dead_code)] // xtask compiles this file too, and asks each input (`DetachedInput::stock`)
pub fn stock_from_args(dir: &Path) -> Option<PathBuf> {
    args_lines(dir).into_iter().rev().find_map(|(_, cwd)| {
        let p = cwd.join(TREE_TOOL);
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
    /// The working directory of the build that captured it last (its kernel tree), from
    /// the capture's `args` file.
    pub tree: Option<PathBuf>,
}

impl DetachedInput {
    /// The stock tool of the tree this input came from: `tools/bpf/resolve_btfids/
    /// resolve_btfids` of [`DetachedInput::tree`], if it exists.
    pub fn stock(&self) -> Option<PathBuf> {
        let p = self.tree.as_ref()?.join(TREE_TOOL);
        p.exists().then_some(p)
    }

    /// The arguments to run a resolve_btfids on a copy of [`DetachedInput::elf`] as the
    /// build did (the copy's path goes after them): `--btf FILE`, `-b BASE` for a module
    /// (`base`: the capture's [`Capture::base`]; `None` when a module has none), and
    /// `--distill_base` when the build passed it. `--fatal_warnings` (the stock 7.3 tool
    /// never fails on it; btfids-post does) and `--verbose` are left out.
    pub fn replay_args(&self, base: Option<&Path>) -> Option<Vec<std::ffi::OsString>> {
        let mut args = vec!["--btf".into(), self.btf.clone().into_os_string()];
        if self.args.iter().any(|a| a == "--distill_base") {
            args.push("--distill_base".into());
        }
        if self.module {
            args.push("-b".into());
            args.push(base?.as_os_str().to_owned());
        }
        Some(args)
    }
}

/// Whether `tool` is Linux 7.3's resolve_btfids (the one `scripts/gen-btf.sh` calls: it
/// knows `--patch_btfids` and writes `OBJ.BTF`/`OBJ.BTF_ids` instead of changing OBJ):
/// by the `main.c` beside it when it sits in a kernel tree, else by its usage text.
pub fn is_73_tool(tool: &Path) -> bool {
    if let Ok(src) = std::fs::read_to_string(tool.with_file_name("main.c")) {
        return src.contains("patch_btfids");
    }
    std::process::Command::new(tool)
        .arg("-h")
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout).contains("patch_btfids")
                || String::from_utf8_lossy(&o.stderr).contains("patch_btfids")
        })
}

/// Whether `tool` knows this project's extended kfunc sets (patch 0002 of `patches/`:
/// 28-byte entries when the set8 header has `BTF_SET8_KFUNC_ARGS`): by the `main.c`
/// beside it when it sits in a kernel tree, else by the message only that patch adds.
pub fn knows_extended_sets(tool: &Path) -> bool {
    if let Ok(src) = std::fs::read_to_string(tool.with_file_name("main.c")) {
        return src.contains("BTF_SET8_KFUNC_ARGS");
    }
    let needle = b"FAILED extended set8";
    std::fs::read(tool).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
}

/// List the Linux 7.3 inputs of a capture directory (files with a `.BTF.1` beside them),
/// sorted; the base of the modules is [`Capture::base`] of [`read`].
pub fn read_detached(dir: &Path) -> Result<Vec<DetachedInput>, String> {
    let lines = args_lines(dir);
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
        let tree = lines
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, cwd)| cwd.clone());
        out.push(DetachedInput {
            elf,
            btf,
            args,
            module,
            tree,
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
