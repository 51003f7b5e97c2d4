//! Phase `resolve` (main.c's `symbols_resolve`): every collected name to its BTF id, in
//! type id order, first match wins, with main.c's warnings.

use crate::btf::Btf;
use crate::btfmut::Sorted;
use crate::fxhash::FxBuild;
use crate::object::{IdKind, Object, PerKind, Symbols};
use crate::Error;
use std::collections::HashMap;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What [`resolve`] needs of a BTF: every type's kind and name in id order.
pub trait Names {
    /// `(id, kind, name_off)` of every type, base first.
    fn for_each_kind_name(&self, f: &mut impl FnMut(u32, u32, u32));
    /// The string at `off` (`None`: not a valid offset).
    fn str_at(&self, off: u32) -> Option<&[u8]>;
    /// [`crate::strset::prefix8`] of the string at `off` (`None`: not a valid offset).
    fn name_prefix8(&self, off: u32) -> Option<u64>;
}

impl Names for Btf<'_> {
    fn for_each_kind_name(&self, f: &mut impl FnMut(u32, u32, u32)) {
        Btf::for_each_kind_name(self, f)
    }
    fn str_at(&self, off: u32) -> Option<&[u8]> {
        Btf::str_at(self, off)
    }
    fn name_prefix8(&self, off: u32) -> Option<u64> {
        Btf::name_prefix8(self, off)
    }
}

impl Names for Sorted<'_> {
    fn for_each_kind_name(&self, f: &mut impl FnMut(u32, u32, u32)) {
        Sorted::for_each_kind_name(self, f)
    }
    fn str_at(&self, off: u32) -> Option<&[u8]> {
        Sorted::str_at(self, off)
    }
    fn name_prefix8(&self, off: u32) -> Option<u64> {
        Sorted::name_prefix8(self, off)
    }
}

/// [`resolve`] of the object's symbols against `names` (the final BTF of the Linux 7.3
/// flow, not parsed again); an error on a malformed BTF names the file the BTF came
/// from, `btf_path`.
pub fn symbols_resolve_with(
    o: &mut Object<'_>,
    names: &impl Names,
    btf_path: &std::path::Path,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    resolve(&mut o.symbols, names, warnings).map_err(|e| Error::at(btf_path, e))
}

/// [`resolve`] of the object's symbols against its BTF ([`Object::btf`]); an error on a
/// malformed BTF names the file the BTF came from, `btf_path`.
pub fn symbols_resolve(
    o: &mut Object<'_>,
    btf_path: &std::path::Path,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    let btf = o
        .btf
        .as_ref()
        .ok_or_else(|| Error::at(o.path, "internal: resolve before load_btf"))?;
    resolve(&mut o.symbols, btf, warnings).map_err(|e| Error::at(btf_path, e))
}

/// Every name of `syms` to its BTF id, exactly as main.c's `symbols_resolve`.
pub fn resolve(
    syms: &mut Symbols<'_>,
    btf: &impl Names,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    let mut nr = syms.nr.clone();
    let mut lookup: PerKind<HashMap<&[u8], u32, FxBuild>> = PerKind::default();
    for (k, tree) in syms.ids.iter() {
        lookup[k] = tree.keys().map(|&n| (n, 0)).collect();
    }
    if nr.iter().all(|(_, &n)| n == 0) {
        return Ok(());
    }
    // The first eight bytes of every wanted name: most BTF names are not wanted, and a
    // name whose first bytes no symbol has needs no lookup (a bad offset still fails).
    let prefixes: std::collections::HashSet<u64, FxBuild> = syms
        .ids
        .iter()
        .flat_map(|(_, tree)| tree.keys().map(|n| crate::strset::prefix8_of(n)))
        .collect();
    let mut failed = None;
    btf.for_each_kind_name(&mut |id, kind, name_off| {
        let Some(k) = IdKind::of_btf_kind(kind) else {
            return;
        };
        if nr[k] == 0 || failed.is_some() {
            return;
        }
        match btf.name_prefix8(name_off) {
            Some(p) if !prefixes.contains(&p) => return,
            Some(_) => {}
            None => {
                failed = Some(id);
                return;
            }
        }
        let Some(name) = btf.str_at(name_off) else {
            failed = Some(id);
            return;
        };
        if let Some(slot) = lookup[k].get_mut(name) {
            if *slot != 0 {
                warnings.push(format!(
                    "WARN: multiple IDs found for '{}': {}, {} - using {}",
                    s(name),
                    *slot,
                    id,
                    *slot
                ));
            } else {
                *slot = id;
                nr[k] -= 1;
            }
        }
    });
    if let Some(id) = failed {
        return Err(Error(format!(
            "FAILED: malformed BTF, can't resolve name for ID {id}"
        )));
    }
    for k in IdKind::ALL {
        for (name, sym) in syms.ids[k].iter_mut() {
            sym.id = lookup[k][name];
        }
    }
    Ok(())
}
