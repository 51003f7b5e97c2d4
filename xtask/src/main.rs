//! `cargo xtask <command>`: orchestration of the per-argument kfunc flags prototype.
//!
//! Each command lives in its own module; `main` only dispatches.

use std::process::ExitCode;

mod bench;
mod deps;
mod dropin;
mod kernel;
mod progs;
mod regress;
mod sample;
mod selftests;
mod source;
mod test;
mod vm;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <command> [options]\n\
         \n\
         commands:\n\
         \x20 demo           build, post-process, boot the patched kernel, show a per-argument flag enforced\n\
         \x20 test           every test: kernels, fmt, clippy, cargo test, VM selftests, ctest, parity, regress\n\
         \x20 kernel         build the patched/unpatched kernels (cached) [--variant ..] [--ctest]\n\
         \x20 sample         build the Rust sample module [--variant args|legacy|both]\n\
         \x20 selftests      BPF selftests in QEMU [--variant args|legacy|compat|both|all]\n\
         \x20 vm             boot a kernel with a busybox initramfs (--kernel BZIMAGE ...)\n\
         \x20 bench          btfids-post vs resolve_btfids: time, memory, byte identity\n\
         \x20 dropin         whole kernel built with btfids-post as RESOLVE_BTFIDS, compared\n\
         \x20 regress        the kernel's test_verifier on both kernels\n\
         \x20 progs          the kernel's test_progs (kfunc, verifier subsets) on both kernels of the selftests' config\n\
         \x20 veristat       the verifier's work (verdict, insns, states, time) per selftests program on both kernels\n\
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
        Some("progs") => progs::run(rest),
        Some("veristat") => progs::veristat(rest),
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
