//! `btfids-post`: command line.
//!
//! - Linux 7.3 (`scripts/gen-btf.sh`): `btfids-post [-v] --btf FILE [-b FILE]
//!   [--fatal_warnings] [--distill_base] [--arg-decl-tags] OBJ` writes `OBJ.BTF` and
//!   `OBJ.BTF_ids` and leaves OBJ alone; `btfids-post --patch_btfids FILE OBJ` copies FILE
//!   over OBJ's `.BTF_ids`.
//! - Linux 6.12: `btfids-post [-v] [-b FILE] [--strict] [--legacy-set8] ELF` resolves ELF in
//!   place (with `--btf FILE --in-place`, BTF from FILE).
//! - `btfids-post dump ELF`, `btfids-post check ELF`, `btfids-post audit ...` inspect.
//! - `btfids-post annotate HEADER ELF`: the kfunc facts of ELF's sets written into the C
//!   header bpftool printed from its BTF (`--check`: verify an annotated header).

use btfids_post::pipeline::{run, Mode};
use btfids_post::{annotate, detached, dump, Options};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod audit;

/// Resolve BTF ids in an ELF object (drop-in for tools/bpf/resolve_btfids of Linux 7.3 and
/// 6.12), write extended kfunc sets and BTF for Rust kfuncs.
#[derive(Parser, Debug)]
#[command(
    name = "btfids-post",
    version,
    after_help = "Linux 7.3 (scripts/gen-btf.sh): `btfids-post --btf OBJ.BTF.1 [-b vmlinux] OBJ` \
writes OBJ.BTF and OBJ.BTF_ids, OBJ is not modified; `btfids-post --patch_btfids OBJ.BTF_ids OBJ`. \
Linux 6.12: `btfids-post [-b vmlinux] OBJ` resolves OBJ in place.\n\
Also: `btfids-post dump [-b FILE] [--json] ELF`, `btfids-post check [-b FILE] ELF`, `btfids-post audit`, \
`btfids-post annotate [-b FILE] [--check] [-o OUT] HEADER ELF`.",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
)]
struct Cli {
    /// `dump`, `check` or `audit` (instead of resolving ELF).
    #[command(subcommand)]
    command: Option<Command>,
    /// Be more verbose (repeat for more).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    verbose: u8,
    /// Input BTF (raw, as pahole --btf_encode_detached writes it, or an ELF's .BTF): the
    /// Linux 7.3 flow, writing OBJ.BTF and OBJ.BTF_ids.
    #[arg(long = "btf", value_name = "FILE")]
    btf: Option<PathBuf>,
    /// Path of the file providing base BTF (vmlinux, for modules).
    #[arg(short = 'b', long = "btf_base", value_name = "FILE")]
    btf_base: Option<PathBuf>,
    /// Turn warnings into errors (non-zero exit, nothing written).
    #[arg(long = "fatal_warnings")]
    fatal_warnings: bool,
    /// With --btf and -b: distill the base BTF into OBJ.BTF.base and write OBJ.BTF split on
    /// it (Kbuild passes it for out-of-tree modules).
    #[arg(long = "distill_base")]
    distill_base: bool,
    /// Copy FILE (an OBJ.BTF_ids written earlier) over the .BTF_ids section of OBJ.
    #[arg(long = "patch_btfids", value_name = "FILE")]
    patch_btfids: Option<PathBuf>,
    /// With --btf: resolve OBJ in place as Linux 6.12's resolve_btfids did, taking the BTF
    /// from FILE, instead of writing OBJ.BTF and OBJ.BTF_ids.
    #[arg(long = "in-place", requires = "btf")]
    in_place: bool,
    /// Fail on unresolved names (default: warn, like resolve_btfids).
    #[arg(long)]
    strict: bool,
    /// Write extended sets as legacy 8-byte {id, flags} pairs (for unpatched kernels).
    #[arg(long = "legacy-set8")]
    legacy_set8: bool,
    /// With --btf: also write the per-argument facts of the kfuncs of extended sets as BTF
    /// decl tags on their FUNCs, one per (argument, fact), component_idx = argument, valued
    /// `kf_param:<fact>` (the representation the RFC weighs against the extended set8;
    /// off by default, the output is then resolve_btfids'). Ignored by --patch_btfids, so
    /// that Kbuild's RESOLVE_BTFIDS can carry it.
    #[arg(long = "arg-decl-tags", conflicts_with = "in_place")]
    arg_decl_tags: bool,
    /// The ELF object (vmlinux or a .ko).
    #[arg(required = true)]
    elf: Option<PathBuf>,
}

/// The inspecting subcommands (hidden from the top-level help, which names them in its
/// last lines).
#[derive(Subcommand, Debug)]
enum Command {
    /// Every set of ELF, its entries, flags and per-argument flags.
    #[command(hide = true, about = "`dump` / `check` arguments", long_about = None)]
    Dump(Inspect),
    /// Verify an already processed ELF; lists problems.
    #[command(hide = true, about = "`dump` / `check` arguments", long_about = None)]
    Check(Inspect),
    /// The migration table of today's kfuncs ([`audit`]).
    #[command(hide = true, disable_help_flag = true)]
    Audit(AuditArgs),
    /// The kfunc facts of ELF's sets written into the C header bpftool printed from its
    /// BTF (`bpftool btf dump file ELF format c`), or checked there.
    #[command(hide = true)]
    Annotate(AnnotateArgs),
}

/// `annotate` arguments.
#[derive(Args, Debug)]
struct AnnotateArgs {
    /// Path of the file providing base BTF (vmlinux), for a module without `.BTF.base`.
    #[arg(short = 'b', long = "btf_base", value_name = "FILE")]
    btf_base: Option<PathBuf>,
    /// Verify that HEADER (annotated) carries exactly the facts of ELF's sets; write
    /// nothing, exit 1 listing every disagreement.
    #[arg(long)]
    check: bool,
    /// Write the annotated header to OUT (default: standard output).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "OUT",
        conflicts_with = "check"
    )]
    output: Option<PathBuf>,
    /// The header (`-`: standard input).
    header: PathBuf,
    /// The module (or vmlinux) whose sets hold the facts.
    elf: PathBuf,
}

/// `audit` arguments: `[--json] VMLINUX [MODULES...]`.
#[derive(Args, Debug)]
struct AuditArgs {
    /// JSON output.
    #[arg(long)]
    json: bool,
    /// Print the usage line.
    #[arg(short = 'h', long = "help")]
    help: bool,
    /// VMLINUX, then MODULES.
    files: Vec<PathBuf>,
}

/// `dump` / `check` arguments.
#[derive(Args, Debug)]
struct Inspect {
    /// Path of the file providing base BTF (vmlinux, for modules).
    #[arg(short = 'b', long = "btf_base", value_name = "FILE")]
    btf_base: Option<PathBuf>,
    /// JSON output (dump).
    #[arg(long)]
    json: bool,
    /// Fail on unresolved names (check).
    #[arg(long)]
    strict: bool,
    /// The ELF object.
    elf: PathBuf,
}

/// The command lines Kbuild runs (the resolve_btfids flags in their plain spelling, one
/// object), read without clap: building clap's parser costs more time and memory than the
/// rest of a `--patch_btfids` run. Anything else (`--flag=value`, bundled short flags,
/// help, subcommands, mistakes) returns `None` and goes through clap.
fn kbuild_cli(args: &[std::ffi::OsString]) -> Option<Cli> {
    let mut cli = Cli {
        command: None,
        verbose: 0,
        btf: None,
        btf_base: None,
        fatal_warnings: false,
        distill_base: false,
        patch_btfids: None,
        in_place: false,
        strict: false,
        legacy_set8: false,
        arg_decl_tags: false,
        elf: None,
    };
    let mut it = args.iter();
    let value = |it: &mut std::slice::Iter<'_, std::ffi::OsString>, slot: &mut Option<PathBuf>| {
        let v = it.next()?;
        if slot.is_some() || v.is_empty() || v.as_encoded_bytes().starts_with(b"-") {
            return None;
        }
        *slot = Some(PathBuf::from(v));
        Some(())
    };
    let flag = |b: &mut bool| (!std::mem::replace(b, true)).then_some(());
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("-v" | "--verbose") => cli.verbose = cli.verbose.checked_add(1)?,
            Some("--fatal_warnings") => flag(&mut cli.fatal_warnings)?,
            Some("--distill_base") => flag(&mut cli.distill_base)?,
            Some("--in-place") => flag(&mut cli.in_place)?,
            Some("--strict") => flag(&mut cli.strict)?,
            Some("--legacy-set8") => flag(&mut cli.legacy_set8)?,
            Some("--arg-decl-tags") => flag(&mut cli.arg_decl_tags)?,
            Some("--btf") => value(&mut it, &mut cli.btf)?,
            Some("-b" | "--btf_base") => value(&mut it, &mut cli.btf_base)?,
            Some("--patch_btfids") => value(&mut it, &mut cli.patch_btfids)?,
            Some("dump" | "check" | "audit" | "annotate") => return None,
            _ if a.is_empty() || a.as_encoded_bytes().starts_with(b"-") => return None,
            _ if cli.elf.is_some() => return None,
            _ => cli.elf = Some(PathBuf::from(a)),
        }
    }
    // What clap's `conflicts_with` refuses goes to clap, which says why.
    let tags_ok = !cli.arg_decl_tags || !cli.in_place;
    (cli.elf.is_some() && (!cli.in_place || cli.btf.is_some()) && tags_ok).then_some(cli)
}

// glibc's `mallopt()`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" {
    fn mallopt(param: i32, value: i32) -> i32;
}

/// Keep freed memory for reuse: large buffers come from the heap instead of a mapping of
/// their own each (`M_MMAP_THRESHOLD`), and the heap is not trimmed (`M_TRIM_THRESHOLD`),
/// so the buffers of one phase are reused by the next instead of faulting in new pages.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any thread exists.
    unsafe {
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        mallopt(M_MMAP_THRESHOLD, 256 << 20);
        mallopt(M_TRIM_THRESHOLD, 512 << 20);
    }
}

fn main() -> ExitCode {
    tune_malloc();
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let cli = match kbuild_cli(&args) {
        Some(cli) => cli,
        None => match Cli::try_parse() {
            Ok(cli) => cli,
            Err(e) => return parse_error(e),
        },
    };
    match cli.command {
        Some(Command::Audit(a)) => audit::main(a.json, a.help, &a.files),
        Some(Command::Dump(a)) => dump(&a),
        Some(Command::Check(a)) => check(&a),
        Some(Command::Annotate(a)) => annotate_header(&a),
        None => {
            let elf = cli.elf.expect("required without a subcommand");
            let opts = Options {
                verbose: cli.verbose,
                btf: cli.btf,
                base: cli.btf_base,
                strict: cli.strict,
                legacy_set8: cli.legacy_set8,
                fatal_warnings: cli.fatal_warnings,
                distill_base: cli.distill_base,
                arg_decl_tags: cli.arg_decl_tags,
            };
            if let Some(blob) = &cli.patch_btfids {
                return patch_btfids(blob, &elf, opts.verbose);
            }
            if opts.btf.is_some() && !cli.in_place {
                return run_detached(&elf, &opts);
            }
            if opts.distill_base {
                eprintln!(
                    "btfids-post: error: --distill_base needs --btf (the Linux 7.3 flow of scripts/gen-btf.sh)"
                );
                return ExitCode::FAILURE;
            }
            if opts.arg_decl_tags {
                eprintln!(
                    "btfids-post: error: --arg-decl-tags needs --btf (the Linux 7.3 flow of scripts/gen-btf.sh)"
                );
                return ExitCode::FAILURE;
            }
            run_in_place(&elf, &opts)
        }
    }
}

/// A command line clap refuses: its message and status, except for `audit`'s own wording
/// of an unknown option.
fn parse_error(e: clap::Error) -> ExitCode {
    let in_audit = std::env::args().nth(1).as_deref() == Some("audit");
    if in_audit && e.kind() == ErrorKind::UnknownArgument {
        if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) {
            return audit::unknown_option(arg);
        }
    }
    e.exit()
}

fn inspect_options(a: &Inspect) -> Options {
    Options {
        base: a.btf_base.clone(),
        strict: a.strict,
        ..Default::default()
    }
}

fn dump(a: &Inspect) -> ExitCode {
    match dump::dump(&a.elf, &inspect_options(a)) {
        Ok(sets) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&sets).expect("serializable")
                );
            } else {
                print!("{}", dump::dump_text(&sets));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("btfids-post: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(a: &Inspect) -> ExitCode {
    match run(&a.elf, &inspect_options(a), Mode::Check) {
        Ok(o) => {
            for w in &o.warnings {
                eprintln!("{w}");
            }
            if o.problems.is_empty() {
                println!("{}: ok", a.elf.display());
                ExitCode::SUCCESS
            } else {
                for p in &o.problems {
                    println!("{}: {p}", a.elf.display());
                }
                eprintln!("btfids-post: check: {} problem(s)", o.problems.len());
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("btfids-post: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `annotate`: the header with the facts of the module's sets, or (`--check`) whether it
/// has exactly those. Counts go to standard error.
fn annotate_header(a: &AnnotateArgs) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("btfids-post: error: {msg}");
        ExitCode::FAILURE
    };
    let header = if a.header.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map(|_| s)
    } else {
        std::fs::read_to_string(&a.header)
    };
    let header = match header {
        Ok(h) => h,
        Err(e) => return fail(format!("{}: {e}", a.header.display())),
    };
    let opts = Options {
        base: a.btf_base.clone(),
        ..Default::default()
    };
    let sets = match dump::dump(&a.elf, &opts) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    let kfuncs = match annotate::facts(&sets) {
        Ok(k) => k,
        Err(p) => return fail(format!("{}: {}", a.elf.display(), p.join("\n  "))),
    };
    let object = a.elf.file_name().map_or_else(
        || a.elf.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let counts = |s: &annotate::Stats| {
        format!(
            "{} kfuncs of {object}, {} prototypes, {} parameters and {} functions annotated",
            s.kfuncs, s.prototypes, s.args, s.functions
        )
    };
    if a.check {
        let (problems, stats) = annotate::check(&header, &kfuncs, &object);
        if problems.is_empty() {
            println!(
                "{}: ok: {} (agree with its sets)",
                a.header.display(),
                counts(&stats)
            );
            return ExitCode::SUCCESS;
        }
        for p in &problems {
            println!("{}: {p}", a.header.display());
        }
        eprintln!(
            "btfids-post: annotate --check: {} disagreement(s) between {} and {}",
            problems.len(),
            a.header.display(),
            a.elf.display()
        );
        return ExitCode::FAILURE;
    }
    match annotate::annotate(&header, &kfuncs, &object) {
        Ok((text, stats)) => {
            let written = match &a.output {
                Some(o) => std::fs::write(o, &text).map_err(|e| format!("{}: {e}", o.display())),
                None => {
                    use std::io::Write;
                    std::io::stdout()
                        .write_all(text.as_bytes())
                        .map_err(|e| format!("stdout: {e}"))
                }
            };
            if let Err(e) = written {
                return fail(e);
            }
            eprintln!("btfids-post annotate: {}", counts(&stats));
            ExitCode::SUCCESS
        }
        Err(p) => fail(format!(
            "{} against {}:\n  {}",
            a.header.display(),
            a.elf.display(),
            p.join("\n  ")
        )),
    }
}

/// The exit status of a failed drop-in run: resolve_btfids' `main()` returns -1 on its
/// failures (exit status 255; a few paths of 7.3's return a negative errno instead, e.g.
/// -EINVAL, 234, for an arena type that is not a pointer). Kbuild only tests for non-zero.
/// `dump`, `check` and `audit` exit with 1.
fn failed() -> ExitCode {
    ExitCode::from(255)
}

fn patch_btfids(blob: &std::path::Path, obj: &std::path::Path, verbose: u8) -> ExitCode {
    match detached::patch_btfids(blob, obj) {
        Ok(changed) => {
            if verbose > 0 {
                eprintln!(
                    "{} {} into section .BTF_ids of {}",
                    if changed {
                        "copied"
                    } else {
                        "same bytes, not rewritten:"
                    },
                    blob.display(),
                    obj.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("btfids-post: error: {e}");
            failed()
        }
    }
}

fn run_detached(obj: &std::path::Path, opts: &Options) -> ExitCode {
    match detached::run_detached(obj, opts) {
        Ok(o) => {
            for w in &o.warnings {
                eprintln!("{w}");
            }
            if opts.verbose > 0 {
                for d in &o.debug {
                    eprintln!("{d}");
                }
                eprintln!(
                    "wrote {} ({} kfuncs tagged, {} types generated for Rust kfuncs)",
                    o.written
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    o.kfuncs,
                    o.types_added
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("btfids-post: error: {e}");
            failed()
        }
    }
}

fn run_in_place(elf: &std::path::Path, opts: &Options) -> ExitCode {
    match run(elf, opts, Mode::Write) {
        Ok(o) => {
            for w in &o.warnings {
                eprintln!("{w}");
            }
            if opts.verbose > 0 {
                for d in &o.debug {
                    eprintln!("{d}");
                }
                eprintln!(
                    "update {} for {}{}",
                    if o.changed { "ok" } else { "not needed" },
                    elf.display(),
                    if o.btf_grown {
                        format!(" (.BTF grew by {} types)", o.types_added)
                    } else {
                        String::new()
                    }
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("btfids-post: error: {e}");
            failed()
        }
    }
}
