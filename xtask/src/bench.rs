//! `cargo xtask bench [--inputs DIR[:DIR..]] [--stock RESOLVE_BTFIDS] [--rounds N]`:
//! btfids-post against the stock `resolve_btfids` on the same captured inputs (vmlinux and
//! every module, saved before resolution by `btfids-post/scripts/resolve-btfids-capture.sh`).
//!
//! Each round copies the inputs twice, runs each tool over all of them (one process per
//! file, as Kbuild does), checks that every output is byte-identical, and measures the
//! wall time of each tool's batch and the peak RSS of its processes (`/usr/bin/time -f %M`).
//! Files with extended sets or `.kfunc.meta` records are left out (the stock tool does not
//! know them). Prints each round, then the medians, the time ratio and the RSS figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Run `tool args` under `/usr/bin/time -f %M` (peak RSS of the tool alone; `wait4` on a
/// child that this process `vfork`ed would report this process's RSS as the floor).
/// Returns (success, wall time, peak RSS in KiB).
fn measure(
    tool: &Path,
    args: &[&std::ffi::OsStr],
    rss_file: &Path,
) -> Result<(bool, Duration, i64), String> {
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(rss_file)
        .arg(tool)
        .args(args);
    cmd.stderr(std::process::Stdio::null());
    let t = Instant::now();
    let st = cmd.status().map_err(|e| {
        format!(
            "/usr/bin/time {}: {e} (apt-get install time)",
            tool.display()
        )
    })?;
    let wall = t.elapsed();
    let rss = std::fs::read_to_string(rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .ok_or_else(|| format!("no RSS figure from /usr/bin/time for {}", tool.display()))?;
    Ok((st.success(), wall, rss))
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

/// Where captures are and which stock tool made them: shared with btfids-post's captured
/// test (compiled here from its source: xtask does not depend on btfids-post).
#[path = "../../btfids-post/src/capture.rs"]
mod capture;

/// The capture directories that hold a vmlinux.
fn default_dirs() -> Vec<PathBuf> {
    capture::default_dirs()
        .into_iter()
        .filter(|p| p.join("vmlinux").exists())
        .collect()
}

struct Input {
    file: PathBuf,
    base: Option<PathBuf>,
    /// The stock tool of the tree this input came from.
    stock: PathBuf,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Entry point of `cargo xtask bench`.
pub fn run(args: &[String]) -> Result<(), String> {
    // `/usr/bin/time` measures each tool's peak RSS.
    crate::deps::ensure_debian_packages(&["time"])?;
    let mut dirs = Vec::new();
    let mut stock: Option<PathBuf> = None;
    let mut rounds = 9usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("bench: {a} needs a value"))
        };
        match a.as_str() {
            "--inputs" => dirs.extend(val()?.split(':').map(PathBuf::from)),
            "--stock" => stock = Some(val()?.into()),
            "--rounds" => {
                rounds = val()?
                    .parse()
                    .map_err(|_| "bench: --rounds N".to_string())?
            }
            _ => return Err(format!("bench: unknown argument {a}")),
        }
    }
    if dirs.is_empty() {
        dirs = default_dirs();
    }
    if dirs.is_empty() {
        return Err("bench: no captured inputs (~/.cache/kfunc-args/kernel/*/btfids-inputs); use --inputs DIR".into());
    }
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
        return Err("bench: cargo build --release -p btfids-post failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    let post = target.join("release/btfids-post");

    let mut inputs = Vec::new();
    let mut left_out = Vec::new();
    for d in &dirs {
        let Some(dir_stock) = stock.clone().or_else(|| capture::stock_from_args(d)) else {
            return Err(format!(
                "bench: no stock resolve_btfids for {}; use --stock PATH",
                d.display()
            ));
        };
        let capture::Capture { base, files } = capture::read(d)?;
        for f in files {
            let is_mod = f.extension().is_some_and(|x| x == "ko");
            let mut dump = Command::new(&post);
            dump.arg("dump");
            if let (true, Some(b)) = (is_mod, &base) {
                dump.arg("-b").arg(b);
            }
            let out = dump.arg(&f).output().map_err(|e| format!("{e}"))?;
            if String::from_utf8_lossy(&out.stdout).contains("(Extended)") || has_meta(&f)? {
                left_out.push(f);
                continue;
            }
            inputs.push(Input {
                base: if is_mod { base.clone() } else { None },
                file: f,
                stock: dir_stock.clone(),
            });
        }
    }
    if inputs.is_empty() {
        return Err("bench: no comparable inputs".into());
    }
    let total: u64 = inputs
        .iter()
        .map(|i| std::fs::metadata(&i.file).map_or(0, |m| m.len()))
        .sum();
    println!(
        "bench: {} inputs ({} modules, {:.1} MB) from {}; {} left out (extended sets / records)",
        inputs.len(),
        inputs.iter().filter(|i| i.base.is_some()).count(),
        total as f64 / 1e6,
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

    let work = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
    let (mut ts, mut tp) = (Vec::new(), Vec::new());
    let (mut rss_s, mut rss_p) = (0i64, 0i64);
    for round in 0..rounds {
        let _ = std::fs::remove_dir_all(&work);
        let (ds, dp) = (work.join("stock"), work.join("post"));
        std::fs::create_dir_all(&ds).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&dp).map_err(|e| e.to_string())?;
        let mut pairs = Vec::new();
        for (i, inp) in inputs.iter().enumerate() {
            let name = format!("{i}-{}", inp.file.file_name().unwrap().to_string_lossy());
            let (a, b) = (ds.join(&name), dp.join(&name));
            std::fs::copy(&inp.file, &a).map_err(|e| e.to_string())?;
            std::fs::copy(&inp.file, &b).map_err(|e| e.to_string())?;
            pairs.push((a, b, inp.base.clone(), inp.stock.clone()));
        }
        let rss_file = work.join("rss");
        let batch = |stock_side: bool| -> Result<(Duration, i64), String> {
            let mut wall = Duration::ZERO;
            let mut rss = 0;
            for (a, b, base, stock) in &pairs {
                let tool: &Path = if stock_side { stock } else { &post };
                let file = if stock_side { a } else { b };
                let mut args: Vec<&std::ffi::OsStr> = Vec::new();
                if let Some(bp) = base {
                    args.push("-b".as_ref());
                    args.push(bp.as_os_str());
                }
                args.push(file.as_os_str());
                let (ok, w, r) = measure(tool, &args, &rss_file)?;
                if !ok {
                    return Err(format!("{} failed on {}", tool.display(), file.display()));
                }
                wall += w;
                rss = rss.max(r);
            }
            Ok((wall, rss))
        };
        // Alternate the order so neither tool always runs on a warm cache.
        let (s, p) = if round % 2 == 0 {
            let s = batch(true)?;
            (s, batch(false)?)
        } else {
            let p = batch(false)?;
            (batch(true)?, p)
        };
        for (a, b, _, _) in &pairs {
            if !same_file(a, b)? {
                return Err(format!("bench: outputs differ for {}", a.display()));
            }
        }
        println!(
            "round {}: stock {:8.2} ms  post {:8.2} ms  (outputs byte-identical: {} files)",
            round + 1,
            s.0.as_secs_f64() * 1e3,
            p.0.as_secs_f64() * 1e3,
            pairs.len()
        );
        ts.push(s.0);
        tp.push(p.0);
        rss_s = rss_s.max(s.1);
        rss_p = rss_p.max(p.1);
    }
    let _ = std::fs::remove_dir_all(&work);
    let (mins, minp) = (*ts.iter().min().unwrap(), *tp.iter().min().unwrap());
    let (ms, mp) = (median(ts), median(tp));
    println!(
        "best round: stock {:.2} ms, btfids-post {:.2} ms: ratio {:.3}",
        mins.as_secs_f64() * 1e3,
        minp.as_secs_f64() * 1e3,
        minp.as_secs_f64() / mins.as_secs_f64()
    );
    println!(
        "median wall: stock {:.2} ms, btfids-post {:.2} ms: ratio post/stock {:.3} (goal <= 0.5)",
        ms.as_secs_f64() * 1e3,
        mp.as_secs_f64() * 1e3,
        mp.as_secs_f64() / ms.as_secs_f64()
    );
    println!(
        "peak RSS: stock {} KiB, btfids-post {} KiB (goal: post <= stock)",
        rss_s, rss_p
    );
    Ok(())
}
