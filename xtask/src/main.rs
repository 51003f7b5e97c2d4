//! `cargo xtask <command>`: orchestration of the per-argument kfunc flags prototype.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen-header") => print!("{}", kfunc_layout::c_header()),
        _ => {
            eprintln!("usage: cargo xtask gen-header");
            std::process::exit(2);
        }
    }
}
