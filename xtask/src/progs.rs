//! `cargo xtask progs`: the kernel's own BPF selftests runner, `test_progs`, with its kfunc
//! and verifier subsets, on the unpatched and on the patched kernel, compared test by test.
//!
//! 1. Both kernels are built with the selftests' own configuration ([`Flavor::Selftests`]:
//!    `tools/testing/selftests/bpf/config*` as `vmtest.sh` combines them), the patched one
//!    incrementally from the unpatched tree.
//! 2. `test_progs` (and `veristat`) and its ~1000 BPF objects are built once, with clang-19,
//!    from a copy of the 7.3 source, against the unpatched kernel's BTF (`VMLINUX_BTF`, as
//!    the selftests Makefile does for the kernel it tests): the same binary runs on both
//!    kernels.
//! 3. The selftests' test modules (`test_kmods/`: `bpf_testmod.ko`, the kfunc test module
//!    with suffix-named kfuncs, and its companions) are built against each kernel.
//! 4. A kernel boots in QEMU (TCG) with a busybox initramfs holding `test_progs`, the BPF
//!    objects and the modules, and runs `test_progs -t <SUBSETS>`; four times: the
//!    unpatched kernel, the patched one, the patched one with `bpf_testmod` converted to
//!    per-argument flags ([`Testmod::Flags`]) and with that conversion minus its flags
//!    ([`Testmod::Control`]).
//! 5. Every test and subtest that is OK on the unpatched kernel must be OK on the patched
//!    one, and every one OK with the suffixes must be OK with the flags; the control must
//!    change some result. A test that is not OK in the reference run counts as skipped;
//!    any other difference is reported.
//!
//! `--series-tests` runs the series' own selftests instead (patch 7 of `patches/`: the
//! `bpf_testmod` kfuncs with per-argument flags, `progs/verifier_kfunc_args.c` and its
//! `prog_tests` entry): the `tools/testing/selftests/` diffs of `patches/*.patch` applied to
//! a copy of the source, `test_progs` made again from a copy of the unpatched build's output
//! (only what the diffs change is rebuilt), `bpf_testmod` with the series' `test_kmods/`
//! diffs ([`Testmod::Series`]), and one run of the tests the series adds on the patched
//! kernel. (The patched kernel's cache key leaves the selftests diffs out: adding or
//! changing them does not rebuild it.)
//!
//! Not part of `cargo xtask test` (CI): it needs two kernels of the selftests' much larger
//! configuration (on 7.3.4: 46 and 26 minutes cold on 2 cores shared with other builds), a
//! `test_progs` build and four TCG runs of 7-10 minutes each. Work directory: `~/.cache/kfunc-args/progs/<source version>/`.
//!
//! `cargo xtask veristat` ([`veristat`]) uses the same kernels and build.

use crate::kernel::{self, Flavor, KernelTree, Variant};
use crate::vm::{self, VmSpec};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The subsets run by default, as `test_progs -t` patterns (each matches test names that
/// contain it): the verifier's own tests and every test family whose programs call kfuncs.
pub const SUBSETS: &[&str] = &[
    "verifier",
    "verif_",
    "kfunc",
    "cpumask",
    "dynptr",
    "iters",
    "rbtree",
    "linked_list",
    "local_kptr_stash",
    "refcounted_kptr",
    "map_kptr",
    "kptr_xchg_inline",
    "percpu_alloc",
    "arena",
    "rcu_read_lock",
    "exceptions",
    "bpf_nf",
    "crypto",
    "wq",
    // Users of the dynptr kfuncs whose types patch 8 gives per argument.
    "file_reader",
    "bpf_qdisc",
    "xdp_context",
    "cls_redirect",
    "l4lb_all",
    "parse_tcp_hdr_opt",
    "ip_check_defrag",
];

/// The selftests' test modules (`test_kmods/` in 7.3) `test_progs` loads, built against
/// each kernel.
const KMODS: &[&str] = &[
    "bpf_testmod",
    "bpf_test_no_cfi",
    "bpf_test_modorder_x",
    "bpf_test_modorder_y",
    "bpf_test_rqspinlock",
];

/// Host programs the tests run (`ip netns add` etc.: busybox's `ip` has no netns), put
/// first in the VM's PATH; and the host's `/bin/sh` (dash): `test_progs` runs them through
/// `system()`, and Debian's static busybox shell runs its own applets before it searches
/// the PATH (standalone shell), so with busybox as `/bin/sh` every `ip` is busybox's.
/// (`busybox --install` in the VM's `/init` leaves an existing `/bin/sh` alone.)
const HOST_TOOLS: &[&str] = &["/usr/sbin/ip", "/usr/sbin/tc", "/bin/sh"];

/// Debian packages the `test_progs` build and run need.
const PACKAGES: &[&str] = &[
    "clang-19",
    "llvm-19",
    "lld",
    "gcc",
    "make",
    "pkg-config",
    "libelf-dev",
    "zlib1g-dev",
    "libzstd-dev",
    "libssl-dev",
    "busybox-static",
    "qemu-system-x86",
    "cpio",
    "iproute2",
    // test_progs-extras copies its runtime files with rsync.
    "rsync",
];

/// Results of one run: `#N` or `#N/M` -> (test or test/subtest name, OK|FAIL|SKIP).
pub type Results = BTreeMap<String, (String, String)>;

fn work_dir() -> Result<PathBuf, String> {
    let src = crate::source::ensure_source()?;
    kernel::cache_dir(&format!("progs/{}", src.version))
}

/// The skeleton headers (`X.skel.h`, `X.lskel.h`, `X.subskel.h`) a `prog_tests/*.c` file
/// includes, as the program names `X`.
fn skeletons_included(c_source: &str) -> Vec<&str> {
    c_source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("#include \""))
        .filter_map(|l| l.split('"').next())
        .filter_map(|h| {
            [".skel.h", ".lskel.h", ".subskel.h"]
                .iter()
                .find_map(|x| h.strip_suffix(x))
        })
        .collect()
}

/// `prog_tests/*.c` files of the selftests directory `bpf` that include the skeleton of a
/// BPF program the source does not have (neither `progs/X.c` nor a linked skeleton the
/// Makefile names), with that program's name.
fn tests_without_programs(bpf: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let makefile = fs::read_to_string(bpf.join("Makefile")).map_err(|e| e.to_string())?;
    let dir = bpf.join("prog_tests");
    let mut v = Vec::new();
    for e in fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        if p.extension().is_none_or(|x| x != "c") {
            continue;
        }
        let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        for prog in skeletons_included(&text) {
            let linked = makefile.contains(&format!("{prog}.skel.h"))
                || makefile.contains(&format!("{prog}.subskel.h"));
            if !linked && !bpf.join("progs").join(format!("{prog}.c")).exists() {
                v.push((p.clone(), prog.to_string()));
            }
        }
    }
    v.sort();
    Ok(v)
}

/// A private copy of the selftests' source subset, without the tests that cannot build
/// because their BPF program is missing from this source (Debian's 6.12.117 had
/// `prog_tests/bpf_attr_size.c`, a stable backport, without
/// `progs/cgroup_skb_direct_packet_access.c`; 7.3.4 has none: every test is kept). Each
/// test left out is named on stderr with the reason.
fn ensure_source_copy() -> Result<PathBuf, String> {
    let pristine = crate::regress::ensure_source()?;
    let dir = work_dir()?.join("src");
    let top = dir.join(pristine.file_name().ok_or("bad source path")?);
    if dir.join("pruned.ok").exists() {
        return Ok(top);
    }
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    crate::deps::run_logged(
        Command::new("cp").arg("-a").arg(&pristine).arg(&top),
        "copy the selftests source",
        &dir.join("copy.log"),
    )?;
    let bpf = top.join("tools/testing/selftests/bpf");
    let mut left_out = String::new();
    for (test, prog) in tests_without_programs(&bpf)? {
        let name = test.file_name().unwrap_or_default().to_string_lossy();
        left_out.push_str(&format!(
            "prog_tests/{name}: it includes {prog}.skel.h but progs/{prog}.c is not in this source\n"
        ));
        fs::remove_file(&test).map_err(|e| format!("{}: {e}", test.display()))?;
    }
    fs::write(dir.join(LEFT_OUT), left_out).map_err(|e| e.to_string())?;
    // Generated from the list of prog_tests/*.c: made again.
    let _ = fs::remove_file(bpf.join("prog_tests/tests.h"));
    fs::write(dir.join("pruned.ok"), b"").map_err(|e| e.to_string())?;
    Ok(top)
}

/// The file of [`ensure_source_copy`]'s directory that lists the tests left out, one
/// `prog_tests/X.c: reason` a line.
const LEFT_OUT: &str = "left-out.txt";

/// Print the tests [`ensure_source_copy`] left out of the build, with the reason, or that
/// none was.
fn print_left_out() -> Result<(), String> {
    let f = work_dir()?.join("src").join(LEFT_OUT);
    let text = fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
    if text.trim().is_empty() {
        println!("progs: every prog_tests/*.c of this source is built (none left out)");
    }
    for l in text.lines() {
        println!("progs: left out of the build: {l}");
    }
    Ok(())
}

/// The name of `kt`'s cache directory (`selftests-unpatched-<key>`).
fn kernel_dir_name(kt: &KernelTree) -> Result<String, String> {
    kt.tree
        .parent()
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| "kernel tree has no cache directory".to_string())
}

/// Build `test_progs` against `base`'s BTF (once per kernel build); returns the output dir.
fn build_test_progs(base: &KernelTree) -> Result<PathBuf, String> {
    let src = ensure_source_copy()?;
    let key = kernel_dir_name(base)?;
    let dir = work_dir()?.join(format!("build-{key}"));
    let out = dir.join("out");
    if dir.join("built.ok").exists()
        && out.join("test_progs").exists()
        && out.join("veristat").exists()
    {
        eprintln!("progs: test_progs cached: {}", out.display());
        return Ok(out);
    }
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    // The Makefile copies the test modules next to test_progs; they are built here with the
    // kernel's own compiler (LLVM=-19), and make is told (-o) not to build them itself. The
    // VM gets the modules built against the kernel it boots (see `stage`). The selftests
    // kernel has cgroups: bpf_testmod is built as it is (no edit, unlike `regress`).
    let label = format!("selftests-{}", base.variant.name());
    for m in KMODS {
        let ko = crate::regress::build_kmod(&base.tree, m, &label)?;
        fs::copy(&ko, out.join(format!("{m}.ko"))).map_err(|e| format!("{}: {e}", ko.display()))?;
    }
    eprintln!(
        "progs: building test_progs and its BPF objects with clang-19 (log: {})",
        dir.join("build.log").display()
    );
    make_test_progs(
        &src,
        &out,
        base,
        &[out.join("test_progs"), out.join("veristat")],
        &dir.join("build.log"),
    )?;
    fs::write(dir.join("built.ok"), b"").map_err(|e| e.to_string())?;
    Ok(out)
}

/// `make` the selftests' `targets` of the source tree `src` into `out`, against `base`'s
/// BTF, as [`build_test_progs`] does (the test modules are expected in `out` already).
fn make_test_progs(
    src: &Path,
    out: &Path,
    base: &KernelTree,
    targets: &[PathBuf],
    log: &Path,
) -> Result<(), String> {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get()) + 1;
    let mut c = Command::new("make");
    c.arg("-C")
        .arg(src.join("tools/testing/selftests/bpf"))
        .arg(format!("-j{jobs}"))
        .arg(format!("OUTPUT={}", out.display()))
        .arg(format!("VMLINUX_BTF={}", base.vmlinux.display()))
        // On 6.12 (a clang-14 kernel), pahole 1.24's BTF kept a second copy of a few
        // networking structs (inet_connection_sock___2: some compilation units lost the
        // `__rcu` type tag of one member), so three programs (bpf_iter_tcp4/6,
        // sock_destroy_prog) assigned between the two copies; CO-RE resolves both to the
        // same kernel type, so that one warning is not made an error. The 7.3 kernel
        // (clang-19) has no such copy: its build warns about nothing.
        .arg("CLANG=clang-19 -Wno-error=incompatible-pointer-types")
        .args(["LLC=llc-19", "LLVM_STRIP=llvm-strip-19"])
        // libarena's BPF objects (linked into test_progs) use 32-bit atomics and signed
        // division (BPF ISA v4), which clang-19 does not select by default. MENDIAN reaches
        // only BPF_CFLAGS; test_progs' own objects keep the -mcpu=v3 their build rule puts
        // after it.
        .arg("MENDIAN=-mlittle-endian -mcpu=v4");
    // The test modules are built per kernel (with the kernel's compiler, LLVM=1), not here.
    for m in KMODS {
        c.arg("-o").arg(out.join(format!("{m}.ko")));
    }
    c.args(targets);
    crate::deps::run_logged(&mut c, "make test_progs", log)
}

/// The shared libraries `bin` needs, from `ldd` (the dynamic loader included).
fn shared_libs(bin: &Path) -> Result<Vec<PathBuf>, String> {
    let o = Command::new("ldd")
        .arg(bin)
        .output()
        .map_err(|e| format!("ldd: {e}"))?;
    if !o.status.success() {
        return Err(format!("ldd {} failed", bin.display()));
    }
    Ok(String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let p = match l.split_once("=>") {
                Some((_, r)) => r.trim().split(' ').next()?,
                None => l.split(' ').next()?,
            };
            p.starts_with('/').then(|| PathBuf::from(p))
        })
        .collect())
}

/// Files of the build output the VM gets, under `/progs`.
fn runtime_files(out: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let mut v = Vec::new();
    for e in fs::read_dir(out).map_err(|e| format!("{}: {e}", out.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        let Some(name) = p.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        let wanted = name.ends_with(".bpf.o")
            || name.starts_with("btf_dump_test_case_")
            || [
                "test_progs",
                "veristat",
                "urandom_read",
                "liburandom_read.so",
                "uprobe_multi",
            ]
            .contains(&name.as_str());
        if wanted && p.is_file() {
            v.push((p, format!("/progs/{name}")));
        }
    }
    v.sort();
    Ok(v)
}

/// One test or subtest result line of `test_progs`: `#12 name:OK`, `#12/3 name/sub:FAIL`,
/// `#12 name:OK (SKIP: 1/3)`. Returns (number, name, status).
fn parse_line(l: &str) -> Option<(String, String, String)> {
    let rest = l.trim_end().strip_prefix('#')?;
    let (num, tail) = rest.split_once(' ')?;
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '/') {
        return None;
    }
    let tail = tail.trim_start();
    for st in ["OK", "FAIL", "SKIP"] {
        if let Some(n) = tail.strip_suffix(&format!(":{st}")) {
            return Some((num.to_string(), n.to_string(), st.to_string()));
        }
    }
    let i = tail.rfind(":OK (SKIP: ")?;
    tail.ends_with(')')
        .then(|| (num.to_string(), tail[..i].to_string(), "OK".to_string()))
}

/// Test results from a `test_progs` console: `#N` or `#N/M` -> (name, status).
pub fn parse(console: &str) -> Results {
    console
        .lines()
        .filter_map(parse_line)
        .map(|(n, name, st)| (format!("#{n}"), (name, st)))
        .collect()
}

/// Progress while a VM runs: every top-level test result (subtests are only counted).
fn progress_line(l: &str) -> Option<String> {
    let (num, name, st) = parse_line(l)?;
    (!num.contains('/')).then(|| format!("progs:   #{num} {name}: {st}"))
}

/// The conversion of `bpf_testmod`'s kfunc sets from name suffixes to per-argument flags.
fn testmod_conversion() -> PathBuf {
    kernel::repo_root().join("kernel/progs/bpf_testmod-kfunc-args.patch")
}

/// Which `bpf_testmod` a run loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Testmod {
    /// As in the source: argument facts as parameter-name suffixes.
    Suffixes,
    /// [`testmod_conversion`] applied: plain names, per-argument flags.
    Flags,
    /// The control: plain names and no per-argument flags ([`strip_arg_flags`] of the
    /// conversion), which must change some results, or the parity shows nothing.
    Control,
    /// As the series leaves it: its `test_kmods/` diffs applied ([`series_diffs`]), for the
    /// series' own selftests (`--series-tests`).
    Series,
}

impl Testmod {
    fn suffix(self) -> &'static str {
        match self {
            Testmod::Suffixes => "",
            Testmod::Flags => "-args",
            Testmod::Control => "-control",
            Testmod::Series => "-series",
        }
    }
}

/// `BTF_ID_FLAGS_ARGS(func, name, flags, arg flags..)` -> `BTF_ID_FLAGS_ARGS(func, name,
/// flags)`: the per-argument flags dropped, everything else kept. An invocation starts a
/// line and may continue over several (a kfunc with many flagged arguments); its
/// arguments are split at the commas outside parentheses (`KF_PARAM_MEM(0)`).
pub fn strip_arg_flags(c_source: &str) -> String {
    const CALL: &str = "BTF_ID_FLAGS_ARGS(";
    let mut out = String::with_capacity(c_source.len());
    let mut rest = c_source;
    while !rest.is_empty() {
        let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let Some(body) = rest.strip_prefix(CALL) else {
            out.push_str(&rest[..line_end]);
            rest = &rest[line_end..];
            continue;
        };
        // The closing parenthesis and the top-level commas of this invocation.
        let (mut depth, mut close, mut commas) = (0usize, None, Vec::new());
        for (i, ch) in body.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    close = Some(i);
                    break;
                }
                ')' => depth -= 1,
                ',' if depth == 0 => commas.push(i),
                _ => {}
            }
        }
        let Some(close) = close else {
            // Unbalanced: left as it is.
            out.push_str(&rest[..line_end]);
            rest = &rest[line_end..];
            continue;
        };
        let kept = commas.get(2).map_or(&body[..close], |&c| &body[..c]);
        let kept: Vec<&str> = kept.split(',').map(str::trim).collect();
        out.push_str(CALL);
        out.push_str(&kept.join(", "));
        out.push(')');
        rest = &body[close + 1..];
    }
    out
}

/// The VM's files for a run on `kt` with the given `bpf_testmod`: the build output, the
/// test modules built against `kt`, the host tools and every shared library; and the label
/// of the run.
fn stage(
    kt: &KernelTree,
    out: &Path,
    testmod: Testmod,
) -> Result<(String, Vec<(PathBuf, String)>), String> {
    let label = format!("selftests-{}{}", kt.variant.name(), testmod.suffix());
    let mut files = runtime_files(out)?;
    let conversion = match testmod {
        Testmod::Suffixes => None,
        Testmod::Flags | Testmod::Control => Some(testmod_conversion()),
        Testmod::Series => series_kmods_patch()?,
    };
    for m in KMODS {
        let patch = conversion.as_deref().filter(|_| *m == "bpf_testmod");
        let edit = (patch.is_some() && testmod == Testmod::Control)
            .then_some(strip_arg_flags as fn(&str) -> String);
        let ko = crate::regress::build_kmod_with(&kt.tree, m, &label, patch, edit)?;
        files.push((ko, format!("/progs/{m}.ko")));
    }
    for t in HOST_TOOLS {
        files.push((PathBuf::from(t), t.to_string()));
    }
    for bin in [out.join("test_progs"), out.join("veristat")]
        .into_iter()
        .chain(HOST_TOOLS.iter().map(PathBuf::from))
    {
        for l in shared_libs(&bin)? {
            let g = l.to_string_lossy().to_string();
            files.push((l, g));
        }
    }
    Ok((label, files))
}

/// Boot `kt` with `files`, run `command` in `/progs` after the usual mounts (`/run` for
/// iproute2's `ip netns`), with kernel messages held back from the console until the end
/// (they would interleave with the results on the one serial console; printed after the
/// run, the problem scan sees them).
fn boot(
    kt: &KernelTree,
    label: &str,
    files: Vec<(PathBuf, String)>,
    runner: &str,
    command: &str,
    timeout: Duration,
    progress: Option<fn(&str) -> Option<String>>,
) -> Result<vm::VmOutcome, String> {
    let command = format!(
        "export PATH=/usr/sbin:/bin\n\
         mkdir -p /run /var/run && mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/run\n\
         mount -t bpf bpf /sys/fs/bpf\n\
         mount -t debugfs debugfs /sys/kernel/debug\n\
         mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null\n\
         mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null\n\
         ip link set lo up 2>/dev/null\n\
         dmesg -n 1\n\
         cd /progs && {command}\n\
         echo '--- kernel log ---'; dmesg; true"
    );
    let spec = VmSpec {
        kernel: kt.bzimage.clone(),
        modules: Vec::new(),
        files,
        command,
        work_dir: work_dir()?.join(format!("vm-{label}")),
        timeout,
        memory_mib: 3072,
        cpus: 2,
        echo: false,
        progress,
    };
    eprintln!(
        "progs: {runner} on the {label} kernel (TCG; console: {})",
        spec.work_dir.join("console.log").display()
    );
    let o = vm::run_vm(&spec)?;
    if o.timed_out {
        return Err(format!(
            "{label}: VM timed out after {} s ({})",
            timeout.as_secs(),
            o.console_log.display()
        ));
    }
    if !o.problems.is_empty() {
        println!(
            "progs: {label}: {} kernel problem line(s) in the log ({})",
            o.problems.len(),
            o.console_log.display()
        );
    }
    Ok(o)
}

/// One `test_progs` run on `kt` with the given `bpf_testmod`.
fn run_on(
    kt: &KernelTree,
    out: &Path,
    tests: &str,
    deny: &str,
    timeout: Duration,
    testmod: Testmod,
) -> Result<(Results, String), String> {
    let (label, files) = stage(kt, out, testmod)?;
    let deny_arg = if deny.is_empty() {
        String::new()
    } else {
        format!(" -d '{deny}'")
    };
    let command = format!("./test_progs -t '{tests}'{deny_arg}; echo \"PROGS-RC=$?\"");
    let o = boot(
        kt,
        &label,
        files,
        "test_progs",
        &command,
        timeout,
        Some(progress_line),
    )?;
    let summary = o.summary(&label, "test_progs")?;
    println!("progs: {label}: {summary} ({:.0} s)", o.wall.as_secs_f64());
    Ok((parse(&o.console), summary))
}

/// The FUNCs of a `bpftool btf dump file` (raw format) text: name -> the parameter names
/// of each FUNC of that name, in type id order.
pub fn parse_btf_funcs(dump: &str) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut protos: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut funcs: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
    let mut params_of: Option<u32> = None;
    for l in dump.lines() {
        if let Some(p) = l.strip_prefix("\t'") {
            if let (Some(id), Some((name, _))) = (params_of, p.split_once('\'')) {
                protos.entry(id).or_default().push(name.to_string());
            }
            continue;
        }
        params_of = None;
        // [12] FUNC 'name' type_id=34 linkage=static / [34] FUNC_PROTO '(anon)' ret_type_id=..
        let Some((id, rest)) = l.strip_prefix('[').and_then(|r| r.split_once("] ")) else {
            continue;
        };
        let Ok(id) = id.parse::<u32>() else { continue };
        if rest.starts_with("FUNC_PROTO ") {
            protos.insert(id, Vec::new());
            params_of = Some(id);
        } else if let Some(r) = rest.strip_prefix("FUNC '") {
            let Some((name, tail)) = r.split_once('\'') else {
                continue;
            };
            let proto = tail
                .split_whitespace()
                .find_map(|w| w.strip_prefix("type_id="))
                .and_then(|t| t.parse().ok());
            if let Some(proto) = proto {
                funcs.entry(name.to_string()).or_default().push((id, proto));
            }
        }
    }
    funcs
        .into_iter()
        .map(|(name, mut v)| {
            v.sort();
            let params = v
                .iter()
                .map(|(_, p)| protos.get(p).cloned().unwrap_or_default())
                .collect();
            (name, params)
        })
        .collect()
}

/// Function names that have several FUNCs in `a` or `b` and whose first FUNC (the one a
/// lookup by name finds) has other parameter names in `b` than in `a`: (name, a's, b's).
pub fn first_func_differences(
    a: &BTreeMap<String, Vec<Vec<String>>>,
    b: &BTreeMap<String, Vec<Vec<String>>>,
) -> Vec<(String, Vec<String>, Vec<String>)> {
    a.iter()
        .filter_map(|(name, fa)| {
            let fb = b.get(name)?;
            let (pa, pb) = (fa.first()?, fb.first()?);
            ((fa.len() > 1 || fb.len() > 1) && pa != pb)
                .then(|| (name.clone(), pa.clone(), pb.clone()))
        })
        .collect()
}

/// A kernel BTF difference between the two kernels that the series does not make: 7.3's
/// selftests vmlinux has ~150 function names with two FUNCs (a weak and a strong
/// definition, or static functions of the same name), and pahole 1.24 (`-j`) encodes the
/// compilation units in a different order in each build, so a lookup by name (libbpf's
/// attach target, `BTF_ID(func, ..)`) can find another FUNC, with other parameter names,
/// on each kernel. Where those names carry a suffix the verifier reads (`file__nullable`
/// of `bpf_lsm_mmap_file`), a test's result can differ for that reason alone: printed.
fn report_btf_order(out: &Path, a: &KernelTree, b: &KernelTree) -> Result<(), String> {
    let bpftool = out.join("tools/sbin/bpftool");
    let funcs = |kt: &KernelTree| -> Result<_, String> {
        let o = Command::new(&bpftool)
            .args(["btf", "dump", "file"])
            .arg(&kt.vmlinux)
            .output()
            .map_err(|e| format!("{}: {e}", bpftool.display()))?;
        if !o.status.success() {
            return Err(format!("bpftool btf dump {} failed", kt.vmlinux.display()));
        }
        Ok(parse_btf_funcs(&String::from_utf8_lossy(&o.stdout)))
    };
    let d = first_func_differences(&funcs(a)?, &funcs(b)?);
    let suffixed = |v: &[String]| {
        v.iter().any(|p| {
            kfunc_layout::ARG_FLAGS
                .iter()
                .filter_map(|f| f.suffix)
                .any(|s| p.len() > s.len() && p.ends_with(s))
        })
    };
    println!(
        "progs: vmlinux BTF: {} function name(s) with several FUNCs find another first FUNC \
         (other parameter names) on the patched kernel than on the unpatched one (pahole's \
         compilation unit order, not the series); with a suffix the verifier reads:",
        d.len()
    );
    for (name, pa, pb) in d.iter().filter(|(_, pa, pb)| suffixed(pa) || suffixed(pb)) {
        println!(
            "  BTF {name}: unpatched ({}), patched ({})",
            pa.join(", "),
            pb.join(", ")
        );
    }
    Ok(())
}

/// The file diffs (`diff --git a/<path> ...` up to the next one) of a patch's diffs
/// (`code`, as [`kernel::patch_code`] gives them) whose path starts with `under`.
pub fn diffs_under(code: &str, under: &str) -> String {
    let mut out = String::new();
    let mut keep = false;
    for l in code.split_inclusive('\n') {
        if let Some(path) = l.strip_prefix("diff --git a/") {
            keep = path.starts_with(under);
        }
        if keep {
            out.push_str(l);
        }
    }
    out
}

/// The diffs of the bpf series (`patches/*.patch`, in order) to files under `under`.
fn series_diffs(under: &str) -> Result<String, String> {
    let mut out = String::new();
    for p in kernel::patch_files()? {
        let bytes = fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let code = std::str::from_utf8(kernel::patch_code(&bytes))
            .map_err(|e| format!("{}: not UTF-8: {e}", p.display()))?;
        out.push_str(&diffs_under(code, under));
    }
    Ok(out)
}

/// Where the selftests are in the tree; `--series-tests` applies the series' diffs below.
const SELFTESTS: &str = "tools/testing/selftests/";
/// The test modules' directory: its diffs are applied to the module copy (`patch -p6`).
const TEST_KMODS: &str = "tools/testing/selftests/bpf/test_kmods/";

/// The series' `test_kmods/` diffs as a patch file for [`crate::regress::build_kmod_with`],
/// or `None` if the series does not change the test modules.
fn series_kmods_patch() -> Result<Option<PathBuf>, String> {
    let diff = series_diffs(TEST_KMODS)?;
    if diff.is_empty() {
        return Ok(None);
    }
    let f = work_dir()?.join("series-test_kmods.diff");
    fs::write(&f, diff).map_err(|e| format!("{}: {e}", f.display()))?;
    Ok(Some(f))
}

/// The `test_progs` tests a diff adds: its added `void test_<name>(void)` lines in
/// `prog_tests/` files, as names.
pub fn added_tests(diff: &str) -> Vec<String> {
    let mut v = Vec::new();
    let mut in_prog_tests = false;
    for l in diff.lines() {
        if let Some(path) = l.strip_prefix("diff --git a/") {
            in_prog_tests = path
                .split(' ')
                .next()
                .is_some_and(|p| p.contains("/prog_tests/"));
            continue;
        }
        let name = l
            .strip_prefix("+void test_")
            .and_then(|r| r.split_once("(void)"))
            .map(|(n, _)| n.trim());
        if let Some(n) = name.filter(|n| in_prog_tests && !n.is_empty()) {
            v.push(n.to_string());
        }
    }
    v
}

/// A copy of the selftests source ([`ensure_source_copy`]) with the series' selftests diffs
/// applied, kept per diff (by its hash): `cp -a`, so that the files the series does not
/// touch keep their times and a build from the unpatched build's output is incremental.
fn ensure_series_source(diff: &str, hash: &str) -> Result<PathBuf, String> {
    let base = ensure_source_copy()?;
    let dir = work_dir()?.join(format!("src-series-{hash}"));
    let top = dir.join(base.file_name().ok_or("bad source path")?);
    if dir.join("patched.ok").exists() {
        return Ok(top);
    }
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    crate::deps::run_logged(
        Command::new("cp").arg("-a").arg(&base).arg(&top),
        "copy the selftests source",
        &dir.join("copy.log"),
    )?;
    let f = dir.join("selftests.diff");
    fs::write(&f, diff).map_err(|e| format!("{}: {e}", f.display()))?;
    crate::deps::run_logged(
        Command::new("patch")
            .args(["-p1", "--batch", "--forward", "-d"])
            .arg(&top)
            .arg("-i")
            .arg(&f),
        "apply the series' selftests diffs",
        &dir.join("patch.log"),
    )?;
    fs::write(dir.join("patched.ok"), b"").map_err(|e| e.to_string())?;
    Ok(top)
}

/// Remove the source copies and builds of other versions of the series' selftests
/// (`src-series-<hash>`, `build-series-<hash>-<kernel>`: ~650 MB each).
fn remove_other_series_dirs(hash: &str) -> Result<(), String> {
    let w = work_dir()?;
    for e in fs::read_dir(&w).map_err(|e| format!("{}: {e}", w.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        let name = e.file_name().to_string_lossy().to_string();
        let old = ["src-series-", "build-series-"]
            .iter()
            .any(|p| name.strip_prefix(p).is_some_and(|r| !r.starts_with(hash)));
        if old {
            eprintln!("progs: removing {name} (another version of the series' selftests)");
            fs::remove_dir_all(e.path()).map_err(|err| format!("{}: {err}", e.path().display()))?;
        }
    }
    Ok(())
}

/// `test_progs` of the series' selftests source `src`: the unpatched build's output
/// ([`build_test_progs`]) copied, then made again from `src` (what the series changes is
/// rebuilt: its BPF objects, their skeletons, the tests that include them, the link).
fn build_series_test_progs(base: &KernelTree, src: &Path, hash: &str) -> Result<PathBuf, String> {
    let reference = build_test_progs(base)?;
    let dir = work_dir()?.join(format!("build-series-{hash}-{}", kernel_dir_name(base)?));
    let out = dir.join("out");
    if dir.join("built.ok").exists() && out.join("test_progs").exists() {
        eprintln!("progs: the series' test_progs cached: {}", out.display());
        return Ok(out);
    }
    if !dir.join("copied.ok").exists() {
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        crate::deps::run_logged(
            Command::new("cp").arg("-a").arg(&reference).arg(&out),
            "copy the unpatched test_progs build",
            &dir.join("copy.log"),
        )?;
        fs::write(dir.join("copied.ok"), b"").map_err(|e| e.to_string())?;
    }
    eprintln!(
        "progs: building test_progs with the series' selftests (log: {})",
        dir.join("build.log").display()
    );
    make_test_progs(
        src,
        &out,
        base,
        &[out.join("test_progs")],
        &dir.join("build.log"),
    )?;
    fs::write(dir.join("built.ok"), b"").map_err(|e| e.to_string())?;
    Ok(out)
}

/// OK, FAIL and SKIP counts of the leaves of a run: the subtests, and the tests that have
/// none.
fn leaf_counts(m: &Results) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for (k, (_, st)) in m {
        let prefix = format!("{k}/");
        if m.range(prefix.clone()..)
            .next()
            .is_some_and(|(k2, _)| k2.starts_with(&prefix))
        {
            continue;
        }
        match st.as_str() {
            "OK" => c.0 += 1,
            "FAIL" => c.1 += 1,
            _ => c.2 += 1,
        }
    }
    c
}

/// `cargo xtask progs --series-tests`: the selftests the series adds (its
/// `tools/testing/selftests/` diffs: `bpf_testmod` kfuncs, BPF programs, `prog_tests`
/// entries), built into `test_progs` and run on the patched kernel. Every subtest is a
/// test of the tally; a test the series adds that does not run is a failure.
fn run_series(f: &crate::flags::Progs) -> Result<crate::test::Tally, String> {
    crate::deps::ensure_debian_packages(PACKAGES)?;
    let diff = series_diffs(SELFTESTS)?;
    if diff.is_empty() {
        return Err(format!(
            "progs --series-tests: no patch of patches/ changes {SELFTESTS}"
        ));
    }
    let added = added_tests(&diff);
    let tests = match &f.tests {
        Some(t) => t.clone(),
        None if added.is_empty() => {
            return Err("progs --series-tests: the series adds no prog_tests test \
                        (void test_<name>(void)); name tests with --tests"
                .into())
        }
        None => added.join(","),
    };
    let mut h = kernel::Fnv::new();
    h.write(diff.as_bytes());
    let hash = format!("{:016x}", h.0);
    remove_other_series_dirs(&hash)?;
    let unpatched = kernel::ensure_kernel_flavor(Variant::Unpatched, Flavor::Selftests)?;
    let src = ensure_series_source(&diff, &hash)?;
    let out = build_series_test_progs(&unpatched, &src, &hash)?;
    let patched = kernel::ensure_kernel_flavor(Variant::Patched, Flavor::Selftests)?;
    let limit = Duration::from_secs(f.timeout);
    let (m, summary) = run_on(&patched, &out, &tests, &f.deny, limit, Testmod::Series)?;
    let (ok, fail, skip) = leaf_counts(&m);
    let missing: Vec<&String> = added
        .iter()
        .filter(|t| f.tests.is_none() && !m.values().any(|(n, _)| n == *t))
        .collect();
    for t in &missing {
        println!("progs: the series' test {t} did not run");
    }
    for (k, (name, st)) in m.iter().filter(|(_, (_, st))| st != "OK") {
        println!("  {st} {k} {name}");
    }
    crate::figures::say(
        "progs-series",
        format!("progs --series-tests: {tests} on the patched kernel: {ok} OK, {fail} FAIL, {skip} SKIP; {summary}"),
    );
    Ok(crate::test::Tally {
        passed: ok as u64,
        failed: (fail + missing.len()) as u64,
        skipped: skip as u64,
    })
}

/// `cargo xtask progs --series-tests` as a step of `cargo xtask test`: run when both
/// kernels of the selftests' config and the unpatched `test_progs` build are in the cache
/// (then only what the series' selftests change is rebuilt, and one VM boots: about a
/// minute of build and one of TCG), one skipped test with the reason otherwise (nothing is
/// built: those kernels take ~72 min cold on 2 cores).
pub fn series_tests_if_cached() -> Result<crate::test::Tally, String> {
    let unpatched = kernel::cached_kernel(Variant::Unpatched, Flavor::Selftests);
    let patched = kernel::cached_kernel(Variant::Patched, Flavor::Selftests);
    let built = match &unpatched {
        Some(kt) => work_dir()?
            .join(format!("build-{}", kernel_dir_name(kt)?))
            .join("built.ok")
            .exists(),
        None => false,
    };
    let missing = [
        (unpatched.is_none(), "the unpatched kernel"),
        (patched.is_none(), "the patched kernel"),
        (!built, "the unpatched test_progs build"),
    ]
    .iter()
    .filter(|(m, _)| *m)
    .map(|(_, what)| *what)
    .collect::<Vec<_>>();
    if !missing.is_empty() {
        println!(
            "SKIPPED progs --series-tests: not cached: {} of the BPF selftests' config \
             (`cargo xtask progs` builds them)",
            missing.join(", ")
        );
        return Ok(crate::test::Tally {
            skipped: 1,
            ..Default::default()
        });
    }
    run_series(&crate::flags::Progs {
        tests: None,
        deny: String::new(),
        timeout: 1800,
        series_tests: true,
    })
}

/// Two runs compared test by test.
#[derive(Debug, Default)]
pub struct Comparison {
    /// OK in both runs.
    pub passed: usize,
    /// OK in the first run, not OK (or not run) in the second: failures.
    pub lost: Vec<String>,
    /// Not OK in the first run, with the same status in the second.
    pub same_not_ok: usize,
    /// Any other difference (a test only the second run has, or passes).
    pub other: Vec<String>,
}

/// Compare run `b` (labelled `lb`) against the reference run `a` (labelled `la`).
pub fn compare(a: &Results, la: &str, b: &Results, lb: &str) -> Comparison {
    let mut c = Comparison::default();
    for (k, (name, st)) in a {
        match b.get(k) {
            Some((n2, _)) if n2 != name => c
                .lost
                .push(format!("{k}: {name} in the {la} run, {n2} in the {lb} run")),
            Some((_, st2)) if st2 == st && st == "OK" => c.passed += 1,
            Some((_, st2)) if st2 == st => c.same_not_ok += 1,
            Some((_, st2)) if st == "OK" => c.lost.push(format!("{k} {name}: {la} OK, {lb} {st2}")),
            Some((_, st2)) => c.other.push(format!("{k} {name}: {la} {st}, {lb} {st2}")),
            None if st == "OK" => c.lost.push(format!("{k} {name}: not run in the {lb} run")),
            None => c.other.push(format!("{k} {name}: not run in the {lb} run")),
        }
    }
    for (k, (name, _)) in b {
        if !a.contains_key(k) {
            c.other.push(format!("{k} {name}: not run in the {la} run"));
        }
    }
    c
}

fn counts(m: &Results) -> String {
    let n = |s: &str| m.values().filter(|(_, st)| st == s).count();
    format!("OK/FAIL/SKIP {}/{}/{}", n("OK"), n("FAIL"), n("SKIP"))
}

fn report(what: &str, c: &Comparison) {
    crate::figures::say(
        "progs",
        format!(
            "progs: {what}: {} OK in both, {} lost, {} not OK in both, {} other differences",
            c.passed,
            c.lost.len(),
            c.same_not_ok,
            c.other.len()
        ),
    );
    for d in &c.lost {
        println!("  LOST {d}");
    }
    for d in &c.other {
        println!("  DIFF {d}");
    }
}

/// `cargo xtask progs`: its tally (a test lost between runs, or a control that changes
/// nothing, is a failure).
pub fn run(f: &crate::flags::Progs) -> Result<crate::test::Tally, String> {
    if f.series_tests {
        return run_series(f);
    }
    let tests = f.tests.clone().unwrap_or_else(|| SUBSETS.join(","));
    let deny = f.deny.clone();
    let timeout = f.timeout;
    crate::deps::ensure_debian_packages(PACKAGES)?;
    // test_progs needs only the unpatched kernel: built (and run once) before the patched
    // kernel, so that a build problem shows before a long kernel build.
    let unpatched = kernel::ensure_kernel_flavor(Variant::Unpatched, Flavor::Selftests)?;
    let out = build_test_progs(&unpatched)?;
    print_left_out()?;
    if !deny.is_empty() {
        println!("progs: left out of the runs by --deny: {deny}");
    }
    let limit = Duration::from_secs(timeout);
    let (a, sa) = run_on(&unpatched, &out, &tests, &deny, limit, Testmod::Suffixes)?;
    let patched = kernel::ensure_kernel_flavor(Variant::Patched, Flavor::Selftests)?;
    let (b, sb) = run_on(&patched, &out, &tests, &deny, limit, Testmod::Suffixes)?;
    let (c, sc) = run_on(&patched, &out, &tests, &deny, limit, Testmod::Flags)?;
    let (d, sd) = run_on(&patched, &out, &tests, &deny, limit, Testmod::Control)?;
    for (label, m, summary) in [
        ("unpatched", &a, &sa),
        ("patched", &b, &sb),
        ("patched, bpf_testmod with per-argument flags", &c, &sc),
        (
            "patched, bpf_testmod control (plain names, no flags)",
            &d,
            &sd,
        ),
    ] {
        crate::figures::say(
            "progs",
            format!(
                "progs: {label}: {} tests and subtests, {}; {summary}",
                m.len(),
                counts(m)
            ),
        );
    }
    if a.is_empty() || b.is_empty() || c.is_empty() || d.is_empty() {
        return Err("progs: a run gave no test result".into());
    }
    // No regression: whatever passes on the unpatched kernel passes on the patched one.
    let regress = compare(&a, "unpatched", &b, "patched");
    report("unpatched -> patched", &regress);
    report_btf_order(&out, &unpatched, &patched)?;
    // Parity: bpf_testmod's suffixes as per-argument flags change no result.
    let parity = compare(&b, "suffixes", &c, "per-argument flags");
    report("bpf_testmod suffixes -> per-argument flags", &parity);
    // The control: without the flags some results must change, or the parity is vacuous.
    let control = compare(&b, "suffixes", &d, "control");
    let control_changed = control.lost.len() + control.other.len();
    crate::figures::say(
        "progs",
        format!(
            "progs: control (plain names, no flags): {control_changed} result(s) differ from \
             the suffixes"
        ),
    );
    for x in control.lost.iter().chain(&control.other) {
        println!("  CONTROL {x}");
    }
    let lost = regress.lost.len() + parity.lost.len() + usize::from(control_changed == 0);
    let t = crate::test::Tally {
        passed: (regress.passed + parity.passed + usize::from(control_changed > 0)) as u64,
        failed: lost as u64,
        skipped: (regress.same_not_ok
            + parity.same_not_ok
            + regress.other.len()
            + parity.other.len()) as u64,
    };
    if lost > 0 {
        println!(
            "progs: {lost} test(s) pass in the reference run but not in the run compared with it"
        );
    }
    crate::figures::say(
        "progs",
        format!(
            "progs: {} passed, {} failed, {} skipped",
            t.passed, t.failed, t.skipped
        ),
    );
    Ok(t)
}

/// One program's line of `veristat -o csv`: verdict, duration (us), instructions processed,
/// states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `success` or `failure`.
    pub verdict: String,
    /// Verification time in microseconds.
    pub duration_us: u64,
    /// Instructions the verifier processed.
    pub insns: u64,
    /// Verifier states created.
    pub states: u64,
}

/// The fields `veristat` is asked for, in its CSV header's names.
const VERISTAT_FIELDS: &str = "file,prog,verdict,duration,total_insns,total_states";

/// One program's row of `veristat -o csv`: ((file, program), result).
fn parse_veristat_line(l: &str) -> Option<((String, String), Verified)> {
    let f: Vec<&str> = l.trim_end().split(',').collect();
    let [file, prog, verdict, dur, insns, states] = f[..] else {
        return None;
    };
    if verdict != "success" && verdict != "failure" {
        return None;
    }
    let v = Verified {
        verdict: verdict.to_string(),
        duration_us: dur.parse().ok()?,
        insns: insns.parse().ok()?,
        states: states.parse().ok()?,
    };
    Some(((file.to_string(), prog.to_string()), v))
}

/// `veristat -o csv` rows from a console: (file, program) -> result.
pub fn parse_veristat(console: &str) -> BTreeMap<(String, String), Verified> {
    console.lines().filter_map(parse_veristat_line).collect()
}

/// Programs verified so far in the running VM (for [`veristat_progress`]).
static VERIFIED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Progress while veristat runs: a line every 500 programs.
fn veristat_progress(l: &str) -> Option<String> {
    parse_veristat_line(l)?;
    let n = VERIFIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    n.is_multiple_of(500)
        .then(|| format!("veristat:   {n} programs verified"))
}

fn veristat_on(
    kt: &KernelTree,
    out: &Path,
    objects: &str,
    timeout: Duration,
) -> Result<BTreeMap<(String, String), Verified>, String> {
    let (label, files) = stage(kt, out, Testmod::Suffixes)?;
    let command = format!(
        "insmod bpf_testmod.ko && ./veristat -o csv -e {VERISTAT_FIELDS} {objects} 2>/dev/null; \
         echo \"VERISTAT-RC=$?\""
    );
    VERIFIED.store(0, std::sync::atomic::Ordering::Relaxed);
    let o = boot(
        kt,
        &label,
        files,
        "veristat",
        &command,
        timeout,
        Some(veristat_progress),
    )?;
    let m = parse_veristat(&o.console);
    println!(
        "veristat: {label}: {} programs ({:.0} s)",
        m.len(),
        o.wall.as_secs_f64()
    );
    Ok(m)
}

/// `cargo xtask veristat [--objects GLOB]`: the verifier's work on every program of the
/// selftests' BPF objects, on the unpatched and the patched kernel: the same verdict, the
/// same instructions processed and states for each program, and the verification time.
pub fn veristat(f: &crate::flags::Veristat) -> Result<crate::test::Tally, String> {
    let objects = f.objects.clone();
    crate::deps::ensure_debian_packages(PACKAGES)?;
    let unpatched = kernel::ensure_kernel_flavor(Variant::Unpatched, Flavor::Selftests)?;
    let out = build_test_progs(&unpatched)?;
    print_left_out()?;
    let limit = Duration::from_secs(5400);
    let a = veristat_on(&unpatched, &out, &objects, limit)?;
    let patched = kernel::ensure_kernel_flavor(Variant::Patched, Flavor::Selftests)?;
    let b = veristat_on(&patched, &out, &objects, limit)?;
    if a.is_empty() || b.is_empty() {
        return Err("veristat: a run gave no result".into());
    }
    let (mut same, mut differ) = (0usize, Vec::new());
    let (mut ta, mut tb) = (0u64, 0u64);
    let mut log_ratio_sum = 0f64;
    let mut timed = 0usize;
    for (k, va) in &a {
        let Some(vb) = b.get(k) else {
            differ.push(format!(
                "{}/{}: not verified on the patched kernel",
                k.0, k.1
            ));
            continue;
        };
        if va.verdict == vb.verdict && va.insns == vb.insns && va.states == vb.states {
            same += 1;
        } else {
            differ.push(format!(
                "{}/{}: unpatched {} {} insns {} states, patched {} {} insns {} states",
                k.0, k.1, va.verdict, va.insns, va.states, vb.verdict, vb.insns, vb.states
            ));
        }
        if va.verdict == "success" && vb.verdict == "success" {
            ta += va.duration_us;
            tb += vb.duration_us;
            // Per-program ratios of programs that take long enough to time (>= 1 ms).
            if va.duration_us >= 1000 && vb.duration_us >= 1000 {
                log_ratio_sum += (vb.duration_us as f64 / va.duration_us as f64).ln();
                timed += 1;
            }
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        differ.push(format!(
            "{}/{}: not verified on the unpatched kernel",
            k.0, k.1
        ));
    }
    for d in &differ {
        println!("  DIFF {d}");
    }
    crate::figures::say(
        "veristat",
        format!(
            "veristat: {} programs; verdict, instructions and states identical for {same}; \
         verification time of the programs both accept: {:.1} ms unpatched, {:.1} ms \
         patched (ratio {:.3}); geometric mean of {timed} per-program ratios (>= 1 ms): {:.3}",
            a.len(),
            ta as f64 / 1000.0,
            tb as f64 / 1000.0,
            tb as f64 / ta.max(1) as f64,
            if timed > 0 {
                (log_ratio_sum / timed as f64).exp()
            } else {
                f64::NAN
            }
        ),
    );
    crate::figures::say(
        "veristat",
        format!(
            "veristat: {same} passed, {} failed, 0 skipped",
            differ.len()
        ),
    );
    Ok(crate::test::Tally {
        passed: same as u64,
        failed: differ.len() as u64,
        skipped: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_results_with_colons_and_partial_skips() {
        let log = "#1       arena_atomics:OK\n\
                   #2/1     verifier_and/invalid and of negative number:OK\n\
                   #2/2     verifier_and/calls: x: y:FAIL\n\
                   #2       verifier_and:FAIL\n\
                   #3       kfunc_call:OK (SKIP: 1/4)\n\
                   #4       crypto_sanity:SKIP\n\
                   libbpf: prog 'x': #5 is not a result\n\
                   Summary: 2/1 PASSED, 1 SKIPPED, 1 FAILED\n";
        let m = parse(log);
        assert_eq!(m.len(), 6);
        assert_eq!(m["#2"].1, "FAIL");
        assert_eq!(m["#1"], ("arena_atomics".into(), "OK".into()));
        assert_eq!(
            m["#2/1"],
            (
                "verifier_and/invalid and of negative number".into(),
                "OK".into()
            )
        );
        assert_eq!(
            m["#2/2"],
            ("verifier_and/calls: x: y".into(), "FAIL".into())
        );
        assert_eq!(m["#3"], ("kfunc_call".into(), "OK".into()));
        assert_eq!(m["#4"].1, "SKIP");
    }

    #[test]
    fn parses_veristat_csv() {
        let log = "file_name,prog_name,verdict,duration,total_insns,total_states\n\
                   pyperf600.bpf.o,on_event,failure,1234567,1000001,9000\n\
                   verifier_and.bpf.o,and_1,success,150,12,1\n\
                   [   12.3] random,kernel,line\n";
        let m = parse_veristat(log);
        assert_eq!(m.len(), 2);
        let v = &m[&("verifier_and.bpf.o".to_string(), "and_1".to_string())];
        assert_eq!(
            (v.verdict.as_str(), v.duration_us, v.insns, v.states),
            ("success", 150, 12, 1)
        );
    }

    #[test]
    fn strips_only_the_argument_flags() {
        let c = "BTF_KFUNCS_ARGS_START(s)\n\
                 BTF_ID_FLAGS_ARGS(func, a, 0, 0, KF_PARAM_SIZE | KF_PARAM_MEM(0))\n\
                 BTF_ID_FLAGS_ARGS(func, b, KF_ACQUIRE | KF_RET_NULL)\n\
                 BTF_ID_FLAGS_ARGS(func, m, 0,\n\
                 \t\t  KF_PARAM_ARENA, KF_PARAM_ARENA,\n\
                 \t\t  0, KF_PARAM_SIZE | KF_PARAM_MEM(2))\n\
                 BTF_ID_FLAGS_ARGS(func, n, 0,\n\
                 \t\t  0, KF_PARAM_SIZE | KF_PARAM_MEM(0))\n\
                 BTF_ID_FLAGS_ARGS(func, e, 0)\n\
                 \tBTF_ID_FLAGS_ARGS(func, c, 0, KF_PARAM_ITER)\n\
                 BTF_KFUNCS_ARGS_END(s)";
        assert_eq!(
            strip_arg_flags(c),
            "BTF_KFUNCS_ARGS_START(s)\n\
             BTF_ID_FLAGS_ARGS(func, a, 0)\n\
             BTF_ID_FLAGS_ARGS(func, b, KF_ACQUIRE | KF_RET_NULL)\n\
             BTF_ID_FLAGS_ARGS(func, m, 0)\n\
             BTF_ID_FLAGS_ARGS(func, n, 0)\n\
             BTF_ID_FLAGS_ARGS(func, e, 0)\n\
             \tBTF_ID_FLAGS_ARGS(func, c, 0, KF_PARAM_ITER)\n\
             BTF_KFUNCS_ARGS_END(s)"
        );
    }

    #[test]
    fn finds_same_name_funcs_that_resolve_differently() {
        let a = "[1] FUNC_PROTO '(anon)' ret_type_id=0 vlen=1\n\
                 \t'file__nullable' type_id=5\n\
                 [2] FUNC_PROTO '(anon)' ret_type_id=0 vlen=1\n\
                 \t'file' type_id=5\n\
                 [3] FUNC 'hook' type_id=1 linkage=static\n\
                 [4] FUNC 'hook' type_id=2 linkage=static\n\
                 [5] FUNC 'single' type_id=2 linkage=static\n";
        let b = "[1] FUNC_PROTO '(anon)' ret_type_id=0 vlen=1\n\
                 \t'file' type_id=5\n\
                 [2] FUNC_PROTO '(anon)' ret_type_id=0 vlen=1\n\
                 \t'file__nullable' type_id=5\n\
                 [3] FUNC 'hook' type_id=1 linkage=static\n\
                 [4] FUNC 'hook' type_id=2 linkage=static\n\
                 [5] FUNC 'single' type_id=1 linkage=static\n";
        let (fa, fb) = (parse_btf_funcs(a), parse_btf_funcs(b));
        assert_eq!(fa["hook"], [vec!["file__nullable"], vec!["file"]]);
        // A name with one FUNC is not a lookup ambiguity, whatever its parameters.
        assert_eq!(
            first_func_differences(&fa, &fb),
            [(
                "hook".to_string(),
                vec!["file__nullable".to_string()],
                vec!["file".to_string()]
            )]
        );
    }

    #[test]
    fn finds_the_skeletons_a_test_includes() {
        let c = "#include <test_progs.h>\n#include \"a.skel.h\"\n #include \"b.lskel.h\"\n\
                 #include \"c.subskel.h\"\n#include \"network_helpers.h\"\n";
        assert_eq!(skeletons_included(c), ["a", "b", "c"]);
    }

    #[test]
    fn takes_the_diffs_under_a_directory_and_the_tests_they_add() {
        let code = "diff --git a/kernel/bpf/verifier.c b/kernel/bpf/verifier.c\n\
                    +void test_not_a_test(void) {}\n\
                    diff --git a/tools/testing/selftests/bpf/prog_tests/verifier.c b/tools/testing/selftests/bpf/prog_tests/verifier.c\n\
                    @@ -1 +1,2 @@\n\
                    +void test_verifier_kfunc_args(void)  { RUN_TESTS(verifier_kfunc_args); }\n\
                    -void test_removed(void) { }\n\
                    diff --git a/tools/testing/selftests/bpf/test_kmods/bpf_testmod.c b/tools/testing/selftests/bpf/test_kmods/bpf_testmod.c\n\
                    +void test_in_a_module(void)\n";
        let st = diffs_under(code, "tools/testing/selftests/");
        assert!(st.starts_with("diff --git a/tools/testing/selftests/bpf/prog_tests/"));
        assert!(!st.contains("kernel/bpf/verifier.c"));
        assert!(st.ends_with("+void test_in_a_module(void)\n"));
        let km = diffs_under(code, "tools/testing/selftests/bpf/test_kmods/");
        assert_eq!(km.lines().count(), 2);
        // Only added lines of prog_tests/ files name tests.
        assert_eq!(added_tests(&st), ["verifier_kfunc_args"]);
        assert!(added_tests(&diffs_under(code, "kernel/")).is_empty());
    }

    #[test]
    fn counts_subtests_and_tests_without_subtests() {
        let m = parse(
            "#1/1 a/x:OK\n#1/2 a/y:FAIL\n#1 a:FAIL\n#2 b:OK\n#3 c:SKIP\n#10 d:OK\n#1/3 a/z:OK\n",
        );
        // #1 has subtests (counted instead of it); #10 is not a subtest of #1.
        // OK: a/x, a/z, b, d; FAIL: a/y; SKIP: c.
        assert_eq!(leaf_counts(&m), (4, 1, 1));
    }

    #[test]
    fn only_a_lost_pass_is_a_failure() {
        let a = parse("#1 a:OK\n#2 b:FAIL\n#3 c:SKIP\n#4 d:OK\n#5 e:OK\n");
        let b = parse("#1 a:OK\n#2 b:OK\n#3 c:SKIP\n#4 d:FAIL\n#6 f:OK\n");
        let c = compare(&a, "x", &b, "y");
        assert_eq!(c.passed, 1);
        assert_eq!(c.same_not_ok, 1);
        assert_eq!(c.lost, ["#4 d: x OK, y FAIL", "#5 e: not run in the y run"]);
        assert_eq!(
            c.other,
            ["#2 b: x FAIL, y OK", "#6 f: not run in the x run"]
        );
    }
}
