//! The function flags of `kfunc_layout::FUNC_FLAGS` must be those of `include/linux/btf.h` of
//! the 7.3 kernel source (same names, same values, none missing on either side), and
//! `BTF_SET8_KFUNCS` that of `include/linux/btf_ids.h`.
//!
//! The headers come from a cached kernel tree (`~/.cache/kfunc-args/kernel/*/linux`,
//! unpatched first, 7.3 trees only) or are extracted from the `linux-source-7.3` tarball that
//! `cargo xtask kernel` fetches (`~/.cache/kfunc-args/src/deb/usr/src/`); without either the
//! tests are skipped with a printed reason.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const TARBALL_IN_CACHE: &str = ".cache/kfunc-args/src/deb/usr/src/linux-source-7.3.tar.xz";
const TOP: &str = "linux-source-7.3";

/// Whether the tree's top Makefile is of Linux 7.3.
fn is_7_3(tree: &Path) -> bool {
    fs::read_to_string(tree.join("Makefile")).is_ok_and(|m| {
        m.lines().any(|l| l.trim() == "VERSION = 7")
            && m.lines().any(|l| l.trim() == "PATCHLEVEL = 3")
    })
}

/// A directory holding `include/linux/{btf,btf_ids}.h`, or why there is none.
fn kernel_include_root() -> &'static Result<PathBuf, String> {
    static ROOT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ROOT.get_or_init(|| {
        if let Some(home) = std::env::var_os("HOME") {
            let cache = PathBuf::from(home).join(".cache/kfunc-args/kernel");
            let mut trees: Vec<PathBuf> = fs::read_dir(&cache)
                .map(|d| {
                    d.filter_map(|e| e.ok().map(|e| e.path().join("linux")))
                        .collect()
                })
                .unwrap_or_default();
            // Unpatched trees first: they are the pristine 7.3 headers.
            trees.sort_by_key(|p| !p.to_string_lossy().contains("/unpatched-"));
            if let Some(t) = trees.into_iter().find(|t| {
                is_7_3(t)
                    && t.join("include/linux/btf.h").exists()
                    && t.join("include/linux/btf_ids.h").exists()
            }) {
                return Ok(t);
            }
        }
        let tarball =
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(TARBALL_IN_CACHE);
        if !tarball.exists() {
            return Err(format!(
                "no cached 7.3 kernel tree under ~/.cache/kfunc-args/kernel and no {} \
                 (run `cargo xtask kernel`, which fetches linux-source-7.3)",
                tarball.display()
            ));
        }
        let dir = std::env::temp_dir().join(format!("kfunc-layout-headers-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let st = Command::new("tar")
            .arg("-xJf")
            .arg(&tarball)
            .arg("-C")
            .arg(&dir)
            .arg(format!("{TOP}/include/linux/btf.h"))
            .arg(format!("{TOP}/include/linux/btf_ids.h"))
            .arg(format!("{TOP}/include/linux/bpf.h"))
            .arg(format!("{TOP}/kernel/bpf/verifier.c"))
            .status()
            .map_err(|e| format!("tar: {e}"))?;
        if !st.success() {
            return Err(format!("tar -xJf {} failed ({st})", tarball.display()));
        }
        Ok(dir.join(TOP))
    })
}

/// `#define NAME (1 << n)` / `#define NAME value` lines whose name starts with `prefix`.
fn defines(text: &str, prefix: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("#define ") else {
            continue;
        };
        let mut parts = rest.splitn(2, char::is_whitespace);
        let name = parts.next().unwrap_or("");
        let value = parts.next().unwrap_or("").trim();
        if !name.starts_with(prefix) || name.contains('(') {
            continue;
        }
        let value = value.split("/*").next().unwrap().trim();
        if let Some(v) = eval(value) {
            out.insert(name.to_string(), v);
        }
    }
    out
}

/// Evaluate `(1 << n)`, `1 << n`, decimal or hex literals; `None` for anything else.
fn eval(v: &str) -> Option<u32> {
    let v = v
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    if let Some((a, b)) = v.split_once("<<") {
        let a: u32 = a.trim().trim_end_matches(['U', 'u']).parse().ok()?;
        let b: u32 = b.trim().parse().ok()?;
        return a.checked_shl(b);
    }
    if let Some(h) = v.strip_prefix("0x") {
        return u32::from_str_radix(h, 16).ok();
    }
    v.parse().ok()
}

fn read(root: &Path, rel: &str) -> String {
    let p = root.join(rel);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn func_flags_match_btf_h() {
    let root = match kernel_include_root() {
        Ok(r) => r,
        Err(why) => {
            eprintln!("SKIPPED func_flags_match_btf_h: {why}");
            return;
        }
    };
    let kernel = defines(&read(root, "include/linux/btf.h"), "KF_");
    assert!(
        !kernel.is_empty(),
        "{}: no KF_* defines found",
        root.join("include/linux/btf.h").display()
    );
    let ours: BTreeMap<String, u32> = kfunc_layout::FUNC_FLAGS
        .iter()
        .map(|f| (f.c_name.to_string(), f.value))
        .collect();
    for (name, v) in &ours {
        match kernel.get(name) {
            Some(k) => assert_eq!(k, v, "{name}: btf.h has {k:#x}, kfunc-layout {v:#x}"),
            None => panic!("{name} of kfunc-layout is not defined in btf.h"),
        }
    }
    for (name, k) in &kernel {
        assert!(
            ours.contains_key(name),
            "btf.h defines {name} = {k:#x}, missing from kfunc_layout::FUNC_FLAGS"
        );
    }
}

/// The enumerators of `enum name { ... }` in `text`, in order.
fn enumerators(text: &str, name: &str) -> Vec<String> {
    let Some(start) = text.find(&format!("enum {name} {{")) else {
        return Vec::new();
    };
    let body = &text[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find("};").unwrap_or(body.len())];
    let mut out = Vec::new();
    let mut rest = body;
    // Drop comments, then take the identifier before each comma or the end.
    while let Some(i) = rest.find("/*") {
        let j = rest[i..].find("*/").map_or(rest.len(), |j| i + j + 2);
        out.push(rest[..i].to_string());
        rest = &rest[j..];
    }
    out.push(rest.to_string());
    out.concat()
        .split(',')
        .map(|e| e.split('=').next().unwrap().trim().to_string())
        .filter(|e| !e.is_empty())
        .collect()
}

/// `KF_PARAM_DYNPTR_<NAME>` carries the `enum bpf_dynptr_type` value of
/// `BPF_DYNPTR_TYPE_<NAME>`: the list in kfunc-layout must be the kernel's enum, in order,
/// after `BPF_DYNPTR_TYPE_INVALID` (0), and fit the field.
#[test]
fn dynptr_types_match_bpf_h() {
    let root = match kernel_include_root() {
        Ok(r) => r,
        Err(why) => {
            eprintln!("SKIPPED dynptr_types_match_bpf_h: {why}");
            return;
        }
    };
    let kernel = enumerators(&read(root, "include/linux/bpf.h"), "bpf_dynptr_type");
    assert_eq!(
        kernel.first().map(String::as_str),
        Some("BPF_DYNPTR_TYPE_INVALID"),
        "enum bpf_dynptr_type of {} does not start with INVALID: {kernel:?}",
        root.display()
    );
    let ours: Vec<String> = kfunc_layout::DYNPTR_TYPES
        .iter()
        .map(|t| format!("BPF_DYNPTR_TYPE_{t}"))
        .collect();
    assert_eq!(
        kernel[1..],
        ours[..],
        "enum bpf_dynptr_type vs kfunc-layout"
    );
    assert!(kernel.len() - 1 <= kfunc_layout::KF_PARAM_DYNPTR_MASK as usize);
}

#[test]
fn enum_parser_reads_kernel_style() {
    let text = "enum x { A, /* a, b */\n\tB = 3, C /* c */ };\nenum bpf_dynptr_type {\n\tBPF_DYNPTR_TYPE_INVALID,\n\t/* Points, to memory */\n\tBPF_DYNPTR_TYPE_LOCAL,\n};";
    assert_eq!(enumerators(text, "x"), ["A", "B", "C"]);
    assert_eq!(
        enumerators(text, "bpf_dynptr_type"),
        ["BPF_DYNPTR_TYPE_INVALID", "BPF_DYNPTR_TYPE_LOCAL"]
    );
    assert!(enumerators(text, "y").is_empty());
}

#[test]
fn set8_kfuncs_matches_btf_ids_h() {
    let root = match kernel_include_root() {
        Ok(r) => r,
        Err(why) => {
            eprintln!("SKIPPED set8_kfuncs_matches_btf_ids_h: {why}");
            return;
        }
    };
    let kernel = defines(&read(root, "include/linux/btf_ids.h"), "BTF_SET8_");
    assert_eq!(
        kernel.get("BTF_SET8_KFUNCS").copied(),
        Some(kfunc_layout::BTF_SET8_KFUNCS),
        "BTF_SET8_KFUNCS of btf_ids.h vs kfunc-layout"
    );
    // Bits 6.12 defines for set8 headers must not collide with the extended-set bits.
    for (name, v) in kernel.iter().filter(|(n, _)| *n != "BTF_SET8_KFUNCS") {
        assert_eq!(
            v & (kfunc_layout::BTF_SET8_KNOWN_MASK & !kfunc_layout::BTF_SET8_KFUNCS),
            0,
            "btf_ids.h {name} = {v:#x} collides with the extended set8 header bits"
        );
    }
}

/// Every C name the layout adds (`KF_PARAM_*` and the extended-set macros) must be free in
/// the unpatched kernel: 7.3's verifier already owns `KF_ARG_CONST`, `KF_ARG_MEM_SIZE`, ...
/// (enum kfunc_ptr_arg_type), which is why the per-argument flags are not `KF_ARG_*`.
#[test]
fn layout_names_are_free_in_the_kernel() {
    let root = match kernel_include_root() {
        Ok(r) if !r.join("include/linux/btf_kfunc_args.h").exists() => r,
        Ok(r) => {
            eprintln!(
                "SKIPPED layout_names_are_free_in_the_kernel: {} is a patched tree",
                r.display()
            );
            return;
        }
        Err(why) => {
            eprintln!("SKIPPED layout_names_are_free_in_the_kernel: {why}");
            return;
        }
    };
    let texts: Vec<(&str, String)> = [
        "include/linux/btf.h",
        "include/linux/btf_ids.h",
        "kernel/bpf/verifier.c",
    ]
    .into_iter()
    .map(|f| (f, read(root, f)))
    .collect();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for name in kfunc_layout::ARG_FLAGS.iter().map(|f| f.c_name).chain([
        "KF_PARAM_MEM",
        "KF_PARAM_DYNPTR",
        "KF_MAX_ARGS",
        "BTF_SET8_KFUNC_ARGS",
        "BTF_SET8_ARGS_VERSION",
    ]) {
        for (file, text) in &texts {
            let taken = text.match_indices(name).any(|(i, _)| {
                !text[..i].ends_with(is_ident) && !text[i + name.len()..].starts_with(is_ident)
            });
            assert!(
                !taken,
                "{name} is already used in {file} of the unpatched 7.3 tree"
            );
        }
    }
    // The check itself finds a name the kernel does use.
    assert!(texts[2].1.contains("KF_ARG_CONST,"));
}

#[test]
fn define_parser_reads_kernel_style() {
    let text = "#define KF_ACQUIRE\t(1 << 0) /* x */\n#define KF_RELEASE   (1 << 1)\n#define KF_X(y) y\n#define BTF_SET8_KFUNCS\t\t(1 << 0)\n";
    let d = defines(text, "KF_");
    assert_eq!(d.get("KF_ACQUIRE"), Some(&1));
    assert_eq!(d.get("KF_RELEASE"), Some(&2));
    assert_eq!(d.len(), 2);
    assert_eq!(defines(text, "BTF_SET8_").get("BTF_SET8_KFUNCS"), Some(&1));
}

/// `pub const NAME: u32 = value;` lines of a bindgen output.
fn bindgen_consts(text: &str) -> BTreeMap<String, u32> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .filter_map(|l| {
            let (name, rest) = l.split_once(": u32 = ")?;
            Some((name.to_string(), rest.trim_end_matches(';').parse().ok()?))
        })
        .collect()
}

#[test]
fn rust_bindings_of_patched_kernel_match() {
    let Some(home) = std::env::var_os("HOME") else {
        eprintln!("SKIPPED rust_bindings_of_patched_kernel_match: HOME not set");
        return;
    };
    let cache = PathBuf::from(home).join(".cache/kfunc-args/kernel");
    // The most recently finished patched kernel: older ones of earlier series revisions
    // may stay in the cache (their key is the patches' diffs), with older headers.
    let generated = fs::read_dir(&cache)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().contains("/patched-"))
                .filter_map(|p| {
                    let finished = fs::metadata(p.join("stamp")).ok()?.modified().ok()?;
                    let bindings = p.join("linux/rust/bindings/bindings_generated.rs");
                    bindings.exists().then_some((finished, bindings))
                })
                .max()
                .map(|(_, bindings)| bindings)
        })
        .ok()
        .flatten();
    let Some(path) = generated else {
        eprintln!(
            "SKIPPED rust_bindings_of_patched_kernel_match: no finished patched kernel under {} \
             (run `cargo xtask kernel`)",
            cache.display()
        );
        return;
    };
    let consts = bindgen_consts(&read(Path::new("/"), path.to_str().unwrap()));
    let mut want: Vec<(&str, u32)> = kfunc_layout::ARG_FLAGS
        .iter()
        .chain(kfunc_layout::FUNC_FLAGS)
        .map(|f| (f.c_name, f.value))
        .collect();
    want.extend([
        ("KF_PARAM_MEM_SHIFT", kfunc_layout::KF_PARAM_MEM_SHIFT),
        ("KF_PARAM_MEM_MASK", kfunc_layout::KF_PARAM_MEM_MASK),
        ("KF_PARAM_KNOWN_MASK", kfunc_layout::KF_PARAM_KNOWN_MASK),
        ("KF_PARAM_DYNPTR_SHIFT", kfunc_layout::KF_PARAM_DYNPTR_SHIFT),
        ("KF_PARAM_DYNPTR_MASK", kfunc_layout::KF_PARAM_DYNPTR_MASK),
        ("BTF_SET8_KFUNCS", kfunc_layout::BTF_SET8_KFUNCS),
        ("BTF_SET8_KFUNC_ARGS", kfunc_layout::BTF_SET8_KFUNC_ARGS),
        (
            "BTF_SET8_VERSION_SHIFT",
            kfunc_layout::BTF_SET8_VERSION_SHIFT,
        ),
        ("BTF_SET8_ARGS_VERSION", kfunc_layout::SET8_ARGS_VERSION),
        (
            "BTF_SET8_ARGS_HEADER_FLAGS",
            kfunc_layout::BTF_SET8_ARGS_HEADER_FLAGS,
        ),
        (
            "BTF_SET8_ARGS_ENTRY_SIZE",
            kfunc_layout::SET8_ARGS_ENTRY_SIZE as u32,
        ),
    ]);
    let dynptr: Vec<(String, u32)> = kfunc_layout::DYNPTR_TYPES
        .iter()
        .zip(1..)
        .map(|(t, v)| {
            (
                format!("KF_PARAM_DYNPTR_{t}"),
                kfunc_layout::kf_arg_dynptr(v),
            )
        })
        .collect();
    want.extend(dynptr.iter().map(|(n, v)| (n.as_str(), *v)));
    for (name, v) in want {
        assert_eq!(
            consts.get(name),
            Some(&v),
            "{name} in {} vs kfunc-layout",
            path.display()
        );
    }
}
