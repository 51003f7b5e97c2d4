//! Test support: a small ELF writer (ELF32/ELF64, either byte order) for synthetic inputs,
//! and helpers to run the tool.
#![allow(dead_code, missing_docs, clippy::type_complexity)]

use kfunc_layout::{Endian, BTF_SET8_KFUNC_ARGS, MAX_ARGS, SET8_ARGS_ENTRY_SIZE};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

pub struct Sec {
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    pub data: Vec<u8>,
    pub addralign: u64,
}

pub struct SymDef {
    pub name: String,
    /// Index into the `sections` vector given to `build` (0-based, +1 in the ELF).
    pub sec: usize,
    pub value: u64,
    pub size: u64,
}

pub const SHT_PROGBITS: u32 = 1;

pub fn sec(name: &str, data: Vec<u8>) -> Sec {
    Sec {
        name: name.into(),
        sh_type: SHT_PROGBITS,
        flags: 0,
        data,
        addralign: 4,
    }
}

pub fn sym(name: &str, sec: usize, value: u64, size: u64) -> SymDef {
    SymDef {
        name: name.into(),
        sec,
        value,
        size,
    }
}

/// Builder of a `.BTF_ids` section: the data and the `__BTF_ID__*` symbols that cover it.
pub struct Ids {
    pub e: Endian,
    pub data: Vec<u8>,
    pub syms: Vec<SymDef>,
}

impl Ids {
    pub fn new(e: Endian) -> Self {
        Ids {
            e,
            data: Vec::new(),
            syms: Vec::new(),
        }
    }
    /// One id slot: `__BTF_ID__{kind}__{name}__{n}`.
    pub fn id(&mut self, kind: &str, name: &str) {
        let n = self.syms.len();
        self.syms.push(sym(
            &format!("__BTF_ID__{kind}__{name}__{n}"),
            0,
            self.data.len() as u64,
            4,
        ));
        self.data.extend_from_slice(&[0; 4]);
    }
    pub fn word(&mut self, v: u32) {
        self.data.extend_from_slice(&self.e.u32_bytes(v));
    }
    /// A legacy set: count, then one id per function.
    pub fn set(&mut self, name: &str, funcs: &[&str]) {
        self.syms.push(sym(
            &format!("__BTF_ID__set__{name}"),
            0,
            self.data.len() as u64,
            4 + 4 * funcs.len() as u64,
        ));
        self.word(0);
        for f in funcs {
            self.id("func", f);
        }
    }
    /// A set8: the extended layout (under its own symbol kind, `__BTF_ID__kfunc_args__`) when
    /// `header` has `BTF_SET8_KFUNC_ARGS`, else id/flags pairs.
    pub fn set8(&mut self, name: &str, header: u32, entries: &[(&str, u32, [u32; MAX_ARGS])]) {
        let ext = header & BTF_SET8_KFUNC_ARGS != 0;
        let stride = if ext { SET8_ARGS_ENTRY_SIZE } else { 8 };
        let kind = if ext {
            kfunc_layout::KFUNC_ARGS_SET_KIND
        } else {
            "set8"
        };
        self.syms.push(sym(
            &format!("__BTF_ID__{kind}__{name}"),
            0,
            self.data.len() as u64,
            (8 + stride * entries.len()) as u64,
        ));
        self.word(0);
        self.word(header);
        for (f, flags, args) in entries {
            self.id("func", f);
            self.word(*flags);
            if ext {
                for a in args {
                    self.word(*a);
                }
            }
        }
    }
}

fn put(out: &mut Vec<u8>, e: Endian, v: u64, w: usize) {
    match (w, e) {
        (8, Endian::Little) => out.extend_from_slice(&v.to_le_bytes()),
        (8, Endian::Big) => out.extend_from_slice(&v.to_be_bytes()),
        (4, _) => out.extend_from_slice(&e.u32_bytes(v as u32)),
        (2, _) => out.extend_from_slice(&e.u16_bytes(v as u16)),
        (1, _) => out.push(v as u8),
        _ => unreachable!(),
    }
}

/// Build a relocatable ELF: the given sections, then .symtab, .strtab, .shstrtab.
pub fn build(is64: bool, e: Endian, sections: &[Sec], syms: &[SymDef]) -> Vec<u8> {
    let w = if is64 { 8 } else { 4 };
    let ehsize = if is64 { 64 } else { 52 };
    let shentsize = if is64 { 64 } else { 40 };
    // strtab / symtab
    let mut strtab = vec![0u8];
    let mut symtab = Vec::new();
    let symsize = if is64 { 24 } else { 16 };
    symtab.resize(symsize, 0); // null symbol
    for s in syms {
        let name = strtab.len() as u64;
        strtab.extend_from_slice(s.name.as_bytes());
        strtab.push(0);
        let shndx = (s.sec + 1) as u64;
        let info = 1u64; // STB_LOCAL, STT_OBJECT
        if is64 {
            put(&mut symtab, e, name, 4);
            put(&mut symtab, e, info, 1);
            put(&mut symtab, e, 0, 1);
            put(&mut symtab, e, shndx, 2);
            put(&mut symtab, e, s.value, 8);
            put(&mut symtab, e, s.size, 8);
        } else {
            put(&mut symtab, e, name, 4);
            put(&mut symtab, e, s.value, 4);
            put(&mut symtab, e, s.size, 4);
            put(&mut symtab, e, info, 1);
            put(&mut symtab, e, 0, 1);
            put(&mut symtab, e, shndx, 2);
        }
    }
    let n_user = sections.len();
    let symtab_idx = n_user + 1;
    let strtab_idx = n_user + 2;
    let shstr_idx = n_user + 3;
    let mut shstr = vec![0u8];
    let mut names = Vec::new();
    for n in sections
        .iter()
        .map(|s| s.name.as_str())
        .chain([".symtab", ".strtab", ".shstrtab"])
    {
        names.push(shstr.len() as u64);
        shstr.extend_from_slice(n.as_bytes());
        shstr.push(0);
    }
    // layout
    let mut body = Vec::new();
    let mut offs = Vec::new();
    let all: Vec<(&[u8], u32, u64, u64, u64, u64)> = sections
        .iter()
        .map(|s| {
            (
                s.data.as_slice(),
                s.sh_type,
                s.flags,
                s.addralign,
                0u64,
                0u64,
            )
        })
        .chain([
            (symtab.as_slice(), 2u32, 0u64, 8u64, strtab_idx as u64, 1u64),
            (strtab.as_slice(), 3, 0, 1, 0, 0),
            (shstr.as_slice(), 3, 0, 1, 0, 0),
        ])
        .collect();
    for (d, _, _, al, _, _) in &all {
        let al = (*al).max(1) as usize;
        let cur = ehsize + body.len();
        let pad = (al - cur % al) % al;
        body.resize(body.len() + pad, 0);
        offs.push((ehsize + body.len()) as u64);
        body.extend_from_slice(d);
    }
    let shoff = (ehsize + body.len()).div_ceil(8) * 8;
    let mut out = Vec::new();
    out.extend_from_slice(b"\x7fELF");
    out.push(if is64 { 2 } else { 1 });
    out.push(if e == Endian::Little { 1 } else { 2 });
    out.push(1);
    out.resize(16, 0);
    put(&mut out, e, 1, 2); // ET_REL
    put(&mut out, e, if is64 { 62 } else { 3 }, 2); // machine
    put(&mut out, e, 1, 4);
    put(&mut out, e, 0, w); // entry
    put(&mut out, e, 0, w); // phoff
    put(&mut out, e, shoff as u64, w);
    put(&mut out, e, 0, 4); // flags
    put(&mut out, e, ehsize as u64, 2);
    put(&mut out, e, 0, 2);
    put(&mut out, e, 0, 2);
    put(&mut out, e, shentsize as u64, 2);
    put(&mut out, e, (all.len() + 1) as u64, 2);
    put(&mut out, e, shstr_idx as u64, 2);
    assert_eq!(out.len(), ehsize);
    out.extend_from_slice(&body);
    out.resize(shoff, 0);
    out.resize(shoff + shentsize, 0); // null section
    for (i, (d, ty, fl, al, link, _)) in all.iter().enumerate() {
        let entsize = if i + 1 == symtab_idx {
            symsize as u64
        } else {
            0
        };
        let info = if i + 1 == symtab_idx {
            syms.len() as u64 + 1
        } else {
            0
        };
        put(&mut out, e, names[i], 4);
        put(&mut out, e, *ty as u64, 4);
        put(&mut out, e, *fl, w);
        put(&mut out, e, 0, w); // addr
        put(&mut out, e, offs[i], w);
        put(&mut out, e, d.len() as u64, w);
        put(&mut out, e, *link, 4);
        put(&mut out, e, info, 4);
        put(&mut out, e, *al, w);
        put(&mut out, e, entsize, w);
    }
    out
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_btfids-post"))
}

pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&std::ffi::OsStr]) -> Run {
    let o = std::process::Command::new(bin())
        .args(args)
        .output()
        .expect("run btfids-post");
    Run {
        ok: o.status.success(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Write `bytes` to `dir/name`; returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A path or string as a command-line argument.
pub fn os<P: AsRef<OsStr> + ?Sized>(p: &P) -> &OsStr {
    p.as_ref()
}

pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("btfids-post-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub use btfids_post::capture::{is_73_tool, knows_extended_sets};

/// The `tools/bpf/resolve_btfids/resolve_btfids` of every kernel tree `cargo xtask kernel`
/// built whose directory name starts with `prefix`, sorted.
fn cached_tools(prefix: &str) -> Vec<PathBuf> {
    let Some(home) = std::env::var_os("HOME") else {
        return Vec::new();
    };
    let cache = Path::new(&home).join(".cache/kfunc-args");
    let mut trees: Vec<PathBuf> = std::fs::read_dir(cache.join("kernel"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|d| d.file_name().to_string_lossy().starts_with(prefix) && d.path().is_dir())
        .map(|d| {
            d.path()
                .join("linux/tools/bpf/resolve_btfids/resolve_btfids")
        })
        .collect();
    trees.sort();
    trees
}

/// The stock resolve_btfids of Linux 6.12 (it resolves in place): $RESOLVE_BTFIDS, else the
/// one of an unpatched kernel built by `cargo xtask kernel`
/// (~/.cache/kfunc-args/kernel/unpatched-*/linux), else the manual build tree of this
/// project; 7.3 tools are passed over (they do not resolve in place).
pub fn stock_resolve_btfids() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("RESOLVE_BTFIDS") {
        let p = PathBuf::from(p);
        return (!is_73_tool(&p)).then_some(p);
    }
    let mut cands = cached_tools("unpatched-");
    if let Some(home) = std::env::var_os("HOME") {
        cands
            .push(Path::new(&home).join(
                ".cache/kfunc-args/manual/unpatched/tools/bpf/resolve_btfids/resolve_btfids",
            ));
    }
    cands.into_iter().find(|p| p.exists() && !is_73_tool(p))
}

/// The stock resolve_btfids of Linux 7.3: $RESOLVE_BTFIDS_73, else $RESOLVE_BTFIDS when it
/// is a 7.3 tool, else the one of a 7.3 kernel built by `cargo xtask kernel` (unpatched
/// trees first), else `~/k73-tools/tools/bpf/resolve_btfids/resolve_btfids` (built alone
/// from the pristine tree: `git archive pristine tools scripts include/uapi`, then `make -C
/// tools/bpf/resolve_btfids`).
pub fn stock_resolve_btfids_73() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("RESOLVE_BTFIDS_73") {
        return Some(PathBuf::from(p));
    }
    if let Ok(p) = std::env::var("RESOLVE_BTFIDS") {
        let p = PathBuf::from(p);
        if is_73_tool(&p) {
            return Some(p);
        }
    }
    let mut cands = cached_tools("unpatched-");
    cands.extend(cached_tools("patched-"));
    if let Some(home) = std::env::var_os("HOME") {
        cands.push(Path::new(&home).join("k73-tools/tools/bpf/resolve_btfids/resolve_btfids"));
    }
    cands.into_iter().find(|p| p.exists() && is_73_tool(p))
}

/// The patched Linux 7.3 resolve_btfids (a 7.3 tool that [`knows_extended_sets`]):
/// `$RESOLVE_BTFIDS_PATCHED`, else the newest
/// `~/.cache/kfunc-args/kernel/patched-*/linux/tools/bpf/resolve_btfids/resolve_btfids`.
/// `Err` says why there is none (the reason of a `SKIPPED` line).
pub fn patched_resolve_btfids_73() -> Result<PathBuf, String> {
    let fit = |p: &Path| -> Result<(), String> {
        if !p.exists() {
            Err(format!("{} does not exist", p.display()))
        } else if !is_73_tool(p) {
            Err(format!(
                "{} is not a Linux 7.3 resolve_btfids (no --patch_btfids)",
                p.display()
            ))
        } else if !knows_extended_sets(p) {
            Err(format!(
                "{} does not know extended kfunc sets (not built from a tree with patch 0002)",
                p.display()
            ))
        } else {
            Ok(())
        }
    };
    if let Some(p) = std::env::var_os("RESOLVE_BTFIDS_PATCHED") {
        let p = PathBuf::from(p);
        return fit(&p).map(|()| p);
    }
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for bin in cached_tools("patched-") {
        let Ok(t) = std::fs::metadata(&bin).and_then(|m| m.modified()) else {
            continue;
        };
        if fit(&bin).is_ok() && best.as_ref().is_none_or(|(bt, _)| t > *bt) {
            best = Some((t, bin));
        }
    }
    best.map(|(_, b)| b).ok_or_else(|| {
        "no patched Linux 7.3 resolve_btfids (set RESOLVE_BTFIDS_PATCHED=path, or build the \
         patched kernel: cargo xtask kernel)"
            .into()
    })
}

/// The files of one run of one tool in the Linux 7.3 flow: OBJ.BTF, OBJ.BTF_ids,
/// OBJ.BTF.base (each if written), OBJ afterwards.
#[derive(Debug, PartialEq, Eq)]
pub struct Outputs {
    pub ok: bool,
    pub btf: Option<Vec<u8>>,
    pub btf_ids: Option<Vec<u8>>,
    pub btf_base: Option<Vec<u8>>,
    pub obj: Vec<u8>,
}

pub fn outputs(ok: bool, obj: &Path) -> Outputs {
    let read = |suffix: &str| {
        let mut p = obj.as_os_str().to_owned();
        p.push(suffix);
        std::fs::read(PathBuf::from(p)).ok()
    };
    Outputs {
        ok,
        btf: read(".BTF"),
        btf_ids: read(".BTF_ids"),
        btf_base: read(".BTF.base"),
        obj: std::fs::read(obj).unwrap(),
    }
}

/// One run of [`run_tool_status`]: outputs, stderr, exit code (`None`: killed by a signal),
/// and the directory it ran in.
pub struct ToolRun {
    pub out: Outputs,
    pub stderr: String,
    pub code: Option<i32>,
    pub dir: PathBuf,
}

/// Run `tool ARGS OBJ` on a fresh copy `dir/<sub>/<name>` of `obj` (so that both tools
/// see the same file name, and the directory holds nothing else).
pub fn run_tool_status(
    tool: &Path,
    args: &[&OsStr],
    dir: &Path,
    sub: &str,
    name: &str,
    obj: &[u8],
) -> ToolRun {
    let d = dir.join(sub);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let p = write(&d, name, obj);
    let o = std::process::Command::new(tool)
        .args(args)
        .arg(&p)
        .output()
        .unwrap();
    ToolRun {
        out: outputs(o.status.success(), &p),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code(),
        dir: d,
    }
}

/// [`run_tool_status`]: the outputs and stderr.
pub fn run_tool(
    tool: &Path,
    args: &[&OsStr],
    dir: &Path,
    sub: &str,
    name: &str,
    obj: &[u8],
) -> (Outputs, String) {
    let r = run_tool_status(tool, args, dir, sub, name, obj);
    (r.out, r.stderr)
}

/// Run the stock tool and btfids-post with the same arguments on copies of `obj` (the
/// Linux 7.3 flow): both succeed, same output files byte for byte, same stderr, OBJ
/// unchanged.
pub fn same_as_stock(stock: &Path, args: &[&OsStr], dir: &Path, tag: &str, obj: &[u8]) -> Outputs {
    let s = run_tool_status(stock, args, dir, &format!("{tag}-stock"), "obj.ko", obj);
    let p = run_tool_status(&bin(), args, dir, &format!("{tag}-post"), "obj.ko", obj);
    assert!(s.out.ok, "{tag}: the stock tool failed: {}", s.stderr);
    assert!(p.out.ok, "{tag}: btfids-post failed: {}", p.stderr);
    assert_eq!(p.code, s.code, "{tag}: exit status differs");
    assert_eq!(p.out.obj, obj, "{tag}: btfids-post changed OBJ");
    assert!(s.out.btf.is_some(), "{tag}: stock wrote no OBJ.BTF");
    if s.out.btf != p.out.btf {
        panic!(
            "{tag}: OBJ.BTF differs from the stock tool's ({} vs {} bytes; see {})",
            s.out.btf.as_ref().map_or(0, Vec::len),
            p.out.btf.as_ref().map_or(0, Vec::len),
            s.dir.display()
        );
    }
    assert!(s.out.btf_ids == p.out.btf_ids, "{tag}: OBJ.BTF_ids differs");
    assert!(
        s.out.btf_base == p.out.btf_base,
        "{tag}: OBJ.BTF.base differs"
    );
    assert_eq!(p.stderr, s.stderr, "{tag}: stderr differs");
    p.out
}

/// The names of the files in `dir`, sorted.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Run the stock tool and btfids-post with the same arguments on copies of `obj` (the
/// Linux 7.3 flow): both must refuse it alike: the same failing exit status, `needle` in
/// both stderrs, nothing written beside OBJ, OBJ unchanged. Returns (stock, btfids-post)
/// runs. (The messages are not compared whole: btfids-post names the file in its one
/// error line, the stock tool may add a line saying which phase failed.)
pub fn refused_alike(
    stock: &Path,
    args: &[&OsStr],
    dir: &Path,
    tag: &str,
    obj: &[u8],
    needle: &str,
) -> (ToolRun, ToolRun) {
    let s = run_tool_status(stock, args, dir, &format!("{tag}-stock"), "obj.ko", obj);
    let p = run_tool_status(&bin(), args, dir, &format!("{tag}-post"), "obj.ko", obj);
    for (who, r) in [("stock", &s), ("btfids-post", &p)] {
        assert!(!r.out.ok, "{tag}: {who} accepted it: {}", r.stderr);
        assert!(r.code.is_some(), "{tag}: {who} was killed: {}", r.stderr);
        assert!(
            r.stderr.contains(needle),
            "{tag}: {who} stderr lacks '{needle}': {}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{tag}: {who}: {}", r.stderr);
        assert_eq!(r.out.obj, obj, "{tag}: {who} changed OBJ");
        assert_eq!(files_in(&r.dir), ["obj.ko"], "{tag}: {who} wrote files");
    }
    assert_eq!(
        p.code, s.code,
        "{tag}: exit status differs: {}{}",
        s.stderr, p.stderr
    );
    (s, p)
}

/// A C program linked against the machine's libbpf that loads a raw or ELF BTF file
/// (`btf__parse`, or `btf__parse_split` on a base) and prints every decl tag whose value
/// starts with `prefix` as `value FUNC-name component_idx`, one a line, in id order.
const LIBBPF_DECL_TAGS_C: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>

int main(int argc, char **argv)
{
	struct btf *base = NULL, *btf;
	unsigned int i, n, start = 1;

	if (argc < 3)
		return 2;
	if (argc > 3) {
		base = btf__parse(argv[3], NULL);
		if (!base) {
			fprintf(stderr, "btf__parse(%s): %s\n", argv[3], strerror(errno));
			return 1;
		}
		start = btf__type_cnt(base);
	}
	btf = base ? btf__parse_split(argv[1], base) : btf__parse(argv[1], NULL);
	if (!btf) {
		fprintf(stderr, "btf__parse(%s): %s\n", argv[1], strerror(errno));
		return 1;
	}
	n = btf__type_cnt(btf);
	for (i = start; i < n; i++) {
		const struct btf_type *t = btf__type_by_id(btf, i);
		const char *v;

		if (!btf_is_decl_tag(t))
			continue;
		v = btf__name_by_offset(btf, t->name_off);
		if (!v || strncmp(v, argv[2], strlen(argv[2])))
			continue;
		printf("%s %s %d\n", v,
		       btf__name_by_offset(btf, btf__type_by_id(btf, t->type)->name_off),
		       btf_decl_tag(t)->component_idx);
	}
	return 0;
}
"#;

/// The decl tags valued `prefix...` that the machine's libbpf reads from the BTF file
/// `btf` (split on `base` if given), as `value FUNC-name component_idx` lines; `None` (with
/// the reason) when no C compiler with libbpf's headers and library is there, `Some(Err)`
/// when libbpf refuses the file.
pub fn libbpf_decl_tags(
    btf: &Path,
    base: Option<&Path>,
    prefix: &str,
) -> Result<Result<Vec<String>, String>, String> {
    static TOOL: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let tool = TOOL.get_or_init(|| {
        let dir = tmpdir("libbpf-decl-tags");
        let src = write(&dir, "decl_tags.c", LIBBPF_DECL_TAGS_C.as_bytes());
        let exe = dir.join("decl_tags");
        let o = std::process::Command::new("cc")
            .arg("-O1")
            .arg("-o")
            .arg(&exe)
            .arg(&src)
            .arg("-lbpf")
            .output()
            .map_err(|e| format!("cc: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "cc -lbpf failed (libbpf-dev missing?): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Ok(exe)
    });
    let tool = tool.clone()?;
    let mut cmd = std::process::Command::new(tool);
    cmd.arg(btf).arg(prefix);
    if let Some(b) = base {
        cmd.arg(b);
    }
    let o = cmd.output().map_err(|e| format!("libbpf helper: {e}"))?;
    Ok(if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).trim().to_string())
    })
}

/// The C scalars every synthetic vmlinux of these tests starts with: `int`, `unsigned int`
/// and the typedef `u32`, as (int, unsigned int, u32) type ids.
pub fn add_int_u32(b: &mut btfids_post::btf::BtfBuilder) -> (u32, u32, u32) {
    use btfids_post::btf::{KIND_INT, KIND_TYPEDEF};
    let n = b.add_str("int");
    let int = b.add_type(n, KIND_INT, 0, 4, &[(1 << 24) | 32]);
    let n = b.add_str("unsigned int");
    let uint = b.add_type(n, KIND_INT, 0, 4, &[32]);
    let n = b.add_str("u32");
    let u32_ = b.add_type(n, KIND_TYPEDEF, 0, uint, &[]);
    (int, uint, u32_)
}
