//! `cargo xtask kernel [--variant patched|unpatched|both]`: build the 7.3 kernel of Debian's
//! `linux-source-7.3` (see [`crate::source`]), with (patched) or without (unpatched) the
//! series in `patches/`, with `kernel/config.fragment` merged over `tinyconfig`, with
//! Debian's LLVM 19 (`make LLVM=-19`).
//!
//! Every build lives in `~/.cache/kfunc-args/kernel/<variant>-<key>/` where `<key>` is 16 hex
//! digits of a hash of everything the result depends on: the source package version, the
//! patch files (patched variant only), the config fragment and the rustc, clang and bindgen
//! versions. A finished build writes `stamp`; later runs return at once. An interrupted build
//! resumes where it stopped (unpacking, patching and configuring are recorded step by step).
//!
//! Other xtask modules call [`ensure_kernel`].

use crate::deps;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::source::{self, TARBALL_TOP};

/// A finished manual build of the unpatched tree that may be adopted instead of a cold build.
const MANUAL_UNPATCHED: &str = "/root/.cache/kfunc-args/manual/unpatched";
/// The `LLVM=` value of every kernel make: Debian's versioned LLVM 19 tools (`clang-19`,
/// `ld.lld-19`, ...); 7.3 needs LLVM >= 17.0.1, Debian 12's default clang is 14.
pub const LLVM: &str = "LLVM=-19";
/// libclang that bindgen must use: the one of the kernel's compiler.
pub const LIBCLANG_PATH: &str = "/usr/lib/llvm-19/lib";

/// Debian packages a kernel build needs.
pub const KERNEL_PACKAGES: &[&str] = &[
    "dwarves",
    "clang-19",
    "llvm-19",
    "lld-19",
    "libclang-19-dev",
    "bc",
    "flex",
    "bison",
    "libelf-dev",
    "libssl-dev",
    "make",
    "patch",
    "xz-utils",
    "cpio",
    "zstd",
    "python3",
];

/// Which kernel to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Pristine 7.3 plus the series in `patches/`.
    Patched,
    /// Pristine 7.3.
    Unpatched,
}

impl Variant {
    /// The name used on the command line and in cache paths.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Patched => "patched",
            Variant::Unpatched => "unpatched",
        }
    }
}

/// Which configuration a kernel is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `tinyconfig` + `kernel/config.fragment`: the prototype's own kernels (Rust, BTF and
    /// what the busybox VM needs), ~6 minutes each.
    Tiny,
    /// The BPF selftests' own configuration, made as `tools/testing/selftests/bpf/vmtest.sh`
    /// makes it (`config`, `config.vm` and `config.x86_64` of that directory, concatenated,
    /// then `olddefconfig`), plus `kernel/config.selftests`: the kernel `test_progs` expects.
    Selftests,
}

impl Flavor {
    /// Prefix of the cache directory name.
    fn prefix(self) -> &'static str {
        match self {
            Flavor::Tiny => "",
            Flavor::Selftests => "selftests-",
        }
    }
}

/// The BPF selftests' config files, in `vmtest.sh`'s order, relative to the source tree.
const SELFTESTS_CONFIGS: &[&str] = &[
    "tools/testing/selftests/bpf/config",
    "tools/testing/selftests/bpf/config.vm",
    "tools/testing/selftests/bpf/config.x86_64",
];

/// A finished kernel build.
#[derive(Debug, Clone)]
pub struct KernelTree {
    /// Which variant this is.
    pub variant: Variant,
    /// The kernel source tree, built in place (use it as `make -C <tree> M=...`).
    pub tree: PathBuf,
    /// `arch/x86/boot/bzImage`.
    pub bzimage: PathBuf,
    /// `vmlinux` (with `.BTF`).
    pub vmlinux: PathBuf,
    /// The full build log.
    pub log: PathBuf,
}

/// The repository root (parent of the xtask crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository")
        .to_path_buf()
}

/// `~/.cache/kfunc-args/<sub>`: where every xtask command keeps what it builds.
pub fn cache_dir(sub: &str) -> Result<PathBuf, String> {
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    Ok(PathBuf::from(home).join(".cache/kfunc-args").join(sub))
}

fn cache_root() -> Result<PathBuf, String> {
    cache_dir("kernel")
}

/// The patch files of the bpf series (`patches/*.patch`), in application order.
pub fn patch_files() -> Result<Vec<PathBuf>, String> {
    patch_files_in(&repo_root().join("patches"))
}

/// The patch files a patched kernel of `flavor` applies, in order: the bpf series, then, for
/// the tinyconfig kernel, the rust series (`patches/rust/*.patch`: the in-tree `#[kfunc]`,
/// `kernel::bpf` and `samples/rust/rust_kfunc.rs`). The selftests kernels have no Rust.
pub fn series_files(flavor: Flavor) -> Result<Vec<PathBuf>, String> {
    let mut v = patch_files()?;
    if flavor == Flavor::Tiny {
        v.extend(patch_files_in(&repo_root().join("patches/rust"))?);
    }
    Ok(v)
}

/// The file `git format-patch --cover-letter` writes beside a series (`cargo xtask series`):
/// an e-mail without a diff, which is neither applied nor part of any cache key.
pub const COVER_LETTER: &str = "0000-cover-letter.patch";

/// Whether `path` is one of a series' patches: a `*.patch` file other than the
/// [`COVER_LETTER`].
pub fn is_series_patch(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "patch")
        && path.file_name().is_some_and(|n| n != COVER_LETTER)
}

/// The patches of the series in `dir` (see [`is_series_patch`]), in file-name order.
pub fn patch_files_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_series_patch(p))
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(format!("{}: no *.patch files", dir.display()));
    }
    Ok(v)
}

/// 64-bit FNV-1a: a hash that is the same on every Rust version (unlike `DefaultHasher`).
pub struct Fnv(pub u64);

impl Fnv {
    /// The FNV-1a offset basis.
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    /// Hash `b` in.
    pub fn write(&mut self, b: &[u8]) {
        for &c in b {
            self.0 ^= u64::from(c);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// A labelled, length-prefixed field, so that fields cannot run into each other.
    fn field(&mut self, label: &str, value: &[u8]) {
        self.write(label.as_bytes());
        self.write(&(value.len() as u64).to_le_bytes());
        self.write(value);
    }
}

/// The repository's config fragment of `flavor`.
fn fragment(flavor: Flavor) -> PathBuf {
    repo_root().join(match flavor {
        Flavor::Tiny => "kernel/config.fragment",
        Flavor::Selftests => "kernel/config.selftests",
    })
}

/// The config fragment merged into the patched kernel of `flavor` only, after patching:
/// `kernel/config.patched` (the options of the rust series' sample) for the tinyconfig
/// kernel, none for the selftests kernel.
fn patched_fragment(flavor: Flavor) -> Option<PathBuf> {
    (flavor == Flavor::Tiny).then(|| repo_root().join("kernel/config.patched"))
}

/// The inputs of a build, as `(label, value)` lines; written into the stamp and hashed.
/// (The selftests' config files come with the source version.)
fn cache_inputs(variant: Variant, flavor: Flavor) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut v = Vec::new();
    if flavor == Flavor::Selftests {
        v.push(("flavor".to_string(), b"selftests".to_vec()));
        v.push((
            "KBUILD_BUILD_TIMESTAMP (pahole without -j)".to_string(),
            SELFTESTS_BUILD_TIMESTAMP.as_bytes().to_vec(),
        ));
    }
    let src = source::ensure_source()?;
    v.push((
        format!("source {}", source::SOURCE_PACKAGE),
        src.version.into_bytes(),
    ));
    let frag = fragment(flavor);
    v.push((
        frag.file_name().unwrap().to_string_lossy().to_string(),
        fs::read(&frag).map_err(|e| format!("{}: {e}", frag.display()))?,
    ));
    if variant == Variant::Patched {
        if let Some(frag) = patched_fragment(flavor) {
            v.push((
                frag.file_name().unwrap().to_string_lossy().to_string(),
                fs::read(&frag).map_err(|e| format!("{}: {e}", frag.display()))?,
            ));
        }
        for p in series_files(flavor)? {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let bytes = fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let code = build_code(patch_code(&bytes));
            // A patch of documentation or selftests only (nothing the kernel build reads).
            if !code.is_empty() {
                v.push((format!("patch {name}"), code));
            }
        }
    }
    for (tool, args) in [
        ("rustc", &["--version"][..]),
        ("clang-19", &["--version"][..]),
        ("bindgen", &["--version"][..]),
    ] {
        let out = deps::command_output(tool, args).ok_or_else(|| format!("{tool} not found"))?;
        let first = out.lines().next().unwrap_or("").to_string();
        v.push((tool.to_string(), first.into_bytes()));
    }
    Ok(v)
}

/// The paths under which a patch changes nothing the kernel build reads: the cache key of
/// a patched kernel leaves their diffs out, so a documentation or selftests patch does
/// not rebuild it. The patch is still applied when the tree is built, so a cached tree can
/// hold an older version of those files: what reads them (`cargo xtask series`, the
/// selftests build of `cargo xtask progs`) takes them from the patches, not from the tree.
pub const NOT_BUILT: &[&str] = &["Documentation/", "tools/testing/"];

/// The diffs of [`patch_code`]'s output that touch files the kernel build reads (every
/// file but those under [`NOT_BUILT`]), in order.
pub fn build_code(code: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut starts: Vec<usize> = code
        .windows(12)
        .enumerate()
        .filter(|(i, w)| *w == b"diff --git a" && (*i == 0 || code[i - 1] == b'\n'))
        .map(|(i, _)| i)
        .collect();
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    starts.push(code.len());
    for w in starts.windows(2) {
        let file = &code[w[0]..w[1]];
        let path = file.strip_prefix(b"diff --git a/".as_slice());
        if path.is_some_and(|p| NOT_BUILT.iter().any(|d| p.starts_with(d.as_bytes()))) {
            continue;
        }
        out.extend_from_slice(file);
    }
    out
}

/// What of a patch file changes the tree it is applied to: the diffs, from the first
/// `diff --git` line up to the signature line `-- ` (if any). A commit message, subject or
/// sign-off edit does not make the kernel build again.
pub fn patch_code(patch: &[u8]) -> &[u8] {
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let start = if patch.starts_with(b"diff --git ") {
        0
    } else {
        match find(patch, b"\ndiff --git ") {
            Some(i) => i + 1,
            None => return patch,
        }
    };
    let code = &patch[start..];
    let end = code
        .windows(5)
        .rposition(|w| w == b"\n-- \n")
        .map_or(code.len(), |i| i + 1);
    &code[..end]
}

fn cache_key(inputs: &[(String, Vec<u8>)]) -> String {
    let mut h = Fnv::new();
    for (k, val) in inputs {
        h.field(k, val);
    }
    format!("{:016x}", h.0)
}

fn stamp_text(inputs: &[(String, Vec<u8>)]) -> String {
    let mut s = String::new();
    for (k, val) in inputs {
        let mut h = Fnv::new();
        h.write(val);
        match std::str::from_utf8(val) {
            Ok(t) if !t.contains('\n') => s.push_str(&format!("{k}: {t}\n")),
            _ => s.push_str(&format!("{k}: fnv64 {:016x}\n", h.0)),
        }
    }
    s
}

fn make_cmd(tree: &Path) -> Command {
    let mut c = Command::new("make");
    c.arg("-C").arg(tree).arg(LLVM);
    c.env("LIBCLANG_PATH", LIBCLANG_PATH);
    c
}

/// `KBUILD_BUILD_TIMESTAMP` of the selftests-config kernels. With it set, 7.3's
/// `scripts/Makefile.btf` runs pahole < 1.27 without `-j`, whose parallel encoding makes
/// the order of types unreproducible: two builds of one tree then differ in which of two
/// same-name FUNCs comes first (7.3's vmlinux has two `bpf_lsm_mmap_file`, one with a
/// `file__nullable` parameter), and so in what a program attached by that name may do
/// (`test_progs -t verifier_lsm` passed on one build and failed on the next).
const SELFTESTS_BUILD_TIMESTAMP: &str = "2026-01-01 00:00:00 UTC";

/// The `RESOLVE_BTFIDS` capture wrapper (see `btfids-post/scripts/`), if it exists.
fn capture_wrapper() -> Option<PathBuf> {
    let p = repo_root().join("btfids-post/scripts/resolve-btfids-capture.sh");
    p.exists().then_some(p)
}

fn add_btfids_args(c: &mut Command, tree: &Path) {
    if let Some(w) = capture_wrapper() {
        c.arg(format!("RESOLVE_BTFIDS={}", w.display()));
        c.env(
            "BTFIDS_REAL",
            tree.join("tools/bpf/resolve_btfids/resolve_btfids"),
        );
        c.env("BTFIDS_CAPTURE_DIR", tree.join("btfids-inputs"));
    }
}

/// `make bzImage modules` with a progress line every `STEP` compiled objects; the whole
/// output goes to `log`, its tail is returned on failure.
fn build(
    tree: &Path,
    log: &Path,
    label: &str,
    capture: bool,
    flavor: Flavor,
) -> Result<(), String> {
    const STEP: usize = 250;
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get()) + 1;
    let mut c = make_cmd(tree);
    c.arg(format!("-j{jobs}")).args(["bzImage", "modules"]);
    if flavor == Flavor::Selftests {
        c.env("KBUILD_BUILD_TIMESTAMP", SELFTESTS_BUILD_TIMESTAMP);
    }
    if capture {
        add_btfids_args(&mut c, tree);
    }
    // One pipe for stdout and stderr, in order: run through sh.
    let mut argv = vec![shell_quote(&c.get_program().to_string_lossy())];
    argv.extend(c.get_args().map(|a| shell_quote(&a.to_string_lossy())));
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(format!("exec {} 2>&1", argv.join(" ")));
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    sh.stdout(Stdio::piped()).stdin(Stdio::null());
    let started = Instant::now();
    eprintln!(
        "kernel[{label}]: make -j{jobs} bzImage modules (log: {})",
        log.display()
    );
    let mut child = sh.spawn().map_err(|e| format!("cannot start make: {e}"))?;
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let _ = writeln!(f, "### make -j{jobs} bzImage modules");
    let mut objects = 0usize;
    let mut next_report = STEP;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(f, "{line}");
            let t = line.trim_start();
            if t.starts_with("CC ") || t.starts_with("RUSTC ") || t.starts_with("AS ") {
                objects += 1;
                if objects == next_report {
                    next_report += STEP;
                    eprintln!(
                        "kernel[{label}]: {objects} objects compiled ({}s)",
                        started.elapsed().as_secs()
                    );
                }
            } else if t.starts_with("LD ") && t.ends_with("vmlinux") {
                eprintln!(
                    "kernel[{label}]: linking vmlinux ({}s)",
                    started.elapsed().as_secs()
                );
            } else if t.starts_with("BTF ") && t.ends_with(".ko") {
                eprintln!("kernel[{label}]: module BTF: {t}");
            }
        }
    }
    let status = child.wait().map_err(|e| format!("make: {e}"))?;
    drop(f);
    if !status.success() {
        let text = fs::read_to_string(log).unwrap_or_default();
        return Err(format!(
            "kernel build ({label}) failed ({status}); last lines of {}:\n{}",
            log.display(),
            deps::tail_lines(&text, 40)
        ));
    }
    eprintln!(
        "kernel[{label}]: build done: {objects} objects compiled in {}s",
        started.elapsed().as_secs()
    );
    Ok(())
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The `CONFIG_*=` lines of the fragment that `.config` does not have.
fn config_missing(tree: &Path, frag: &Path) -> Result<Vec<String>, String> {
    let frag_text = fs::read_to_string(frag).map_err(|e| format!("{}: {e}", frag.display()))?;
    let cfg_path = tree.join(".config");
    let cfg = fs::read_to_string(&cfg_path).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    let have: std::collections::HashSet<&str> = cfg.lines().map(str::trim).collect();
    Ok(frag_text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("CONFIG_"))
        .filter(|l| !have.contains(l))
        .map(str::to_string)
        .collect())
}

/// `make olddefconfig`, then fail (with `hint`) if `.config` lost a line of `frag`.
fn olddefconfig_keeping(tree: &Path, frag: &Path, log: &Path, hint: &str) -> Result<(), String> {
    deps::run_logged(make_cmd(tree).arg("olddefconfig"), "make olddefconfig", log)?;
    let missing = config_missing(tree, frag)?;
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}: olddefconfig dropped options of {}: {}{hint}",
        tree.join(".config").display(),
        frag.display(),
        missing.join(" ")
    ))
}

fn mark(dir: &Path, step: &str) -> Result<(), String> {
    let p = dir.join(format!("{step}.ok"));
    fs::write(&p, b"").map_err(|e| format!("{}: {e}", p.display()))
}

fn tree_of(variant: Variant, dir: &Path) -> KernelTree {
    let tree = dir.join("linux");
    KernelTree {
        variant,
        bzimage: tree.join("arch/x86/boot/bzImage"),
        vmlinux: tree.join("vmlinux"),
        log: dir.join("build.log"),
        tree,
    }
}

/// Adopt the manual unpatched build if it is finished and has every fragment option.
fn try_adopt_manual(dir: &Path, frag: &Path) -> Result<bool, String> {
    let src = Path::new(MANUAL_UNPATCHED);
    let log = fs::read_to_string(src.join("build.log")).unwrap_or_default();
    if !log.trim_end().ends_with("rc=0") || !src.join("arch/x86/boot/bzImage").exists() {
        return Ok(false);
    }
    if !config_missing(src, frag)?.is_empty() {
        return Ok(false);
    }
    eprintln!("kernel[unpatched]: adopting the finished build {MANUAL_UNPATCHED} (cp -a)");
    copy_configured_tree(src, dir, &dir.join("build.log"))?;
    Ok(true)
}

/// Copy the configured (and built) tree `src` to `<dir>/linux` (`cp -a`: times kept, so
/// Kbuild rebuilds only what later changes), through a temporary name; then mark it
/// unpacked and configured.
fn copy_configured_tree(src: &Path, dir: &Path, log: &Path) -> Result<(), String> {
    let tree = dir.join("linux");
    let tmp = dir.join("linux.tmp");
    let _ = fs::remove_dir_all(&tmp);
    let _ = fs::remove_dir_all(&tree);
    deps::run_logged(
        Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(src)
            .arg(&tmp),
        &format!("copy {}", src.display()),
        log,
    )?;
    fs::rename(&tmp, &tree).map_err(|e| format!("{}: {e}", tree.display()))?;
    // resolve_btfids inputs captured while linking the source tree are not this tree's.
    let _ = fs::remove_dir_all(tree.join("btfids-inputs"));
    for step in ["unpacked", "configured"] {
        mark(dir, step)?;
    }
    Ok(())
}

/// Build (or find in the cache) one kernel variant of the [`Flavor::Tiny`] configuration and
/// return its tree.
pub fn ensure_kernel(variant: Variant) -> Result<KernelTree, String> {
    ensure_kernel_flavor(variant, Flavor::Tiny)
}

/// The kernel `variant` of `flavor` if it is already built in the cache; nothing is
/// fetched, installed or built (`None` without the cached source or the build).
pub fn cached_kernel(variant: Variant, flavor: Flavor) -> Option<KernelTree> {
    source::cached_source()?;
    let inputs = cache_inputs(variant, flavor).ok()?;
    let dir = cache_root().ok()?.join(format!(
        "{}{}-{}",
        flavor.prefix(),
        variant.name(),
        cache_key(&inputs)
    ));
    let kt = tree_of(variant, &dir);
    (dir.join("stamp").exists() && kt.bzimage.exists() && kt.vmlinux.exists()).then_some(kt)
}

/// Build (or find in the cache) one kernel variant of `flavor` and return its tree.
///
/// A patched kernel is an incremental build: a copy (`cp -a`, times kept) of the finished
/// unpatched tree of the same flavor, patched, then `make` again, which recompiles exactly
/// what Kbuild's dependency files say depends on the patched files.
pub fn ensure_kernel_flavor(variant: Variant, flavor: Flavor) -> Result<KernelTree, String> {
    let label = variant.name();
    deps::ensure_debian_packages(KERNEL_PACKAGES)?;
    // Every flavor: the cache key records the rustc and bindgen versions (a selftests kernel
    // has no Rust, but its key is computed the same way), so both must be there first.
    deps::ensure_rust_src()?;
    deps::ensure_bindgen()?;
    let inputs = cache_inputs(variant, flavor)?;
    let key = cache_key(&inputs);
    let tag = format!("{}{label}", flavor.prefix());
    let dir = cache_root()?.join(format!("{tag}-{key}"));
    let kt = tree_of(variant, &dir);
    let stamp = dir.join("stamp");
    if stamp.exists() && kt.bzimage.exists() && kt.vmlinux.exists() {
        eprintln!("kernel[{tag}]: cached: {}", kt.tree.display());
        return Ok(kt);
    }
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // One build per tree at a time: other xtask commands may ask for the same kernel.
    let _lock = BuildLock::acquire(&dir, &tag)?;
    if stamp.exists() && kt.bzimage.exists() && kt.vmlinux.exists() {
        eprintln!(
            "kernel[{tag}]: built by another process: {}",
            kt.tree.display()
        );
        return Ok(kt);
    }
    let frag = fragment(flavor);
    let log = kt.log.clone();
    let t0 = Instant::now();
    // The tinyconfig kernels keep resolve_btfids' inputs (the ELF, gen-btf.sh's detached
    // pahole BTF and the base) for the captured differential test and `cargo xtask bench`.
    let capture = flavor == Flavor::Tiny;

    if variant == Variant::Patched && !dir.join("unpacked.ok").exists() {
        let base = ensure_kernel_flavor(Variant::Unpatched, flavor)?;
        eprintln!(
            "kernel[{tag}]: copying the built unpatched tree {} (cp -a)",
            base.tree.display()
        );
        copy_configured_tree(&base.tree, &dir, &log)?;
    }

    if !dir.join("unpacked.ok").exists() {
        // KFUNC_ARGS_NO_ADOPT=1 forces a cold build (to measure or test one).
        let adopted = variant == Variant::Unpatched
            && flavor == Flavor::Tiny
            && std::env::var_os("KFUNC_ARGS_NO_ADOPT").is_none()
            && try_adopt_manual(&dir, &frag)?;
        if !adopted {
            let tmp = dir.join("unpack.tmp");
            let _ = fs::remove_dir_all(&tmp);
            let _ = fs::remove_dir_all(&kt.tree);
            fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
            let src = source::ensure_source()?;
            eprintln!(
                "kernel[{tag}]: unpacking {} ({})",
                src.tarball.display(),
                src.version
            );
            deps::run_logged(
                Command::new("tar")
                    .arg("-xJf")
                    .arg(&src.tarball)
                    .arg("-C")
                    .arg(&tmp),
                "unpack the kernel source",
                &log,
            )?;
            fs::rename(tmp.join(TARBALL_TOP), &kt.tree)
                .map_err(|e| format!("{}: {e}", kt.tree.display()))?;
            let _ = fs::remove_dir_all(&tmp);
            mark(&dir, "unpacked")?;
        }
    }

    if variant == Variant::Patched && !dir.join("patched.ok").exists() {
        for p in series_files(flavor)? {
            eprintln!(
                "kernel[{tag}]: applying {}",
                p.file_name().unwrap().to_string_lossy()
            );
            deps::run_logged(
                Command::new("patch")
                    .args(["-p1", "--forward", "--batch", "-d"])
                    .arg(&kt.tree)
                    .arg("-i")
                    .arg(&p),
                &format!("apply {}", p.display()),
                &log,
            )?;
        }
        mark(&dir, "patched")?;
    }

    if !dir.join("configured.ok").exists() {
        match flavor {
            Flavor::Selftests => {
                eprintln!(
                    "kernel[{tag}]: {} + kernel/config.selftests + olddefconfig",
                    SELFTESTS_CONFIGS.join(" + ")
                );
                let mut text = Vec::new();
                for f in SELFTESTS_CONFIGS
                    .iter()
                    .map(|f| kt.tree.join(f))
                    .chain([frag.clone()])
                {
                    text.extend(fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?);
                    text.push(b'\n');
                }
                let cfg = kt.tree.join(".config");
                fs::write(&cfg, text).map_err(|e| format!("{}: {e}", cfg.display()))?;
                olddefconfig_keeping(&kt.tree, &frag, &log, "")?;
            }
            Flavor::Tiny => {
                eprintln!("kernel[{tag}]: tinyconfig + kernel/config.fragment + olddefconfig");
                deps::run_logged(
                    make_cmd(&kt.tree).arg("tinyconfig"),
                    "make tinyconfig",
                    &log,
                )?;
                deps::run_logged(
                    Command::new(kt.tree.join("scripts/kconfig/merge_config.sh"))
                        .current_dir(&kt.tree)
                        .arg("-m")
                        .arg(".config")
                        .arg(&frag),
                    "merge kernel/config.fragment",
                    &log,
                )?;
                olddefconfig_keeping(
                    &kt.tree,
                    &frag,
                    &log,
                    &format!(
                        " (unmet dependencies? `make {LLVM} rustavailable` in {})",
                        kt.tree.display()
                    ),
                )?;
            }
        }
        mark(&dir, "configured")?;
    }

    if let Some(pfrag) = patched_fragment(flavor).filter(|_| variant == Variant::Patched) {
        if !dir.join("patched-config.ok").exists() {
            eprintln!("kernel[{tag}]: + {} + olddefconfig", pfrag.display());
            deps::run_logged(
                Command::new(kt.tree.join("scripts/kconfig/merge_config.sh"))
                    .current_dir(&kt.tree)
                    .arg("-m")
                    .arg(".config")
                    .arg(&pfrag),
                "merge kernel/config.patched",
                &log,
            )?;
            olddefconfig_keeping(&kt.tree, &pfrag, &log, "")?;
            mark(&dir, "patched-config")?;
        }
    }

    build(&kt.tree, &log, &tag, capture, flavor)?;

    // The capture wrapper saves resolve_btfids' inputs when vmlinux and modules are linked
    // (7.3's gen-btf.sh hands it `.tmp_vmlinux1`, saved as `tmp_vmlinux1`). A tree linked
    // without it (adopted, or built before the wrapper existed) is relinked.
    let captured_vmlinux = kt.tree.join("btfids-inputs/tmp_vmlinux1");
    if capture && capture_wrapper().is_some() && !captured_vmlinux.exists() {
        eprintln!("kernel[{tag}]: relinking vmlinux and modules to capture resolve_btfids inputs");
        // 7.3 makes BTF when linking vmlinux.unstripped; vmlinux is only stripped from it.
        let _ = fs::remove_file(&kt.vmlinux);
        let _ = fs::remove_file(kt.tree.join("vmlinux.unstripped"));
        remove_kos(&kt.tree)?;
        build(&kt.tree, &log, &tag, capture, flavor)?;
        if !captured_vmlinux.exists() {
            return Err(format!(
                "{}: the capture wrapper did not save .tmp_vmlinux1",
                kt.tree.join("btfids-inputs").display()
            ));
        }
    }

    for p in [&kt.bzimage, &kt.vmlinux] {
        if !p.exists() {
            return Err(format!("build finished but {} is missing", p.display()));
        }
    }
    let text = format!(
        "{}built-in: {}s\n",
        stamp_text(&inputs),
        t0.elapsed().as_secs()
    );
    fs::write(&stamp, text).map_err(|e| format!("{}: {e}", stamp.display()))?;
    eprintln!(
        "kernel[{tag}]: done in {}s: {}",
        t0.elapsed().as_secs(),
        kt.tree.display()
    );
    Ok(kt)
}

/// An exclusive claim on a build directory: `<dir>.lock` holds the owner's pid. A lock whose
/// process is gone is taken over; dropping the claim removes the file.
struct BuildLock {
    path: PathBuf,
}

impl BuildLock {
    fn acquire(dir: &Path, label: &str) -> Result<Self, String> {
        let path = dir.with_extension("lock");
        let me = std::process::id();
        let tmp = dir.with_extension(format!("lock.{me}"));
        fs::write(&tmp, format!("{me}\n")).map_err(|e| format!("{}: {e}", tmp.display()))?;
        let mut said = false;
        let result = loop {
            // A hard link appears atomically with its content, or fails if the lock exists.
            match fs::hard_link(&tmp, &path) {
                Ok(()) => break Ok(BuildLock { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_to_string(&path).unwrap_or_default();
                    let owner = owner.trim();
                    if owner.is_empty() || !Path::new("/proc").join(owner).exists() {
                        eprintln!(
                            "kernel[{label}]: removing stale lock {} (pid {owner:?} is gone)",
                            path.display()
                        );
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if !said {
                        eprintln!(
                            "kernel[{label}]: waiting for the build of pid {owner} ({})",
                            path.display()
                        );
                        said = true;
                    }
                    std::thread::sleep(std::time::Duration::from_secs(5));
                }
                Err(e) => break Err(format!("{}: {e}", path.display())),
            }
        };
        let _ = fs::remove_file(&tmp);
        result
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn remove_kos(dir: &Path) -> Result<(), String> {
    for e in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let Ok(e) = e else { continue };
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() && !ft.is_symlink() {
            if p.file_name()
                .is_some_and(|n| n == "btfids-inputs" || n == ".git")
            {
                continue;
            }
            remove_kos(&p)?;
        } else if p.extension().is_some_and(|x| x == "ko") {
            fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    Ok(())
}

/// Run `kernel/ctest/run.sh PATCHED UNPATCHED` (needs both variants, builds them if needed).
fn ctest() -> Result<crate::test::Tally, String> {
    deps::ensure_debian_packages(&[
        "qemu-system-x86",
        "busybox-static",
        "cpio",
        "libbpf-dev",
        "libelf-dev",
        "zlib1g-dev",
        "gcc",
        "clang-19",
    ])?;
    let unpatched = ensure_kernel(Variant::Unpatched)?;
    let patched = ensure_kernel(Variant::Patched)?;
    let script = repo_root().join("kernel/ctest/run.sh");
    let mut c = Command::new(&script);
    c.arg(&patched.tree)
        .arg(&unpatched.tree)
        // Each checkout gets its own work directory (the script's default is in /tmp).
        .env("OUT", crate::sample::target_dir().join("kfa-ctest"));
    // An external script: its own `N passed, N failed` line is its tally.
    crate::test::run_script(c)
}

/// `cargo xtask kernel`: the kernels alone; with `--ctest`, the C kfunc set test's tally.
pub fn run(f: &crate::flags::Kernel) -> Result<Option<crate::test::Tally>, String> {
    use crate::flags::KernelVariants;
    let flavor = if f.selftests_config {
        Flavor::Selftests
    } else {
        Flavor::Tiny
    };
    let variants: &[Variant] = match f.variant {
        KernelVariants::Patched => &[Variant::Patched],
        KernelVariants::Unpatched => &[Variant::Unpatched],
        KernelVariants::Both => &[Variant::Unpatched, Variant::Patched],
    };
    for &v in variants {
        let kt = ensure_kernel_flavor(v, flavor)?;
        eprintln!(
            "kernel[{}]: bzImage {}, vmlinux {}",
            kt.variant.name(),
            kt.bzimage.display(),
            kt.vmlinux.display()
        );
        println!("{}", kt.tree.display());
    }
    if f.ctest {
        return ctest().map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documentation_and_selftests_are_not_built() {
        let code = b"diff --git a/kernel/bpf/btf.c b/kernel/bpf/btf.c\n+a\ndiff --git a/Documentation/bpf/kfuncs.rst b/Documentation/bpf/kfuncs.rst\n+b\ndiff --git a/tools/testing/selftests/bpf/x.c b/tools/testing/selftests/bpf/x.c\n+c\ndiff --git a/tools/bpf/resolve_btfids/main.c b/tools/bpf/resolve_btfids/main.c\n+d\n";
        assert_eq!(
            build_code(code),
            b"diff --git a/kernel/bpf/btf.c b/kernel/bpf/btf.c\n+a\ndiff --git a/tools/bpf/resolve_btfids/main.c b/tools/bpf/resolve_btfids/main.c\n+d\n"
        );
        assert!(build_code(b"diff --git a/Documentation/x b/Documentation/x\n+b\n").is_empty());
        // Every patch of the series is read whole by the key except what NOT_BUILT names:
        // the documentation patch alone, today.
        let dir = repo_root().join("patches");
        let mut skipped = Vec::new();
        for p in fs::read_dir(&dir).unwrap().flatten() {
            let n = p.file_name().to_string_lossy().into_owned();
            if !is_series_patch(&p.path()) {
                continue;
            }
            let bytes = fs::read(p.path()).unwrap();
            if build_code(patch_code(&bytes)).is_empty() {
                skipped.push(n);
            }
        }
        assert!(
            skipped
                .iter()
                .all(|n| n.contains("docs") || n.contains("selftests")),
            "{skipped:?}"
        );
    }

    #[test]
    fn patch_code_ignores_the_message_and_signature() {
        let a = b"From x\nSubject: [PATCH 1/5] bpf: A\n\nWhy.\n---\n f | 1 +\ndiff --git a/f b/f\n+x\n-- \n2.39.5\n";
        let b = b"From y\nSubject: [RFC PATCH bpf-next v2 1/7] bpf: B\n\nOther.\nSigned-off-by: Z\n---\n f | 1 +\ndiff --git a/f b/f\n+x\n-- \n2.47.0\n";
        assert_eq!(patch_code(a), b"diff --git a/f b/f\n+x\n");
        assert_eq!(patch_code(a), patch_code(b));
        let c = b"From x\nSubject: [PATCH 1/5] bpf: A\n---\ndiff --git a/f b/f\n+y\n-- \n2.39.5\n";
        assert_ne!(patch_code(a), patch_code(c));
        // A diff line "-- " inside the code (a removed "- " line) before the last one stays.
        let d = b"diff --git a/f b/f\n-- \n+z\n-- \n2.1\n";
        assert_eq!(patch_code(d), b"diff --git a/f b/f\n-- \n+z\n");
    }

    /// A cover letter beside the patches is neither applied (`patch -p1` would stop at an
    /// e-mail without a diff) nor hashed into the kernel's cache key.
    #[test]
    fn cover_letters_are_not_series_patches() {
        let dir = std::env::temp_dir().join(format!("kfa-series-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("rust")).unwrap();
        for f in [COVER_LETTER, "0001-a.patch", "0002-b.patch", "README.md"] {
            fs::write(dir.join(f), b"x").unwrap();
        }
        fs::write(dir.join("rust").join(COVER_LETTER), b"x").unwrap();
        let got: Vec<String> = patch_files_in(&dir)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(got, ["0001-a.patch", "0002-b.patch"]);
        // A directory holding only a cover letter has no series.
        assert!(patch_files_in(&dir.join("rust")).is_err());
        assert!(!is_series_patch(Path::new(
            "patches/0000-cover-letter.patch"
        )));
        assert!(is_series_patch(Path::new("patches/0000-other.patch")));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn copies_a_tree_keeping_times_and_marks_it_configured() {
        let base = std::env::temp_dir().join(format!("kfa-copy-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let src = base.join("src");
        let dir = base.join("dir");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::create_dir_all(dir.join("linux/stale")).unwrap();
        fs::write(src.join("sub/a.o"), b"object").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        fs::File::options()
            .write(true)
            .open(src.join("sub/a.o"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        copy_configured_tree(&src, &dir, &base.join("log")).unwrap();
        let copied = dir.join("linux/sub/a.o");
        assert_eq!(fs::read(&copied).unwrap(), b"object");
        assert_eq!(fs::metadata(&copied).unwrap().modified().unwrap(), old);
        assert!(!dir.join("linux/stale").exists());
        assert!(!dir.join("linux.tmp").exists());
        assert!(dir.join("unpacked.ok").exists() && dir.join("configured.ok").exists());
        fs::remove_dir_all(&base).unwrap();
    }
}
