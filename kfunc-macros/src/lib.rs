//! `#[kfunc]`: per-argument kfunc flags (work in progress).
