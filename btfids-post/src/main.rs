//! btfids-post (work in progress).
fn main() {}
