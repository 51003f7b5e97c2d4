//! Every `cargo xtask` command and flag, declared once (clap derive), the way rust-analyzer
//! keeps its xtask flags in one file. Each command module takes its own struct from here;
//! `cargo xtask <command> --help` prints what is declared below, defaults and environment
//! variables included.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Orchestration of the per-argument kfunc flags prototype: kernel builds, the Rust sample
/// module, VM selftests, the demo, benchmarks and the kernel's own test runners.
///
/// Kernels are cached in ~/.cache/kfunc-args/kernel/<variant>-<hash of the inputs>/; every
/// command installs what it needs (Debian packages, rust-src, bindgen-cli) and says so.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    after_help = "Environment:\n  \
        KFUNC_VM_ACCEL=tcg|kvm  QEMU accelerator of every VM step (default tcg)\n  \
        KFUNC_ARGS_NO_ADOPT=1   build the unpatched kernel cold even if a finished manual \
        build is there to copy\n  \
        CARGO_TARGET_DIR        where the module builds and VM work directories go \
        (default target/)\n  \
        HOME                    the kernel cache is ~/.cache/kfunc-args/"
)]
pub struct Xtask {
    /// The command to run.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// `cargo xtask <command>`.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Build, post-process, boot the patched kernel, show a per-argument flag enforced.
    Demo(Demo),
    /// Every test: kernels, fmt, clippy, cargo test, VM selftests, ctest, parity, regress.
    Test(Test),
    /// Build the patched and/or unpatched kernel (cached on their inputs).
    Kernel(Kernel),
    /// Build the Rust sample module (kernel-sample/).
    Sample(Sample),
    /// The BPF selftests (selftests/) in a QEMU VM.
    Selftests(Selftests),
    /// Boot any kernel in QEMU with a busybox initramfs, modules and files, run a command.
    Vm(Vm),
    /// btfids-post against the stock resolve_btfids on the same inputs: time, memory, bytes.
    Bench(Bench),
    /// The whole patched kernel built with btfids-post as Kbuild's RESOLVE_BTFIDS, compared
    /// with the stock tool's output.
    Dropin(Dropin),
    /// The kernel's own test_verifier on the unpatched and the patched kernel.
    Regress(Regress),
    /// The kernel's test_progs (kfunc and verifier subsets) on both kernels of the BPF
    /// selftests' config: four runs.
    Progs(Progs),
    /// The verifier's work (verdict, instructions, states, time) per selftests program on
    /// both kernels of the BPF selftests' config.
    Veristat(Veristat),
    /// Print the C header generated from kfunc-layout (include/linux/btf_kfunc_args.h).
    GenHeader(GenHeader),
    /// Write the in-tree copy of kfunc-macros (rust/macros/kfunc.rs, rust/macros/kfunc/)
    /// into a kernel tree.
    GenRustMacros(GenRustMacros),
    /// The two representations of per-argument facts compared in size: extended set8
    /// entries against BTF decl tags on kfunc parameters, from `btfids-post audit` tables.
    ReprSizes(ReprSizes),
    /// Both series as `git format-patch --cover-letter` output: apply them with `git am` to
    /// the pristine source, write patches/0000-cover-letter.patch (text: RFC.md) and
    /// patches/rust/0000-cover-letter.patch (text: patches/rust/COVER.md).
    Series(Series),
    /// Every figure RFC.md quotes, with its command and source: the cheap ones recomputed
    /// and compared, the expensive ones read from their last recorded run.
    Figures(Figures),
}

/// `cargo xtask demo`.
#[derive(Debug, clap::Args)]
pub struct Demo {}

/// `cargo xtask test`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Ends in one line `N passed, N failed, N skipped`; exits 1 if any \
                        test failed. `cargo xtask progs` is counted as one skipped test."
)]
pub struct Test {
    /// Only the host part (fmt, clippy, cargo test); the kernel builds and VM steps are
    /// reported as skipped.
    #[arg(long)]
    pub no_vm: bool,
}

/// Which kernels to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelVariants {
    /// The 7.3 tree with patches/ applied.
    Patched,
    /// The 7.3 tree as Debian ships it.
    Unpatched,
    /// Unpatched, then patched.
    Both,
}

/// `cargo xtask kernel`.
#[derive(Debug, clap::Args)]
pub struct Kernel {
    /// Which kernel(s).
    #[arg(long, value_enum, default_value_t = KernelVariants::Patched)]
    pub variant: KernelVariants,
    /// The BPF selftests' configuration (the kernels of `cargo xtask progs`).
    #[arg(long)]
    pub selftests_config: bool,
    /// Then run kernel/ctest/run.sh (C kfunc set smoke test in QEMU) on both variants.
    #[arg(long)]
    pub ctest: bool,
}

/// Which builds of the Rust sample (and its selftests) to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SampleVariants {
    /// Per-argument flags (`#[kfunc(...)]`), on the patched kernel.
    Args,
    /// The same kfuncs with name suffixes only, on the patched kernel.
    Legacy,
    /// The per-argument build on the unpatched kernel, which must refuse it.
    Compat,
    /// Args and legacy.
    Both,
    /// The in-tree `samples/rust/rust_kfunc.ko` as the patched kernel's own build made it
    /// (the tree's resolve_btfids, rust series), on the patched kernel.
    Intree,
    /// Args, legacy, compat and intree.
    All,
}

/// `cargo xtask sample`.
#[derive(Debug, clap::Args)]
pub struct Sample {
    /// Which build(s) of the sample module (compat is the args build).
    #[arg(long, value_enum, default_value_t = SampleVariants::Both)]
    pub variant: SampleVariants,
}

/// `cargo xtask selftests`.
#[derive(Debug, clap::Args)]
pub struct Selftests {
    /// Which variant(s) to run.
    #[arg(long, value_enum, default_value_t = SampleVariants::Both)]
    pub variant: SampleVariants,
    /// Echo the VM's console while it runs.
    #[arg(long)]
    pub echo: bool,
    /// Only these tests (comma-separated program names).
    #[arg(long, value_delimiter = ',', value_name = "TEST,..")]
    pub only: Vec<String>,
    /// Show N lines of each program's verifier log.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub show_log: u32,
}

/// `cargo xtask vm`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Environment: KFUNC_VM_ACCEL=tcg|kvm chooses QEMU's accelerator \
                        (default tcg; every VM command reads it)."
)]
pub struct Vm {
    /// The kernel image to boot (bzImage).
    #[arg(long, value_name = "BZIMAGE")]
    pub kernel: PathBuf,
    /// A module to insmod before the command (and rmmod after it); repeatable, in order.
    #[arg(long = "module", value_name = "X.ko")]
    pub modules: Vec<PathBuf>,
    /// A file to copy into the initramfs: HOST_PATH[:GUEST_PATH] (default guest path:
    /// /<file name>); repeatable.
    #[arg(long = "file", value_name = "SRC[:DST]")]
    pub files: Vec<String>,
    /// VM time limit in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
    /// Where the initramfs and console.log go (relative paths are taken from the current
    /// directory).
    #[arg(long, value_name = "DIR", default_value = "target/kfunc-vm/manual")]
    pub work_dir: PathBuf,
    /// The command to run in the VM (after `--`; default `true`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct Bench {
    /// Capture directories (`DIR[:DIR..]`, repeatable; default: every Linux 7.3 capture in
    /// ~/.cache/kfunc-args/kernel/*/linux/btfids-inputs).
    #[arg(long = "inputs", value_name = "DIR[:DIR..]", value_delimiter = ':')]
    pub inputs: Vec<PathBuf>,
    /// Timed rounds per input and tool (the median is reported).
    #[arg(long, value_name = "N", default_value_t = 9,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
}

/// Which kernel `cargo xtask dropin` links with btfids-post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DropinConfig {
    /// The patched test kernel (`cargo xtask kernel`) plus in-tree modules added for the
    /// purpose, the repository's out-of-tree C modules, then the VM checks.
    Test,
    /// The unpatched kernel of the BPF selftests' config (`cargo xtask kernel
    /// --selftests-config --variant unpatched`, a copy of its cached tree relinked) and the
    /// selftests' test modules (`test_kmods/`: bpf_testmod and its companions); compare
    /// only, no VM step.
    Selftests,
}

/// `cargo xtask dropin`.
#[derive(Debug, clap::Args)]
pub struct Dropin {
    /// Build and compare only; do not boot the drop-in kernel (the selftests config has
    /// no VM step).
    #[arg(long)]
    pub no_vm: bool,
    /// Which kernel's objects go through both tools.
    #[arg(long, value_enum, default_value_t = DropinConfig::Test)]
    pub config: DropinConfig,
}

/// `cargo xtask regress`.
#[derive(Debug, clap::Args)]
pub struct Regress {}

/// `cargo xtask progs`.
#[derive(Debug, clap::Args)]
pub struct Progs {
    /// test_progs -t patterns, comma-separated (default: the kfunc and verifier subsets,
    /// `SUBSETS` in xtask/src/progs.rs).
    #[arg(long, value_name = "PATTERNS")]
    pub tests: Option<String>,
    /// test_progs -d patterns, comma-separated.
    #[arg(long, value_name = "PATTERNS", default_value = "")]
    pub deny: String,
    /// Per-run VM time limit in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 5400)]
    pub timeout: u64,
    /// Only the series' own selftests: test_progs built from the source with the
    /// tools/testing/selftests/ diffs of patches/*.patch applied (incrementally, from the
    /// unpatched build), bpf_testmod with the series' test_kmods/ diffs, one run on the
    /// patched kernel of the tests the series adds (or --tests).
    #[arg(long)]
    pub series_tests: bool,
}

/// `cargo xtask veristat`.
#[derive(Debug, clap::Args)]
pub struct Veristat {
    /// Which BPF objects of the selftests' build, as a shell glob.
    #[arg(long, value_name = "GLOB", default_value = "*.bpf.o")]
    pub objects: String,
}

/// `cargo xtask repr-sizes`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "--measure: each input's gen-btf.sh step run twice by btfids-post (release \
                  build), without and with --arg-decl-tags, on the same ELF and pahole BTF; \
                  prints the .BTF bytes the tags add (OBJ.BTF sizes compared), the tags and \
                  kfuncs tagged, and the extended set8 entries of the same object with their \
                  20 bytes each, per object and in total, and (on the default inputs only) \
                  records the summary for `cargo xtask figures`. Default inputs: the capture directory \
                  (linux/btfids-inputs/) of the cached patched tinyconfig kernel (else of the \
                  newest finished patched-* build), the out-of-tree modules of the newest \
                  `cargo xtask dropin` tree (kernel/dropin-*/oot/: kernel/ctest's C modules) \
                  and the bpf_testmod.ko with per-argument flags `cargo xtask progs` built \
                  (regress/<version>/bpf_testmod-selftests-patched-args/). A .ko is taken as \
                  gen-btf.sh got it: relinked into a work directory from its objects by the \
                  command its .ko.cmd saved, then pahole as its tree's Kbuild runs it (without \
                  -j), split on the tree's vmlinux."
)]
pub struct ReprSizes {
    /// `btfids-post audit` tables (text form, as in docs/); default: docs/audit-7.3*.txt.
    #[arg(value_name = "AUDIT.txt", conflicts_with = "measure")]
    pub tables: Vec<PathBuf>,
    /// Measure the decl tags instead of computing them: btfids-post with and without
    /// --arg-decl-tags on real gen-btf.sh inputs (see below).
    #[arg(long)]
    pub measure: bool,
    /// With --measure, instead of the default inputs: a capture directory of
    /// btfids-post/scripts/resolve-btfids-capture.sh (every ELF with a .BTF.1 beside it) or
    /// a built module (X.ko with its .X.ko.cmd and objects); repeatable.
    #[arg(long = "input", value_name = "PATH", requires = "measure")]
    pub inputs: Vec<PathBuf>,
}

/// `cargo xtask series`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Applies patches/*.patch, then patches/rust/*.patch, with `git am` to the \
                  pristine files of the cached linux-source-7.3 (only the files they touch), \
                  runs `git format-patch --cover-letter --cover-from-description=subject` on \
                  each series with its letter's subject and text, and writes the two \
                  0000-cover-letter.patch files and the shortlog and diffstat in RFC.md's \
                  \"Patches\" section. Fails if a patch is not what git am and git \
                  format-patch make of it, or if the subjects are not numbered as the files."
)]
pub struct Series {
    /// Write nothing: fail if a cover letter, a patch or RFC.md's shortlog and diffstat
    /// differ from what git generates (skipped, not fetched, without a cached source).
    #[arg(long)]
    pub check: bool,
}

/// `cargo xtask figures`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Recomputes the audit counts and representation sizes from docs/audit-7.3*.txt, \
                  the compile-fail count, the shortlog and diffstat (series --check); reads \
                  the expensive ones (test, regress, progs, veristat, dropin) from \
                  ~/.cache/kfunc-args/figures/<command>.txt, which those commands write when \
                  they finish, and the selftests' verdicts from \
                  target/kfunc-selftests/matrix.txt. Each figure is the phrase RFC.md must \
                  contain; exits 1 if one differs."
)]
pub struct Figures {}

/// `cargo xtask gen-header`.
#[derive(Debug, clap::Args)]
pub struct GenHeader {}

/// `cargo xtask gen-rust-macros`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Copies the sources kfunc-macros shares with the kernel verbatim and \
                  generates layout.rs from kfunc-layout; prints the paths written. The first \
                  patch of patches/rust/ must hold exactly these files (cargo test -p \
                  kfunc-macros --test in_tree); patches/rust/README.md shows the round trip."
)]
pub struct GenRustMacros {
    /// Top of the kernel source tree to write into (it must have rust/macros/lib.rs).
    #[arg(value_name = "TREE")]
    pub tree: PathBuf,
}

/// Every `cargo xtask ...` the repository's Markdown files show, in code spans and code
/// blocks: optional groups `[...]` taken, each `a|b|c` alternative tried, placeholders
/// for numbers given one. Each must parse; a renamed flag or value fails here.
pub fn documented_invocations(md: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in md.lines() {
        let mut rest = line;
        while let Some(i) = rest.find("cargo xtask") {
            let tail = &rest[i + "cargo xtask".len()..];
            let end = tail.find(['`', '#', '"', ')']).unwrap_or(tail.len());
            let words: Vec<String> = tail[..end]
                .split_whitespace()
                .map(|w| w.trim_matches(['[', ']', ',', '.', ':', ';']).to_string())
                .filter(|w| !w.is_empty() && w != "..")
                .map(|w| match w.as_str() {
                    "N" | "S" | "SECONDS" => "1".to_string(),
                    _ => w,
                })
                .collect();
            rest = &tail[end..];
            if words.is_empty() {
                continue;
            }
            let alts = words.iter().position(|w| w.contains('|'));
            match alts {
                None => out.push(words),
                Some(j) => {
                    for alt in words[j].split('|') {
                        let mut v = words.clone();
                        v[j] = alt.to_string();
                        // Later alternatives: the first choice of each.
                        for w in v.iter_mut() {
                            if let Some((first, _)) = w.split_once('|') {
                                *w = first.to_string();
                            }
                        }
                        out.push(v);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_declaration_is_consistent() {
        Xtask::command().debug_assert();
    }

    #[test]
    fn every_command_has_help() {
        let cmd = Xtask::command();
        for sub in cmd.get_subcommands() {
            let name = sub.get_name().to_string();
            let e = Xtask::try_parse_from(["cargo xtask", &name, "--help"]).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp,
                "{name} --help"
            );
            assert!(sub.get_about().is_some(), "{name} has no description");
        }
    }

    /// The `vm` example of the README, exactly as written.
    #[test]
    fn vm_example_parses() {
        let x = Xtask::try_parse_from(
            "cargo-xtask vm --kernel BZIMAGE --module X.ko --file SRC:DST -- CMD".split(' '),
        )
        .unwrap();
        let Cmd::Vm(vm) = x.cmd else { panic!() };
        assert_eq!(vm.modules, [PathBuf::from("X.ko")]);
        assert_eq!(vm.files, ["SRC:DST"]);
        assert_eq!(vm.command, ["CMD"]);
    }

    fn markdown_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() && !name.starts_with('.') && name != "target" {
                markdown_files(&p, out);
            } else if name.ends_with(".md") {
                out.push(p);
            }
        }
    }

    #[test]
    fn every_documented_invocation_parses() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let mut files = Vec::new();
        markdown_files(root, &mut files);
        let mut checked = 0;
        let mut bad = Vec::new();
        for f in &files {
            let md = std::fs::read_to_string(f).unwrap();
            for argv in documented_invocations(&md) {
                // RFC.md names commands in prose ("cargo xtask" alone): nothing to parse.
                if argv.is_empty() {
                    continue;
                }
                // `cargo xtask <command> --help`: every command.
                let expanded: Vec<Vec<String>> = if argv[0] == "<command>" {
                    Xtask::command()
                        .get_subcommands()
                        .map(|c| {
                            let mut v = argv.clone();
                            v[0] = c.get_name().to_string();
                            v
                        })
                        .collect()
                } else {
                    vec![argv]
                };
                for argv in expanded {
                    checked += 1;
                    let full = std::iter::once("cargo-xtask".to_string()).chain(argv.clone());
                    match Xtask::try_parse_from(full) {
                        Ok(_) => {}
                        // `--help` parses into the help text.
                        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {}
                        Err(e) => bad.push(format!(
                            "{}: cargo xtask {}: {e}",
                            f.display(),
                            argv.join(" ")
                        )),
                    }
                }
            }
        }
        assert!(checked > 20, "only {checked} documented invocations found");
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}
