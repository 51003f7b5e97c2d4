//! `cargo xtask <command>`: orchestration of the per-argument kfunc flags prototype.
//!
//! Each command lives in its own module; `main` only dispatches.

use std::process::ExitCode;

mod bench;
mod deps;
mod dropin;
mod kernel;
mod regress;
mod sample;
mod selftests;
mod test;
mod vm;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <command>\n\
         \n\
         commands:\n\
         \x20 test           run every test (fmt, clippy, cargo test, VM selftests)\n\
         \x20 gen-header     print the C header generated from kfunc-layout\n"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = &args[args.len().min(1)..];
    let result: Result<(), String> = match args.first().map(String::as_str) {
        Some("bench") => bench::run(rest),
        Some("kernel") => kernel::run(rest),
        Some("dropin") => dropin::run(rest),
        Some("regress") => regress::run(rest),
        Some("test") => test::run(rest),
        Some("vm") => vm::run(rest),
        Some("sample") => sample::run(rest),
        Some("selftests") => selftests::run(rest),
        Some("demo") => selftests::demo(rest),
        Some("gen-header") => {
            print!("{}", kfunc_layout::c_header());
            Ok(())
        }
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}
