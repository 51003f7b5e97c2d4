//! Fuzz the whole pipeline (collect, btfgen, resolve, patch; `check` mode, nothing written)
//! on an arbitrary ELF with a small base BTF: Ok or Err, never a panic.
#![no_main]

use btfids_post::btf::{BtfBuilder, KIND_INT, KIND_STRUCT, KIND_TYPEDEF};
use btfids_post::pipeline::{run, Mode};
use btfids_post::Options;
use kfunc_layout::Endian;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn paths() -> &'static (std::path::PathBuf, std::path::PathBuf) {
    static P: OnceLock<(std::path::PathBuf, std::path::PathBuf)> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("btfids-post-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut b = BtfBuilder::new(Endian::Little, None);
        let n = b.add_str("unsigned int");
        let u = b.add_type(n, KIND_INT, 0, 4, &[32]);
        let n = b.add_str("u32");
        b.add_type(n, KIND_TYPEDEF, 0, u, &[]);
        let n = b.add_str("task_struct");
        b.add_type(n, KIND_STRUCT, 0, 8, &[]);
        let base = dir.join("base");
        std::fs::write(&base, b.finish()).unwrap();
        (dir.join("input.ko"), base)
    })
}

fuzz_target!(|data: &[u8]| {
    let (input, base) = paths();
    std::fs::write(input, data).unwrap();
    let opts = Options { base: Some(base.clone()), ..Default::default() };
    let _ = run(input, &opts, Mode::Check);
    let _ = run(input, &Options::default(), Mode::Check);
});
