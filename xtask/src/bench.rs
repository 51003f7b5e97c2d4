//! `cargo xtask bench [--inputs DIR[:DIR..]] [--rounds N]`: btfids-post against the stock
//! Linux 7.3 `resolve_btfids` on the same captured inputs, in the flow of 7.3's
//! `scripts/gen-btf.sh`.
//!
//! Inputs: capture directories of `btfids-post/scripts/resolve-btfids-capture.sh` (by
//! default every one of `~/.cache/kfunc-args` that holds Linux 7.3 inputs:
//! `kernel/*/linux/btfids-inputs`, `post/capture*`): each ELF as resolve_btfids got it
//! (vmlinux's `.tmp_vmlinux1` is saved as `tmp_vmlinux1`), the detached BTF pahole wrote
//! for it (`<name>.BTF.1`) and the base of the modules (`base.vmlinux`). The stock tool of
//! an input is always `tools/bpf/resolve_btfids/resolve_btfids` of the kernel tree the
//! capture came from (the working directory its `args` file records), so a patched tree's
//! inputs run against the patched tool (patch 0002: it knows extended sets).
//!
//! Each input is run as Kbuild runs it, one process per file and step:
//! 1. `resolve_btfids [--distill_base] [-b BASE] --btf OBJ.BTF.1 OBJ`, which writes
//!    `OBJ.BTF`, `OBJ.BTF_ids` and `OBJ.BTF.base` and only reads OBJ;
//! 2. when `OBJ.BTF_ids` was written, `resolve_btfids --patch_btfids OBJ.BTF_ids COPY` on a
//!    fresh copy of OBJ (made outside the timing: gen-btf.sh and link-vmlinux.sh patch the
//!    object that is linked last, of the same layout).
//!
//! Each round runs both tools on every input (which tool goes first alternates between
//! rounds; a first, untimed round runs them under `/usr/bin/time -f %M` for the peak RSS of
//! each tool alone; the timed rounds run them directly, as Kbuild does), and compares what
//! they did byte for byte: exit status, stderr, `OBJ.BTF`, `OBJ.BTF_ids`, `OBJ.BTF.base`,
//! the patched copy; OBJ must be unchanged at the end. Inputs with `.kfunc.meta` records
//! (BTF made for Rust kfuncs: btfids-post's alone), and inputs with extended sets when the
//! tree's tool does not know them, are left out; Linux 6.12 captures (resolved in place)
//! are listed and left out. Prints, per input and step and overall: byte identity, the
//! median wall times and their ratio (btfids-post / stock), the peak RSS of each, and
//! whether the goals are met (`--btf`: ratio <= 0.25 and no more peak RSS, on vmlinux and
//! on modules); then the whole `scripts/gen-btf.sh` step of each module with each tool
//! ([`gen_btf_step`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Where captures are and which stock tool made them: shared with btfids-post's captured
/// test (compiled here from its source: xtask does not depend on btfids-post).
#[path = "../../btfids-post/src/capture.rs"]
pub(crate) mod capture;

/// One process run under `/usr/bin/time`.
struct Measured {
    code: Option<i32>,
    stderr: Vec<u8>,
    /// The wall time of a run without the RSS wrapper.
    wall: Option<Duration>,
    /// Peak RSS in KiB.
    rss: i64,
}

/// Run `tool args` once. With `rss_file`, under `/usr/bin/time -f %M -o rss_file` for the
/// peak RSS of the tool alone (`wait4` on a child that this process `vfork`ed would report
/// this process's RSS as the floor), and the wall time is not kept: the wrapper's own
/// fork and exec (about a millisecond) would be a large part of a module's few
/// milliseconds. Without, the tool runs directly, as Kbuild runs it, and only its wall
/// time is kept. The tool's stderr is kept (compared between the tools).
fn measure(tool: &Path, args: &[OsString], rss_file: Option<&Path>) -> Result<Measured, String> {
    let mut cmd = match rss_file {
        Some(f) => {
            let mut c = Command::new("/usr/bin/time");
            c.arg("-f").arg("%M").arg("-o").arg(f).arg(tool);
            c
        }
        None => Command::new(tool),
    };
    cmd.args(args);
    let t = Instant::now();
    let out = cmd.output().map_err(|e| {
        format!(
            "{}: {e} (/usr/bin/time: apt-get install time)",
            tool.display()
        )
    })?;
    let wall = t.elapsed();
    let rss =
        match rss_file {
            Some(f) => Some(read_rss(f).ok_or_else(|| {
                format!("no RSS figure from /usr/bin/time for {}", tool.display())
            })?),
            None => None,
        };
    Ok(Measured {
        code: out.status.code(),
        stderr: out.stderr,
        wall: rss.is_none().then_some(wall),
        rss: rss.unwrap_or(0),
    })
}

/// The peak RSS (KiB) that `/usr/bin/time -f %M -o FILE` wrote to `f`.
fn read_rss(f: &Path) -> Option<i64> {
    let s = std::fs::read_to_string(f).ok()?;
    s.lines().last()?.trim().parse().ok()
}

/// Compare two files without reading them whole.
fn same_file(a: &Path, b: &Path) -> Result<bool, String> {
    use std::io::Read;
    let open = |p: &Path| std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()));
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    if fa.metadata().map_err(|e| e.to_string())?.len()
        != fb.metadata().map_err(|e| e.to_string())?.len()
    {
        return Ok(false);
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = fa.read(&mut ba).map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(true);
        }
        fb.read_exact(&mut bb[..n]).map_err(|e| e.to_string())?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// Copy `from` to `to` and write the copy back to disk: without that, the first small
/// write into a file with 90 MB of dirty pages waits on writeback throttling, which then
/// dominates what is measured.
fn copy_synced(from: &Path, to: &Path) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{} -> {}: {e}", from.display(), to.display());
    std::fs::copy(from, to).map_err(err)?;
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(err)
}

/// Whether a file names a `.kfunc.meta` section (streamed).
fn has_meta(p: &Path) -> Result<bool, String> {
    use std::io::Read;
    let mut f = std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let needle = b".kfunc.meta\0";
    let mut buf = vec![0u8; 1 << 20];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = f.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(false);
        }
        carry.extend_from_slice(&buf[..n]);
        if carry.windows(needle.len()).any(|w| w == needle) {
            return Ok(true);
        }
        let keep = carry.len().min(needle.len());
        carry.drain(..carry.len() - keep);
    }
}

/// Whether `btfids-post dump` lists an extended set in `elf`.
fn has_extended_sets(post: &Path, elf: &Path) -> Result<bool, String> {
    let out = Command::new(post)
        .arg("dump")
        .arg(elf)
        .output()
        .map_err(|e| format!("{} dump: {e}", post.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} dump {}: {}",
            post.display(),
            elf.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).contains("(Extended)"))
}

/// `path` with `suffix` appended to its file name (main.c's `make_out_path()`).
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The files the `--btf` step writes beside OBJ.
const OUTPUTS: [&str; 3] = [".BTF", ".BTF_ids", ".BTF.base"];

/// One benchmarked input.
struct Input {
    /// `<kernel tree directory>/<captured file>`, for the report.
    label: String,
    elf: PathBuf,
    /// The `--btf` step's arguments (OBJ goes after them).
    args: Vec<OsString>,
    /// The stock tool of the tree this input came from.
    stock: PathBuf,
    size: u64,
    module: bool,
    extended: bool,
}

/// Figures of one tool on one step of one input.
#[derive(Default, Clone)]
struct Figures {
    walls: Vec<Duration>,
    rss: i64,
}

impl Figures {
    fn add(&mut self, m: &Measured) {
        self.walls.extend(m.wall);
        self.rss = self.rss.max(m.rss);
    }
}

/// Both tools on one step of one input: `[stock, btfids-post]`, and whether every round
/// gave byte-identical results.
#[derive(Clone)]
struct Step {
    tools: [Figures; 2],
    identical: bool,
    runs: usize,
}

impl Step {
    /// The median wall times of `[stock, btfids-post]`.
    fn medians(&self) -> [Duration; 2] {
        [0, 1].map(|t| median(self.tools[t].walls.clone()))
    }
}

impl Default for Step {
    fn default() -> Self {
        Step {
            tools: Default::default(),
            identical: true,
            runs: 0,
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Build btfids-post (release); its path.
pub(crate) fn build_post() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?
        .to_path_buf();
    let st = Command::new(env!("CARGO"))
        .args(["build", "--release", "-q", "-p", "btfids-post"])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !st.success() {
        return Err("cargo build --release -p btfids-post failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    Ok(target.join("release/btfids-post"))
}

/// The inputs of the capture directories, and what was left out (with the reason).
fn collect_inputs(dirs: &[PathBuf], post: &Path) -> Result<(Vec<Input>, Vec<String>), String> {
    let mut inputs: Vec<Input> = Vec::new();
    let mut left_out = Vec::new();
    // (stock, name, sizes and mtime of the ELF and its BTF) of each input taken: a capture
    // directory copied along with its kernel tree holds the same captures until that tree
    // is built again.
    let mut seen: Vec<(PathBuf, String, u64, Option<std::time::SystemTime>, u64)> = Vec::new();
    for d in dirs {
        let cap = capture::read(d)?;
        for f in &cap.files {
            left_out.push(format!(
                "{}: a Linux 6.12 capture (resolved in place; no --btf file)",
                f.display()
            ));
        }
        for inp in capture::read_detached(d)? {
            let out = |why: String| format!("{}: {why}", inp.elf.display());
            // The stock tool is the one of the tree the input came from, never another.
            let Some(stock) = inp.stock() else {
                left_out.push(out(format!(
                    "the kernel tree that captured it ({}) has no {} (the stock tool must be \
                     that tree's own)",
                    inp.tree
                        .as_ref()
                        .map_or("not in the capture's args file".into(), |t| t
                            .display()
                            .to_string()),
                    capture::TREE_TOOL
                )));
                continue;
            };
            if !capture::is_73_tool(&stock) {
                left_out.push(out(format!(
                    "{} is not a Linux 7.3 resolve_btfids",
                    stock.display()
                )));
                continue;
            }
            let Some(args) = inp.replay_args(cap.base.as_deref()) else {
                left_out.push(out("a module, but no base.vmlinux in the capture".into()));
                continue;
            };
            let name = inp.elf.file_name().unwrap().to_string_lossy().into_owned();
            let meta =
                std::fs::metadata(&inp.elf).map_err(|e| format!("{}: {e}", inp.elf.display()))?;
            let key = (
                stock.clone(),
                name.clone(),
                meta.len(),
                meta.modified().ok(),
                std::fs::metadata(&inp.btf).map_or(0, |m| m.len()),
            );
            if let Some(i) = seen.iter().position(|k| *k == key) {
                left_out.push(out(format!(
                    "the same capture as {} (a copy)",
                    inputs[i].elf.display()
                )));
                continue;
            }
            if has_meta(&inp.elf)? {
                left_out.push(out(
                    ".kfunc.meta records (BTF for Rust kfuncs: btfids-post's alone)".into(),
                ));
                continue;
            }
            let extended = has_extended_sets(post, &inp.elf)?;
            if extended && !capture::knows_extended_sets(&stock) {
                left_out.push(out(format!(
                    "extended sets, which {} does not know",
                    stock.display()
                )));
                continue;
            }
            if let Some(why) = preflight(&stock, post, &inp.elf, &args)? {
                left_out.push(out(why));
                continue;
            }
            // `<cache>/<tree>/linux` -> `<tree>`; else the tree directory's own name.
            let tree_label = inp
                .tree
                .as_deref()
                .and_then(|t| {
                    let n = t.file_name()?.to_string_lossy().into_owned();
                    if n == "linux" {
                        t.parent()?
                            .file_name()
                            .map(|p| p.to_string_lossy().into_owned())
                    } else {
                        Some(n)
                    }
                })
                .unwrap_or_else(|| d.display().to_string());
            seen.push(key);
            inputs.push(Input {
                label: format!("{tree_label}/{name}"),
                size: meta.len(),
                elf: inp.elf,
                args,
                stock,
                module: inp.module,
                extended,
            });
        }
    }
    Ok((inputs, left_out))
}

/// One untimed `--btf` run of the stock tool (it also warms the page cache): `Some`
/// reason to leave the input out when the stock tool refuses it (a capture whose modules
/// are split on another vmlinux than its `base.vmlinux`, say), saying whether btfids-post
/// refuses it too.
fn preflight(
    stock: &Path,
    post: &Path,
    elf: &Path,
    args: &[OsString],
) -> Result<Option<String>, String> {
    let dir = std::env::temp_dir().join(format!("xtask-bench-pre-{}", std::process::id()));
    let run = |tool: &Path| -> Result<(Option<i32>, String), String> {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let obj = dir.join(elf.file_name().unwrap());
        std::fs::copy(elf, &obj).map_err(|e| format!("{}: {e}", elf.display()))?;
        let o = Command::new(tool)
            .args(args)
            .arg(&obj)
            .output()
            .map_err(|e| format!("{}: {e}", tool.display()))?;
        let err = String::from_utf8_lossy(&o.stderr)
            .trim_end()
            .replace('\n', " / ");
        Ok((o.status.code(), err))
    };
    let (code, err) = run(stock)?;
    let why = if code == Some(0) {
        None
    } else {
        let (pcode, _) = run(post)?;
        Some(format!(
            "the stock tool refuses it (exit status {code:?}: {err}); btfids-post {} \
             (a stale capture? capture it again)",
            if pcode == code {
                "refuses it alike".to_string()
            } else {
                format!("exits with {pcode:?}")
            }
        ))
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(why)
}

/// The working copies of one input: `work/<i>/{stock,post}/<name>`.
struct Copies {
    objs: [PathBuf; 2],
    patch: [PathBuf; 2],
}

/// Run the `--btf` step, then the `--patch_btfids` step, of both tools (in `order`) on
/// one input; compare what they did. Returns (identical `--btf` step, identical patch
/// step when there was one); appends the differences to `diffs`.
fn round_on_input(
    inp: &Input,
    post: &Path,
    c: &Copies,
    order: [usize; 2],
    rss_file: Option<&Path>,
    steps: &mut [Step; 2],
    diffs: &mut Vec<String>,
) -> Result<(), String> {
    let tools: [&Path; 2] = [&inp.stock, post];
    // Step 1: --btf.
    let mut runs: [Option<Measured>; 2] = [None, None];
    for &t in &order {
        for s in OUTPUTS {
            let _ = std::fs::remove_file(suffixed(&c.objs[t], s));
        }
        let mut args = inp.args.clone();
        args.push(c.objs[t].clone().into_os_string());
        let m = measure(tools[t], &args, rss_file)?;
        steps[0].tools[t].add(&m);
        runs[t] = Some(m);
    }
    let [Some(s), Some(p)] = runs else {
        unreachable!()
    };
    let mut same = true;
    let mut note = |what: String| {
        same = false;
        diffs.push(format!("{}: {what}", inp.label));
    };
    if s.code != p.code {
        note(format!(
            "--btf exit status: stock {:?}, btfids-post {:?}",
            s.code, p.code
        ));
    }
    if s.code != Some(0) {
        note(format!(
            "--btf: the stock tool failed: {}",
            String::from_utf8_lossy(&s.stderr)
        ));
    }
    if s.stderr != p.stderr {
        note(format!(
            "--btf stderr differs:\n  stock: {}\n  post:  {}",
            String::from_utf8_lossy(&s.stderr).trim_end(),
            String::from_utf8_lossy(&p.stderr).trim_end()
        ));
    }
    for suffix in OUTPUTS {
        let (a, b) = (suffixed(&c.objs[0], suffix), suffixed(&c.objs[1], suffix));
        match (a.exists(), b.exists()) {
            (false, false) => {}
            (true, true) => {
                if !same_file(&a, &b)? {
                    note(format!("OBJ{suffix} differs"));
                }
            }
            (x, y) => note(format!(
                "OBJ{suffix} written by stock: {x}, by btfids-post: {y}"
            )),
        }
    }
    steps[0].identical &= same;
    steps[0].runs += 1;
    // Step 2: --patch_btfids on fresh copies, when both wrote OBJ.BTF_ids.
    let blobs = [
        suffixed(&c.objs[0], ".BTF_ids"),
        suffixed(&c.objs[1], ".BTF_ids"),
    ];
    if !(blobs[0].exists() && blobs[1].exists()) {
        return Ok(());
    }
    let mut codes = [None, None];
    for &t in &order {
        copy_synced(&inp.elf, &c.patch[t])?;
        let args: Vec<OsString> = vec![
            "--patch_btfids".into(),
            blobs[t].clone().into_os_string(),
            c.patch[t].clone().into_os_string(),
        ];
        let m = measure(tools[t], &args, rss_file)?;
        steps[1].tools[t].add(&m);
        codes[t] = Some(m.code);
    }
    let mut same = true;
    if codes[0] != codes[1] || codes[0] != Some(Some(0)) {
        same = false;
        diffs.push(format!(
            "{}: --patch_btfids exit status: stock {:?}, btfids-post {:?}",
            inp.label, codes[0], codes[1]
        ));
    } else if !same_file(&c.patch[0], &c.patch[1])? {
        same = false;
        diffs.push(format!("{}: the patched object differs", inp.label));
    }
    steps[1].identical &= same;
    steps[1].runs += 1;
    Ok(())
}

const STEP_NAMES: [&str; 2] = ["--btf", "--patch_btfids"];

/// One line of the report: identity, medians, ratio, peak RSS.
fn report_line(label: &str, step: &str, st: &Step) {
    if st.runs == 0 {
        return;
    }
    let [s, p] = st.medians();
    println!(
        "{label:<44} {step:<14} {:<9} {:>9.2} {:>9.2} {:>6.3} {:>10} {:>10}",
        if st.identical { "yes" } else { "NO" },
        ms(s),
        ms(p),
        p.as_secs_f64() / s.as_secs_f64(),
        st.tools[0].rss,
        st.tools[1].rss
    );
}

/// Entry point of `cargo xtask bench`.
pub fn run(f: &crate::flags::Bench) -> Result<(), String> {
    let mut dirs = f.inputs.clone();
    let rounds = usize::try_from(f.rounds).map_err(|e| format!("--rounds: {e}"))?;
    // `/usr/bin/time` measures each tool's peak RSS.
    crate::deps::ensure_debian_packages(&["time"])?;
    if dirs.is_empty() {
        dirs = capture::default_dirs()
            .into_iter()
            .filter(|d| capture::read_detached(d).is_ok_and(|v| !v.is_empty()))
            .collect();
    }
    if dirs.is_empty() {
        return Err(
            "bench: no Linux 7.3 captures (~/.cache/kfunc-args/kernel/*/linux/\
                    btfids-inputs, written when the kernels are built through \
                    btfids-post/scripts/resolve-btfids-capture.sh); use --inputs DIR"
                .into(),
        );
    }
    let post = build_post()?;
    let (inputs, left_out) = collect_inputs(&dirs, &post)?;
    for l in &left_out {
        println!("left out: {l}");
    }
    if inputs.is_empty() {
        return Err("bench: no comparable inputs".into());
    }
    let total: u64 = inputs.iter().map(|i| i.size).sum();
    println!(
        "bench: {} inputs ({} modules, {:.1} MB; {} with extended sets) from {}; {} left out; \
         {rounds} rounds",
        inputs.len(),
        inputs.iter().filter(|i| i.module).count(),
        total as f64 / 1e6,
        inputs.iter().filter(|i| i.extended).count(),
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        left_out.len()
    );
    let mut stocks: Vec<String> = inputs
        .iter()
        .map(|i| i.stock.display().to_string())
        .collect();
    stocks.dedup();
    println!("stock: {}\npost:  {}", stocks.join(", "), post.display());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("load average at start: {} ({cpus} CPUs)", loadavg());

    let work = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let mut copies = Vec::new();
    for (i, inp) in inputs.iter().enumerate() {
        let name = inp.elf.file_name().unwrap();
        let mk = |side: &str, prefix: &str| -> Result<PathBuf, String> {
            let d = work.join(i.to_string()).join(side);
            std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
            let mut n = OsString::from(prefix);
            n.push(name);
            Ok(d.join(n))
        };
        let c = Copies {
            objs: [mk("stock", "")?, mk("post", "")?],
            patch: [mk("stock", "patched-")?, mk("post", "patched-")?],
        };
        for o in &c.objs {
            copy_synced(&inp.elf, o)?;
        }
        copies.push(c);
    }
    let rss_file = work.join("rss");
    let mut steps: Vec<[Step; 2]> = vec![Default::default(); inputs.len()];
    let mut diffs = Vec::new();
    // Per round: the sum over inputs of each tool's wall time, per step.
    let mut totals: [[Vec<Duration>; 2]; 2] = Default::default();
    // Round 0 runs every tool under /usr/bin/time for its peak RSS (and warms the page
    // cache); its times are not kept. Rounds 1..=rounds are timed.
    for round in 0..=rounds {
        // Alternate so that neither tool always runs right after the other on a warm cache.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        let rss = (round == 0).then_some(rss_file.as_path());
        let before: Vec<[[usize; 2]; 2]> = steps
            .iter()
            .map(|s| {
                [
                    [s[0].tools[0].walls.len(), s[0].tools[1].walls.len()],
                    [s[1].tools[0].walls.len(), s[1].tools[1].walls.len()],
                ]
            })
            .collect();
        for (i, inp) in inputs.iter().enumerate() {
            round_on_input(
                inp,
                &post,
                &copies[i],
                order,
                rss,
                &mut steps[i],
                &mut diffs,
            )?;
        }
        if round == 0 {
            println!("round  0: peak RSS of each tool (under /usr/bin/time; not timed)");
            continue;
        }
        for (step, per_tool) in totals.iter_mut().enumerate() {
            for (tool, v) in per_tool.iter_mut().enumerate() {
                let sum: Duration = steps
                    .iter()
                    .zip(&before)
                    .flat_map(|(s, b)| s[step].tools[tool].walls[b[step][tool]..].iter())
                    .sum();
                v.push(sum);
            }
        }
        println!(
            "round {:>2}: --btf stock {:8.2} ms, post {:8.2} ms; --patch_btfids stock {:8.2} ms, \
             post {:8.2} ms",
            round,
            ms(totals[0][0][round - 1]),
            ms(totals[0][1][round - 1]),
            ms(totals[1][0][round - 1]),
            ms(totals[1][1][round - 1])
        );
    }
    // OBJ is only read by the --btf step.
    for (inp, c) in inputs.iter().zip(&copies) {
        for (t, o) in c.objs.iter().enumerate() {
            if !same_file(&inp.elf, o)? {
                diffs.push(format!(
                    "{}: the --btf step of {} changed OBJ",
                    inp.label,
                    ["the stock tool", "btfids-post"][t]
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    println!("load average at end: {}", loadavg());

    println!(
        "\n{:<44} {:<14} {:<9} {:>9} {:>9} {:>6} {:>10} {:>10}",
        "input", "step", "identical", "stock ms", "post ms", "ratio", "stock KiB", "post KiB"
    );
    println!(
        "{:<44} {:<14} {:<9} {:>9} {:>9} {:>6} {:>10} {:>10}",
        "", "", "", "median", "median", "post/", "peak RSS", "peak RSS"
    );
    for (inp, st) in inputs.iter().zip(&steps) {
        for (k, name) in STEP_NAMES.iter().enumerate() {
            report_line(&inp.label, name, &st[k]);
        }
    }
    for (k, name) in STEP_NAMES.iter().enumerate() {
        let ran: Vec<&Step> = steps.iter().map(|s| &s[k]).filter(|s| s.runs > 0).collect();
        if ran.is_empty() {
            continue;
        }
        let all = Step {
            tools: [0, 1].map(|t| Figures {
                walls: totals[k][t].clone(),
                rss: ran.iter().map(|s| s.tools[t].rss).max().unwrap_or(0),
            }),
            identical: ran.iter().all(|s| s.identical),
            runs: rounds,
        };
        report_line(
            &format!("all {} inputs (sum per round)", ran.len()),
            name,
            &all,
        );
    }
    let both = Step {
        tools: [0, 1].map(|t| Figures {
            walls: (0..rounds)
                .map(|r| totals[0][t][r] + totals[1][t][r])
                .collect(),
            rss: steps
                .iter()
                .flat_map(|s| s.iter().map(|x| x.tools[t].rss))
                .max()
                .unwrap_or(0),
        }),
        identical: steps.iter().flatten().all(|s| s.identical),
        runs: rounds,
    };
    report_line("overall (both steps)", "", &both);
    // The goals of the drop-in: on vmlinux and on modules separately, the --btf step's
    // median wall time at most a quarter of the stock tool's, and no more peak RSS.
    for (kind, module) in [("vmlinux", false), ("modules", true)] {
        let ratios: Vec<(f64, bool)> = inputs
            .iter()
            .zip(&steps)
            .filter(|(i, s)| i.module == module && s[0].runs > 0)
            .map(|(_, s)| {
                let st = &s[0];
                let [stock, post] = st.medians();
                (
                    post.as_secs_f64() / stock.as_secs_f64(),
                    st.tools[1].rss <= st.tools[0].rss,
                )
            })
            .collect();
        if ratios.is_empty() {
            continue;
        }
        let max = ratios.iter().map(|r| r.0).fold(0.0, f64::max);
        let min = ratios.iter().map(|r| r.0).fold(f64::MAX, f64::min);
        let rss_ok = ratios.iter().all(|r| r.1);
        // One figure when every input rounds to it, else the range.
        let (lo, hi) = (format!("{min:.2}"), format!("{max:.2}"));
        let range = if lo == hi { lo } else { format!("{lo}-{hi}") };
        crate::figures::say(
            "bench",
            format!(
                "goal, {kind} --btf ({} inputs): ratio {range} (<= 0.25: {}), peak \
                 RSS <= stock's: {} (load average {})",
                ratios.len(),
                if max <= 0.25 { "met" } else { "NOT met" },
                if rss_ok { "met" } else { "NOT met" },
                loadavg()
            ),
        );
    }
    diffs.extend(gen_btf_step(&inputs, &post, rounds, &work)?);
    let _ = std::fs::remove_dir_all(&work);
    if !diffs.is_empty() {
        diffs.dedup();
        for d in &diffs {
            println!("DIFFERENCE: {d}");
        }
        return Err(format!(
            "bench: the outputs of btfids-post and the stock tool differ ({} differences)",
            diffs.len()
        ));
    }
    println!(
        "outputs byte-identical on every input, step and round (gen-btf.sh: the modules \
         each tool left); OBJ unchanged by --btf"
    );
    Ok(())
}

/// The variables `scripts/gen-btf.sh` reads from Kbuild, as the tree's own make computes
/// them (`make --eval`: `scripts/Makefile.btf` is only read for build targets).
pub(crate) fn kbuild_btf_env(tree: &Path) -> Result<Vec<(String, String)>, String> {
    const VARS: [&str; 5] = [
        "PAHOLE",
        "PAHOLE_FLAGS",
        "RESOLVE_BTFIDS_FLAGS",
        "OBJCOPY",
        "CONFIG_SHELL",
    ];
    let echoes: Vec<String> = VARS
        .iter()
        .map(|v| format!("echo 'KFA {v}=$({v})'"))
        .collect();
    let recipe = format!("@{}", echoes.join("; "));
    let o = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(tree)
        .arg(crate::kernel::LLVM)
        .arg(format!("--eval=kfa-gen-btf-env: ; {recipe}"))
        .arg("kfa-gen-btf-env")
        .output()
        .map_err(|e| format!("make -C {}: {e}", tree.display()))?;
    let out = String::from_utf8_lossy(&o.stdout);
    let env: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.strip_prefix("KFA "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect();
    if env.len() != VARS.len() || env.iter().any(|(k, v)| k == "PAHOLE" && v.is_empty()) {
        return Err(format!(
            "bench: could not read {} of {} from its make (got {env:?}; stderr: {})",
            VARS.join(", "),
            tree.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(env)
}

/// The whole `scripts/gen-btf.sh` step of each captured module, as Kbuild's
/// `Makefile.modfinal` runs it (`gen-btf.sh --btf_base vmlinux MODULE`: pahole's detached
/// BTF, `RESOLVE_BTFIDS --btf`, objcopy of `.BTF` and `.BTF.base`, `RESOLVE_BTFIDS
/// --patch_btfids`), once with the stock tool and once with btfids-post as
/// `RESOLVE_BTFIDS`, on fresh copies of the module as the capture saved it (pahole's
/// input: resolve_btfids leaves the module unchanged until `--patch_btfids`), `rounds`
/// times, alternating which goes first. pahole runs without `-j` here (with it, the order
/// of its types is not reproducible and the two modules could not be compared); the
/// modules each tool leaves must be byte-identical. Returns the differences.
fn gen_btf_step(
    inputs: &[Input],
    post: &Path,
    rounds: usize,
    work: &Path,
) -> Result<Vec<String>, String> {
    let mut diffs = Vec::new();
    // Per kernel tree: gen-btf.sh's variables, PAHOLE_FLAGS without -j.
    let mut envs: std::collections::BTreeMap<PathBuf, Vec<(String, String)>> = Default::default();
    let mut lines = Vec::new();
    for (i, inp) in inputs.iter().enumerate().filter(|(_, i)| i.module) {
        // `<tree>/tools/bpf/resolve_btfids/resolve_btfids` -> `<tree>`.
        let Some(tree) = inp.stock.ancestors().nth(4).map(Path::to_path_buf) else {
            continue;
        };
        let script = tree.join("scripts/gen-btf.sh");
        let base = inp
            .args
            .iter()
            .position(|a| a == "--btf_base" || a == "-b")
            .and_then(|k| inp.args.get(k + 1))
            .map(PathBuf::from);
        let (true, Some(base)) = (script.exists(), base) else {
            println!(
                "gen-btf.sh step: {} left out (no gen-btf.sh or base)",
                inp.label
            );
            continue;
        };
        // (An absolute base stays as it is.)
        let base = tree.join(base);
        let env = match envs.entry(tree.clone()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let mut env = kbuild_btf_env(&tree)?;
                for (k, v) in &mut env {
                    if k == "PAHOLE_FLAGS" {
                        *v = v
                            .split_whitespace()
                            .filter(|f| *f != "-j")
                            .collect::<Vec<_>>()
                            .join(" ");
                    }
                }
                e.insert(env)
            }
        };
        let name = inp.elf.file_name().unwrap();
        let tools: [&Path; 2] = [&inp.stock, post];
        let outs = [0, 1].map(|t| work.join(format!("gen-btf-{i}-{t}")).join(name));
        let mut st = Step::default();
        for round in 0..rounds {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for &t in &order {
                let dir = outs[t].parent().unwrap();
                let _ = std::fs::remove_dir_all(dir);
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                copy_synced(&inp.elf, &outs[t])?;
                let mut cmd = Command::new("/usr/bin/time");
                cmd.arg("-f")
                    .arg("%M")
                    .arg("-o")
                    .arg(work.join("rss-gen-btf"))
                    .arg("sh")
                    .arg(&script)
                    .arg("--btf_base")
                    .arg(&base)
                    .arg(&outs[t])
                    .current_dir(&tree)
                    .env_remove("KBUILD_VERBOSE")
                    .env("srctree", &tree)
                    .env("objtree", &tree)
                    .env("RESOLVE_BTFIDS", tools[t]);
                cmd.envs(env.iter().map(|(k, v)| (k, v)));
                let t0 = Instant::now();
                let o = cmd
                    .output()
                    .map_err(|e| format!("{}: {e}", script.display()))?;
                let wall = t0.elapsed();
                if !o.status.success() {
                    return Err(format!(
                        "bench: gen-btf.sh on {} with {} failed: {}",
                        inp.label,
                        tools[t].display(),
                        String::from_utf8_lossy(&o.stderr).trim()
                    ));
                }
                let rss = read_rss(&work.join("rss-gen-btf")).unwrap_or(0);
                st.tools[t].add(&Measured {
                    code: o.status.code(),
                    stderr: o.stderr,
                    wall: Some(wall),
                    rss,
                });
            }
            st.runs += 1;
            if !same_file(&outs[0], &outs[1])? {
                st.identical = false;
                diffs.push(format!(
                    "{}: the modules gen-btf.sh left with each tool differ (round {})",
                    inp.label,
                    round + 1
                ));
            }
        }
        let _ = std::fs::remove_dir_all(outs[0].parent().unwrap());
        let _ = std::fs::remove_dir_all(outs[1].parent().unwrap());
        lines.push((inp.label.clone(), st));
    }
    if !lines.is_empty() {
        println!(
            "\nthe whole gen-btf.sh step of each module (pahole without -j, resolve_btfids \
             --btf, objcopy, --patch_btfids; under /usr/bin/time, whose own start is in both \
             times; peak RSS: the largest process)"
        );
        for (label, st) in &lines {
            report_line(label, "gen-btf.sh", st);
        }
    }
    Ok(diffs)
}
