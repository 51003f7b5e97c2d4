//! Build dependencies of the xtask commands: Debian packages, the Rust standard library
//! sources and bindgen. Each `ensure_*` function checks first and only installs what is
//! missing, saying what it does; the other xtask commands reuse them.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Whether a Debian package is installed (`dpkg-query` says "install ok installed").
fn debian_package_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .stderr(Stdio::null())
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("ok installed"))
        .unwrap_or(false)
}

/// Run a command, inheriting stdout/stderr, and fail with a message naming it.
pub fn run_visible(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Output lines a user cannot act on, each with the explanation printed once instead.
const NOISE: &[(&str, &str)] = &[(
    "die__process_class: tag not supported",
    "pahole 1.24 does not know some DWARF tags rustc emits for Rust compile units (module \
     BTF step); it skips those types, and btfids-post writes the BTF of the Rust kfuncs \
     itself",
)];

/// Like [`run_visible`], with the [`NOISE`] lines of its output left out and explained once.
pub fn run_filtered(cmd: &mut Command, what: &str) -> Result<(), String> {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", cmd.get_program()))?;
    fn forward(r: impl std::io::Read, mut w: impl Write) -> Vec<usize> {
        let mut hidden = vec![0; NOISE.len()];
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            match NOISE.iter().position(|(p, _)| line.contains(p)) {
                Some(i) => hidden[i] += 1,
                None => {
                    let _ = writeln!(w, "{line}");
                }
            }
        }
        hidden
    }
    let out = child.stdout.take().expect("piped stdout");
    let err = child.stderr.take().expect("piped stderr");
    let t = std::thread::spawn(move || forward(err, std::io::stderr()));
    let mut hidden = forward(out, std::io::stdout());
    for (h, e) in hidden.iter_mut().zip(t.join().unwrap_or_default()) {
        *h += e;
    }
    let status = child.wait().map_err(|e| format!("{what}: {e}"))?;
    for ((pattern, why), n) in NOISE.iter().zip(hidden) {
        if n > 0 {
            eprintln!("({n} line(s) \"{pattern}\" left out: {why})");
        }
    }
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Run a command with stdin closed and its stdout and stderr appended to `log` (after a
/// `### what` line); on failure, the error names the command and shows the log's last lines.
pub fn run_logged(cmd: &mut Command, what: &str, log: &Path) -> Result<(), String> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    writeln!(f, "### {what}").map_err(|e| format!("{}: {e}", log.display()))?;
    let f2 = f
        .try_clone()
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let st = cmd
        .stdout(Stdio::from(f))
        .stderr(Stdio::from(f2))
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", cmd.get_program()))?;
    if st.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log).unwrap_or_default();
    Err(format!(
        "{what} failed ({st}); last lines of {}:\n{}",
        log.display(),
        tail_lines(&text, 30)
    ))
}

/// The last `n` lines of `s`.
pub fn tail_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Install the Debian packages of `pkgs` that are not installed yet (`apt-get update`, then
/// `apt-get install -y` of the missing ones only). Does nothing if all are installed.
pub fn ensure_debian_packages(pkgs: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = pkgs
        .iter()
        .copied()
        .filter(|p| !debian_package_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!(
        "deps: installing missing Debian packages: {}",
        missing.join(" ")
    );
    if !is_root() {
        return Err(format!(
            "missing Debian packages {}: run as root, or `apt-get install {}`",
            missing.join(", "),
            missing.join(" ")
        ));
    }
    run_visible(
        Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
        "apt-get update",
    )?;
    run_visible(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        "apt-get install",
    )?;
    let still: Vec<&str> = missing
        .iter()
        .copied()
        .filter(|p| !debian_package_installed(p))
        .collect();
    if !still.is_empty() {
        return Err(format!(
            "Debian packages still missing after apt-get install: {}",
            still.join(", ")
        ));
    }
    Ok(())
}

/// Output of a command's stdout, trimmed, if it ran successfully.
pub fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let o = Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// Make sure the Rust standard library sources (`rust-src`) of the `rustc` on `PATH` are
/// installed, as the kernel's Rust support needs them (`rustup component add rust-src`).
pub fn ensure_rust_src() -> Result<(), String> {
    let sysroot = command_output("rustc", &["--print", "sysroot"])
        .ok_or("rustc not found on PATH (install Rust with rustup)")?;
    let core = Path::new(&sysroot).join("lib/rustlib/src/rust/library/core/src/lib.rs");
    if core.exists() {
        return Ok(());
    }
    eprintln!("deps: installing rust-src for the toolchain at {sysroot}");
    run_visible(
        Command::new("rustup").args(["component", "add", "rust-src"]),
        "rustup component add rust-src",
    )?;
    if !core.exists() {
        return Err(format!(
            "rust-src still missing after rustup: {} does not exist",
            core.display()
        ));
    }
    Ok(())
}

/// The bindgen version the kernel builds of this project use.
pub const BINDGEN_VERSION: &str = "0.73.2";

/// Make sure `bindgen` [`BINDGEN_VERSION`] is on `PATH` (`cargo install bindgen-cli --locked
/// --version 0.73.2` otherwise).
pub fn ensure_bindgen() -> Result<(), String> {
    let have = command_output("bindgen", &["--version"]);
    if have
        .as_deref()
        .is_some_and(|v| v.split_whitespace().any(|w| w == BINDGEN_VERSION))
    {
        return Ok(());
    }
    eprintln!(
        "deps: installing bindgen-cli {BINDGEN_VERSION} with cargo (found: {})",
        have.as_deref().unwrap_or("none")
    );
    run_visible(
        Command::new("cargo").args([
            "install",
            "bindgen-cli",
            "--locked",
            "--version",
            BINDGEN_VERSION,
        ]),
        "cargo install bindgen-cli",
    )?;
    let now = command_output("bindgen", &["--version"]).unwrap_or_default();
    if !now.contains(BINDGEN_VERSION) {
        return Err(format!(
            "bindgen on PATH is {now:?} after cargo install, expected {BINDGEN_VERSION} \
             (is ~/.cargo/bin on PATH?)"
        ));
    }
    Ok(())
}
