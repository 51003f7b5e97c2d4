//! `btfids-post`: command line. `btfids-post [-v] [-b FILE] [--btf FILE] [--strict]
//! [--legacy-set8] ELF` resolves like `resolve_btfids`; `btfids-post dump ELF` and
//! `btfids-post check ELF` inspect an already processed file.

use btfids_post::pipeline::{run, Mode};
use btfids_post::{dump, Options};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

mod audit;

/// Resolve BTF ids in an ELF object (drop-in for tools/bpf/resolve_btfids), write extended
/// kfunc sets and BTF for Rust kfuncs.
#[derive(Parser, Debug)]
#[command(
    name = "btfids-post",
    version,
    after_help = "Also: `btfids-post dump [-b FILE] [--json] ELF` and `btfids-post check [-b FILE] ELF`."
)]
struct Cli {
    /// Be more verbose (repeat for more).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    verbose: u8,
    /// BTF data (ELF with .BTF, or raw BTF) to use instead of the object's .BTF.
    #[arg(long = "btf", value_name = "FILE")]
    btf: Option<PathBuf>,
    /// Path of the file providing base BTF (vmlinux, for modules).
    #[arg(short = 'b', long = "btf_base", value_name = "FILE")]
    btf_base: Option<PathBuf>,
    /// Fail on unresolved names (default: warn, like resolve_btfids).
    #[arg(long)]
    strict: bool,
    /// Write extended sets as legacy 8-byte {id, flags} pairs (for unpatched kernels).
    #[arg(long = "legacy-set8")]
    legacy_set8: bool,
    /// The ELF object (vmlinux or a .ko), modified in place.
    elf: PathBuf,
}

/// `dump` / `check` arguments.
#[derive(Parser, Debug)]
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

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    match argv.get(1).map(String::as_str) {
        Some("audit") => audit::main(&argv[2..]),
        Some(cmd @ ("dump" | "check")) => {
            let a = Inspect::parse_from(
                std::iter::once(format!("btfids-post {cmd}")).chain(argv[2..].iter().cloned()),
            );
            let opts = Options {
                base: a.btf_base.clone(),
                strict: a.strict,
                ..Default::default()
            };
            if cmd == "dump" {
                match dump::dump(&a.elf, &opts) {
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
            } else {
                match run(&a.elf, &opts, Mode::Check) {
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
        }
        _ => {
            let cli = Cli::parse();
            let opts = Options {
                verbose: cli.verbose,
                btf: cli.btf,
                base: cli.btf_base,
                strict: cli.strict,
                legacy_set8: cli.legacy_set8,
            };
            match run(&cli.elf, &opts, Mode::Write) {
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
                            cli.elf.display(),
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
                    ExitCode::FAILURE
                }
            }
        }
    }
}
