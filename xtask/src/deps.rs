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

/// Debian packages bpftool's build needs: the C compiler and make, libelf and zlib (libbpf),
/// libzstd (libelf's compressed sections, found by bpftool's feature check) and libssl
/// (7.3's `bpftool prog sign`, built by default).
pub const BPFTOOL_PACKAGES: &[&str] = &[
    "gcc",
    "make",
    "libelf-dev",
    "zlib1g-dev",
    "libzstd-dev",
    "libssl-dev",
];

/// The `make` variables of the bpftool build: no JIT disassembler (neither LLVM nor libbfd,
/// which bpftool's feature check would otherwise pick up from whatever the machine has),
/// and no BPF skeletons (`VMLINUX_BTF` empty: they would be built from the build host's
/// `/sys/kernel/btf/vmlinux`, and only `prog profile` and the `pids` columns use them).
/// `btf dump` needs none of these.
pub const BPFTOOL_MAKE_VARS: &[&str] = &["SKIP_LLVM=1", "SKIP_LIBBFD=1", "VMLINUX_BTF="];

/// `bpftool` built from the 7.3 source `cargo xtask` caches (`tools/bpf/bpftool` of the
/// pristine source subset [`crate::regress::ensure_source`] unpacks), into
/// `~/.cache/kfunc-args/bpftool/<source version>/`; built once per source version (and
/// make variables), outside the source tree (`OUTPUT=`). Returns the binary's path.
pub fn ensure_bpftool() -> Result<std::path::PathBuf, String> {
    let version = crate::source::ensure_source()?.version;
    let dir = crate::kernel::cache_dir(&format!("bpftool/{version}"))?;
    let bin = dir.join("out/bpftool");
    let stamp = dir.join("out/built.ok");
    let want = format!("{version} {}\n", BPFTOOL_MAKE_VARS.join(" "));
    if bin.is_file() && fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(bin);
    }
    ensure_debian_packages(BPFTOOL_PACKAGES)?;
    let src = crate::regress::ensure_source()?;
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Another xtask process may build it at the same time: each builds in a directory of
    // its own, and the first to finish renames it into place.
    let tmp = dir.join(format!("build-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let log = dir.join("build.log");
    eprintln!(
        "deps: building bpftool from {} ({version}) into {} (log: {})",
        src.join("tools/bpf/bpftool").display(),
        dir.display(),
        log.display()
    );
    run_logged(
        Command::new("make")
            .arg("-C")
            .arg(src.join("tools/bpf/bpftool"))
            .arg(format!(
                "-j{}",
                std::thread::available_parallelism().map_or(1, |n| n.get())
            ))
            .arg(format!("OUTPUT={}/", tmp.display()))
            .args(BPFTOOL_MAKE_VARS),
        "make -C tools/bpf/bpftool",
        &log,
    )?;
    let built = tmp.join("bpftool");
    let v = command_output(&built.to_string_lossy(), &["version"])
        .ok_or_else(|| format!("{} version failed", built.display()))?;
    fs::write(tmp.join("built.ok"), &want).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let out = dir.join("out");
    let done = || bin.is_file() && fs::read_to_string(&stamp).ok().as_deref() == Some(&*want);
    if !done() {
        let _ = fs::remove_dir_all(&out);
        if fs::rename(&tmp, &out).is_err() && !done() {
            return Err(format!(
                "cannot move {} to {}",
                tmp.display(),
                out.display()
            ));
        }
    }
    let _ = fs::remove_dir_all(&tmp);
    eprintln!("deps: {} ({})", bin.display(), v.replace('\n', ", "));
    Ok(bin)
}
