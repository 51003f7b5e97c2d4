//! Test VM harness: a busybox initramfs and a QEMU run with its serial console captured.
//!
//! The initramfs holds a static busybox, the kernel modules to load, any extra files
//! (the test runner, BPF objects) and an `/init` script that mounts proc, sys and devtmpfs,
//! `insmod`s the modules in order, runs one shell command, `rmmod`s the modules in reverse
//! order, prints the result marker `KFT-RESULT: rc=<n>` and ends the VM with `reboot -f`
//! (QEMU runs with `-no-reboot`, so that is a clean exit; tinyconfig has no ACPI for
//! `poweroff`).
//!
//! QEMU uses TCG unless `KFUNC_VM_ACCEL=kvm` is set: a KVM guest does not boot on this
//! machine kind (shared/KERNEL-FACTS.md). The host kills QEMU after a timeout.
//!
//! A run fails when the marker is missing, the command's status is not 0, or the console
//! shows a kernel problem: a WARN, BUG, oops, `Call Trace`, KASAN report or panic.
//!
//! `cargo xtask vm --kernel BZIMAGE [--module KO].. [--file HOST[:GUEST]].. [--timeout S]
//! -- COMMAND` boots one VM by hand.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Marker printed by `/init` after the command; the host parses it.
pub const RESULT_MARKER: &str = "KFT-RESULT: rc=";

/// Console substrings that reveal a kernel problem; any of them fails a run.
pub const PROBLEM_PATTERNS: &[&str] = &[
    "WARNING:",
    "BUG:",
    "kernel BUG",
    "Oops",
    "Call Trace",
    "KASAN",
    "Kernel panic",
    "general protection fault",
    "refcount_t:",
];

/// What to boot and run.
#[derive(Debug, Clone)]
pub struct VmSpec {
    /// The kernel image (`arch/x86/boot/bzImage`).
    pub kernel: PathBuf,
    /// Modules to `insmod` in this order (and `rmmod` in reverse order).
    pub modules: Vec<PathBuf>,
    /// Extra files: (host path, absolute path inside the VM).
    pub files: Vec<(PathBuf, String)>,
    /// Shell command run by `/init` after the modules are loaded.
    pub command: String,
    /// Directory for the initramfs staging tree, the archive and the console log.
    pub work_dir: PathBuf,
    /// Host-side limit for the whole QEMU run.
    pub timeout: Duration,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Guest CPUs.
    pub cpus: u32,
    /// Copy console lines to stdout while the VM runs.
    pub echo: bool,
    /// For long runs: maps a console line to a progress message printed (to stderr) at once.
    pub progress: Option<fn(&str) -> Option<String>>,
}

/// The outcome of one VM run.
#[derive(Debug, Clone)]
pub struct VmOutcome {
    /// The whole serial console output.
    pub console: String,
    /// Where the console was saved.
    pub console_log: PathBuf,
    /// Exit status of the command, from the result marker (`None`: no marker).
    pub rc: Option<i32>,
    /// Kernel problems found in the console (lines matching [`PROBLEM_PATTERNS`]).
    pub problems: Vec<String>,
    /// The host killed QEMU after the timeout.
    pub timed_out: bool,
    /// Wall time from QEMU start to exit.
    pub wall: Duration,
}

impl VmOutcome {
    /// The first line starting with `Summary: ` (the BPF selftests runners' last line),
    /// or an error naming `runner` and the console log.
    pub fn summary(&self, label: &str, runner: &str) -> Result<String, String> {
        self.console
            .lines()
            .find(|l| l.starts_with("Summary: "))
            .map(str::to_string)
            .ok_or_else(|| {
                format!(
                    "{label}: {runner} printed no summary ({})",
                    self.console_log.display()
                )
            })
    }

    /// `Ok` when the marker says 0, nothing timed out and the console is clean.
    pub fn verdict(&self) -> Result<(), String> {
        let log = self.console_log.display();
        if self.timed_out {
            return Err(format!("VM timed out (console: {log})"));
        }
        if !self.problems.is_empty() {
            return Err(format!(
                "kernel problem on the console ({log}):\n  {}",
                self.problems.join("\n  ")
            ));
        }
        match self.rc {
            None => {
                let lines: Vec<&str> = self.console.lines().collect();
                let tail = lines[lines.len().saturating_sub(5)..].join("\n  ");
                Err(format!(
                    "no result marker on the console ({log}); it ends with:\n  {tail}"
                ))
            }
            Some(0) => Ok(()),
            Some(rc) => Err(format!(
                "command in the VM exited with {rc} (console: {log})"
            )),
        }
    }
}

fn module_name(ko: &Path) -> Result<String, String> {
    ko.file_stem()
        .and_then(|s| s.to_str())
        .map(|s| s.replace('-', "_"))
        .ok_or_else(|| format!("module path {} has no file name", ko.display()))
}

/// The `/init` script for `spec`.
pub fn init_script(spec: &VmSpec) -> Result<String, String> {
    let mut s = String::from(
        "#!/bin/busybox sh\n\
         /bin/busybox --install -s /bin\n\
         export PATH=/bin\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sysfs /sys\n\
         mount -t devtmpfs devtmpfs /dev 2>/dev/null\n\
         echo 'KFT-INIT: started'\n\
         rc=0\n",
    );
    for ko in &spec.modules {
        let f = ko
            .file_name()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("bad module path {}", ko.display()))?;
        s.push_str(&format!(
            "if [ $rc = 0 ]; then insmod /modules/{f} || {{ echo 'KFT-INIT: insmod {f} failed'; rc=90; }}; fi\n"
        ));
    }
    s.push_str(&format!(
        "if [ $rc = 0 ]; then\n{}\nrc=$?\nfi\n",
        spec.command
    ));
    for ko in spec.modules.iter().rev() {
        let m = module_name(ko)?;
        s.push_str(&format!(
            // BPF programs drop their module references after an RCU grace period: retry.
            "if grep -q '^{m} ' /proc/modules; then n=0; until rmmod {m} 2>/dev/null; do n=$((n+1)); \
             if [ $n -ge 100 ]; then echo 'KFT-INIT: rmmod {m} failed'; [ $rc = 0 ] && rc=91; break; fi; \
             usleep 50000; done; fi\n"
        ));
    }
    s.push_str(&format!(
        "echo \"{RESULT_MARKER}$rc\"\nsync\nreboot -f\nsleep 5\n"
    ));
    Ok(s)
}

fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(d) = to.parent() {
        fs::create_dir_all(d).map_err(|e| format!("create {}: {e}", d.display()))?;
    }
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
}

/// Build `work_dir/initramfs.cpio.gz` for `spec` (busybox, modules, files, `/init`).
pub fn build_initramfs(spec: &VmSpec) -> Result<PathBuf, String> {
    // Absolute: the cpio step below runs in the staging directory.
    let work = std::path::absolute(&spec.work_dir)
        .map_err(|e| format!("{}: {e}", spec.work_dir.display()))?;
    let root = work.join("initramfs");
    if root.exists() {
        fs::remove_dir_all(&root).map_err(|e| format!("remove {}: {e}", root.display()))?;
    }
    for d in ["bin", "proc", "sys", "dev", "modules", "tmp"] {
        fs::create_dir_all(root.join(d)).map_err(|e| format!("create {d}: {e}"))?;
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .ok_or("busybox not found (apt-get install busybox-static)")?;
    copy_file(busybox, &root.join("bin/busybox"))?;
    for ko in &spec.modules {
        let name = ko
            .file_name()
            .ok_or_else(|| format!("bad module path {}", ko.display()))?;
        copy_file(ko, &root.join("modules").join(name))?;
    }
    for (from, to) in &spec.files {
        let rel = to.trim_start_matches('/');
        if rel.is_empty() || rel.split('/').any(|c| c == "..") {
            return Err(format!("bad path in the VM: {to}"));
        }
        copy_file(from, &root.join(rel))?;
    }
    let init = root.join("init");
    fs::write(&init, init_script(spec)?).map_err(|e| format!("write /init: {e}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&init, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod /init: {e}"))?;
    }
    let out = work.join("initramfs.cpio.gz");
    let tmp = work.join("initramfs.cpio.gz.tmp");
    let st = Command::new("bash")
        .arg("-c")
        .arg("set -euo pipefail; cd \"$1\"; find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -1 > \"$2\"")
        .arg("bash")
        .arg(&root)
        .arg(&tmp)
        .status()
        .map_err(|e| format!("run cpio/gzip: {e}"))?;
    if !st.success() {
        return Err(format!("cpio | gzip failed ({st}) for {}", root.display()));
    }
    fs::rename(&tmp, &out).map_err(|e| format!("rename {}: {e}", tmp.display()))?;
    Ok(out)
}

fn accel() -> Result<&'static str, String> {
    match std::env::var("KFUNC_VM_ACCEL").as_deref() {
        Err(_) | Ok("") | Ok("tcg") => Ok("tcg"),
        Ok("kvm") => Ok("kvm"),
        Ok(other) => Err(format!("KFUNC_VM_ACCEL={other}: use tcg or kvm")),
    }
}

/// Scan a console log for kernel problems.
pub fn find_problems(console: &str) -> Vec<String> {
    console
        .lines()
        .filter(|l| PROBLEM_PATTERNS.iter().any(|p| l.contains(p)))
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// Parse the result marker (the last one wins).
///
/// The number is read up to the first character that cannot be part of it: the serial
/// console interleaves kernel messages with the init script's output, so a printk can
/// follow the marker on the same line (`KFT-RESULT: rc=0[    3.38] kfunc_sample: ...`).
pub fn parse_rc(console: &str) -> Option<i32> {
    console
        .lines()
        .rev()
        .find_map(|l| l.find(RESULT_MARKER).map(|i| &l[i + RESULT_MARKER.len()..]))
        .and_then(|s| {
            let s = s.trim_start();
            let end = s
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
                .map_or(s.len(), |(i, _)| i);
            s[..end].parse().ok()
        })
}

/// Build the initramfs, boot `spec.kernel` under QEMU and collect the outcome.
pub fn run_vm(spec: &VmSpec) -> Result<VmOutcome, String> {
    fs::create_dir_all(&spec.work_dir)
        .map_err(|e| format!("create {}: {e}", spec.work_dir.display()))?;
    if !spec.kernel.is_file() {
        return Err(format!("kernel image {} not found", spec.kernel.display()));
    }
    let initrd = build_initramfs(spec)?;
    let accel = accel()?;
    let console_log = spec.work_dir.join("console.log");
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args([
        "-accel",
        accel,
        "-nodefaults",
        "-no-reboot",
        "-display",
        "none",
    ])
    .args(["-serial", "stdio", "-monitor", "none"])
    .args(["-smp", &spec.cpus.max(1).to_string()])
    .args(["-m", &spec.memory_mib.to_string()])
    .arg("-kernel")
    .arg(&spec.kernel)
    .arg("-initrd")
    .arg(&initrd)
    .args([
        "-append",
        "console=ttyS0 panic=-1 oops=panic loglevel=7 rdinit=/init",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if accel == "kvm" {
        cmd.args(["-cpu", "host"]);
    }
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("start qemu-system-x86_64: {e}"))?;
    let stdout = child.stdout.take().ok_or("no qemu stdout")?;
    let stderr = child.stderr.take().ok_or("no qemu stderr")?;
    let (tx, rx) = mpsc::channel::<String>();
    let tx2 = tx.clone();
    let echo = spec.echo;
    let progress = spec.progress;
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line).replace('\r', "");
            if echo {
                println!("  vm| {line}");
            }
            if let Some(msg) = progress.and_then(|f| f(&line)) {
                eprintln!("{msg}");
            }
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let err_reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx2.send(format!("qemu: {line}"));
        }
    });
    let mut timed_out = false;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) => {}
            Err(e) => return Err(format!("wait for qemu: {e}")),
        }
        if start.elapsed() > spec.timeout {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let wall = start.elapsed();
    let _ = reader.join();
    let _ = err_reader.join();
    let console: String = rx.try_iter().fold(String::new(), |mut s, l| {
        s.push_str(&l);
        s.push('\n');
        s
    });
    let mut f =
        fs::File::create(&console_log).map_err(|e| format!("{}: {e}", console_log.display()))?;
    f.write_all(console.as_bytes())
        .map_err(|e| format!("{}: {e}", console_log.display()))?;
    Ok(VmOutcome {
        rc: parse_rc(&console),
        problems: find_problems(&console),
        console,
        console_log,
        timed_out,
        wall,
    })
}

/// `cargo xtask vm ...`: boot one VM by hand.
pub fn run(f: &crate::flags::Vm) -> Result<(), String> {
    let mut spec = VmSpec {
        kernel: f.kernel.clone(),
        modules: f.modules.clone(),
        files: Vec::new(),
        command: f.command.join(" "),
        work_dir: f.work_dir.clone(),
        timeout: Duration::from_secs(f.timeout),
        memory_mib: 512,
        cpus: 1,
        echo: true,
        progress: None,
    };
    for v in &f.files {
        let (h, g) = match v.split_once(':') {
            Some((h, g)) => (h.to_string(), g.to_string()),
            None => {
                let name = Path::new(v)
                    .file_name()
                    .and_then(|s| s.to_str())
                    .ok_or_else(|| format!("--file {v}: no file name"))?
                    .to_string();
                (v.clone(), format!("/{name}"))
            }
        };
        spec.files.push((h.into(), g));
    }
    if spec.command.is_empty() {
        spec.command = "true".into();
    }
    let out = run_vm(&spec)?;
    println!(
        "vm: {:.1} s wall, rc {:?}, console {}",
        out.wall.as_secs_f64(),
        out.rc,
        out.console_log.display()
    );
    out.verdict()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_and_problems_are_found() {
        let log = "boot\nKFT-RESULT: rc=3\n[ 1.0] WARNING: CPU: 0 PID: 1 at x.c:1\nok\n";
        assert_eq!(parse_rc(log), Some(3));
        assert_eq!(find_problems(log).len(), 1);
        assert_eq!(parse_rc("no marker\n"), None);
        // A kernel message on the marker's line (seen in a CI run under load).
        assert_eq!(
            parse_rc("KFT-RESULT: rc=0[    3.384184] kfunc_sample: unloaded\n"),
            Some(0)
        );
        assert_eq!(parse_rc("KFT-RESULT: rc=-1\n"), Some(-1));
        assert_eq!(parse_rc("KFT-RESULT: rc=[ 1.0] x\n"), None);
        assert!(find_problems("all fine\n").is_empty());
    }

    #[test]
    fn init_script_loads_and_unloads_in_order() {
        let spec = VmSpec {
            kernel: "bz".into(),
            modules: vec!["a/x-y.ko".into(), "b/z.ko".into()],
            files: vec![],
            command: "/runner".into(),
            work_dir: "w".into(),
            timeout: Duration::from_secs(1),
            memory_mib: 256,
            cpus: 1,
            echo: false,
            progress: None,
        };
        let s = init_script(&spec).unwrap();
        let ins_x = s.find("insmod /modules/x-y.ko").unwrap();
        let ins_z = s.find("insmod /modules/z.ko").unwrap();
        let run = s.find("/runner").unwrap();
        let rm_z = s.find("rmmod z ").unwrap();
        let rm_x = s.find("rmmod x_y ").unwrap();
        assert!(ins_x < ins_z && ins_z < run && run < rm_z && rm_z < rm_x);
        assert!(s.contains(RESULT_MARKER));
    }

    /// A relative work directory (the README's `vm` example uses the default
    /// `target/kfunc-vm/manual`): the initramfs step once wrote its output relative to the
    /// staging directory it had `cd`ed into.
    #[test]
    fn initramfs_with_a_relative_work_dir() {
        if !["/bin/busybox", "/usr/bin/busybox"]
            .iter()
            .any(|p| Path::new(p).exists())
        {
            println!("SKIPPED initramfs_with_a_relative_work_dir: no busybox on this machine");
            return;
        }
        // cargo test runs in xtask/: ../target is the workspace's target directory.
        let rel = PathBuf::from(format!(
            "../target/kfunc-vm/relative-{}",
            std::process::id()
        ));
        let spec = VmSpec {
            kernel: "bz".into(),
            modules: vec![],
            files: vec![],
            command: "true".into(),
            work_dir: rel.clone(),
            timeout: Duration::from_secs(1),
            memory_mib: 256,
            cpus: 1,
            echo: false,
            progress: None,
        };
        let out = build_initramfs(&spec).unwrap();
        assert!(out.is_absolute() && out.is_file(), "{}", out.display());
        assert!(fs::metadata(&out).unwrap().len() > 0);
        fs::remove_dir_all(&rel).unwrap();
    }
}
