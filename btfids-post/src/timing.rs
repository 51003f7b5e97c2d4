//! Phase timing for profiling: with `BTFIDS_POST_TIMES` set in the environment, each
//! [`Timer::lap`] prints the time since the previous lap and the process's resident set
//! (`VmRSS`, `VmHWM` of `/proc/self/status`) to stderr. Without it, nothing is measured or
//! printed (the stock tool's stderr is compared byte for byte).

use std::time::Instant;

/// Times the phases of one run.
pub struct Timer {
    on: bool,
    start: Instant,
    last: Instant,
}

fn status_kib(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

impl Timer {
    /// A timer that prints only when `BTFIDS_POST_TIMES` is set.
    pub fn from_env() -> Self {
        let now = Instant::now();
        Timer {
            on: std::env::var_os("BTFIDS_POST_TIMES").is_some(),
            start: now,
            last: now,
        }
    }

    /// End of phase `what`.
    pub fn lap(&mut self, what: &str) {
        if !self.on {
            return;
        }
        let now = Instant::now();
        eprintln!(
            "time: {what:<12} {:8.3} ms (total {:8.3} ms) rss {} KiB hwm {} KiB",
            (now - self.last).as_secs_f64() * 1e3,
            (now - self.start).as_secs_f64() * 1e3,
            status_kib("VmRSS:").unwrap_or(0),
            status_kib("VmHWM:").unwrap_or(0),
        );
        self.last = now;
    }
}
