//! Fuzz the Linux 7.3 flow (`--btf OBJ.BTF.1 [-b vmlinux] [--distill_base] OBJ`): load,
//! btf2btf (decl tags, implicit args, arena attributes, BTF for Rust kfuncs), dedup,
//! distill, sort by name, resolve and patch, in memory ([`btfids_post::detached::process`]
//! returns the blobs; nothing is written next to OBJ). Ok or Err, never a panic; an Ok result
//! must itself be BTF that loads.
//!
//! Input: `[u32 LE base_len][base][u32 LE btf_len][detached BTF][OBJ]`; `base_len` 0 means
//! vmlinux (no base). Seeds: `BTFIDS_FUZZ_SEEDS=<dir> cargo test -p btfids-post --test
//! gen_btf mutated_inputs_never_panic` writes the synthetic module, vmlinux and Rust module
//! of the tests in this format (see `fuzz/README.md`).
#![no_main]

use btfids_post::btf::Btf;
use btfids_post::Options;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("btfids-post-fuzz-73-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

/// Split off a `u32 LE` length and that many bytes.
fn take<'a>(data: &mut &'a [u8]) -> Option<&'a [u8]> {
    let n = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let part = data.get(4..4 + n)?;
    *data = &data[4 + n..];
    Some(part)
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let (Some(base), Some(btf)) = (take(&mut rest), take(&mut rest)) else {
        return;
    };
    let d = dir();
    let (basep, btfp, objp) = (d.join("vmlinux"), d.join("obj.BTF.1"), d.join("obj.ko"));
    std::fs::write(&btfp, btf).unwrap();
    std::fs::write(&objp, rest).unwrap();
    let base = if base.is_empty() {
        None
    } else {
        std::fs::write(&basep, base).unwrap();
        Some(basep)
    };
    for distill_base in [false, true] {
        let opts = Options {
            btf: Some(btfp.clone()),
            base: base.clone(),
            distill_base,
            ..Default::default()
        };
        if let Ok(out) = btfids_post::detached::process(&objp, &opts) {
            // What the tool would write as OBJ.BTF must load (on its base, if any).
            check_output(&out, base.as_deref());
        }
        if base.is_none() {
            break;
        }
    }
});

fn check_output(out: &btfids_post::detached::Detached, base: Option<&std::path::Path>) {
    let btf = &out.btf;
    let base_bytes = match (out.btf_base.as_deref(), base) {
        (Some(distilled), _) => Some(distilled.to_vec()),
        (None, Some(p)) => std::fs::read(p).ok(),
        (None, None) => None,
    };
    let parsed_base = base_bytes.as_deref().map(|b| Btf::parse(b, None).expect("base loads"));
    Btf::parse(btf, parsed_base.as_ref()).expect("the final BTF loads on its base");
}
