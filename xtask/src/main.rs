//! `cargo xtask <command>`: orchestration of the per-argument kfunc flags prototype.
//!
//! Every command and flag is declared once, in [`flags`]; each command lives in its own
//! module and takes its struct from there; `main` only parses and dispatches. Commands that
//! run tests return their [`test::Tally`] as a value: `cargo xtask test` adds them up, and a
//! command run alone exits 1 when its tally has a failure.

use clap::Parser;
use flags::Cmd;
use std::process::ExitCode;

mod bench;
mod deps;
mod dropin;
mod figures;
mod flags;
#[path = "../../kfunc-macros/gen/in_tree.rs"]
mod in_tree;
mod kernel;
mod progs;
mod regress;
mod repr;
mod sample;
mod selftests;
mod series;
mod source;
mod test;
mod vm;

fn main() -> ExitCode {
    let x = flags::Xtask::parse();
    let result: Result<Option<test::Tally>, String> = match &x.cmd {
        Cmd::Bench(f) => bench::run(f).map(|()| None),
        Cmd::Kernel(f) => kernel::run(f),
        Cmd::Dropin(f) => dropin::run(f).map(|()| None),
        Cmd::Regress(f) => regress::run(f).map(Some),
        Cmd::Progs(f) => progs::run(f).map(Some),
        Cmd::Veristat(f) => progs::veristat(f).map(Some),
        Cmd::Test(f) => test::run(f).map(Some),
        Cmd::Vm(f) => vm::run(f).map(|()| None),
        Cmd::Sample(f) => sample::run(f).map(|()| None),
        Cmd::Selftests(f) => selftests::run(f).map(Some),
        Cmd::Demo(f) => selftests::demo(f).map(|()| None),
        Cmd::ReprSizes(f) => repr::run(f).map(|()| None),
        Cmd::Series(f) => series::run(f).map(Some),
        Cmd::Figures(f) => figures::run(f).map(Some),
        Cmd::GenHeader(_) => {
            print!("{}", kfunc_layout::c_header());
            Ok(None)
        }
        Cmd::GenRustMacros(f) => in_tree::write(&kernel::repo_root().join("kfunc-macros"), &f.tree)
            .map(|paths| {
                for p in paths {
                    println!("{}", p.display());
                }
                None
            }),
    };
    if result.is_ok() {
        // The summary lines the command kept for `cargo xtask figures`.
        figures::save_records();
    }
    match result {
        Ok(Some(t)) if t.failed > 0 => ExitCode::FAILURE,
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}
