//! `check` (Linux 6.12 flow, nothing written): the differences between `.BTF_ids` as found
//! and as the patch phase would write it, one line each.

use crate::object::{Object, BTF_IDS_SECTION};
use kfunc_layout::SET_HEADER_SIZE;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Differences between the object's `.BTF_ids` (`old`) and the patched contents (`new`).
pub fn diff_ids(o: &Object<'_>, new: &[u8]) -> Vec<String> {
    let (old, e, ids_addr, sets) = (o.ids_data(), o.endian(), o.ids_addr(), &o.sets);
    let mut out = Vec::new();
    let in_set = |off: usize| sets.iter().any(|st| off >= st.off && off < st.end());
    for (k, tree) in o.symbols.ids.iter() {
        for (name, sym) in tree {
            for &a in &sym.addrs {
                let off = (a.wrapping_sub(ids_addr) / 4 * 4) as usize;
                if in_set(off) {
                    continue;
                }
                let (have, want) = (e.u32(old, off), e.u32(new, off));
                if have != want {
                    out.push(format!(
                        "section {BTF_IDS_SECTION}: {} '{}' at offset {off}: id {}, expected {}",
                        k.name(),
                        s(name),
                        have.unwrap_or(0),
                        want.unwrap_or(0)
                    ));
                }
            }
        }
    }
    for st in sets {
        let cnt = st.stored_cnt(old, e).unwrap_or(0);
        let want_cnt = st.stored_cnt(new, e).unwrap_or(0);
        if cnt != want_cnt {
            out.push(format!(
                "set '{}': count {cnt}, expected {want_cnt}",
                s(st.name)
            ));
        }
        // Everything after the count (the set8 header flags, the entries).
        let (after_cnt, end) = (st.off + SET_HEADER_SIZE, st.end());
        if old[after_cnt..end] != new[after_cnt..end] {
            let ds = st.layout.data_stride();
            let bad = (0..st.cnt).find(|&i| {
                let at = st.entry_at(i);
                old[at..at + ds] != new[at..at + ds]
            });
            let ids: Vec<u32> = (0..st.cnt)
                .map(|i| st.entry(old, i, e).map_or(0, |en| en.id()))
                .collect();
            let sorted = ids.windows(2).all(|w| w[0] <= w[1]);
            out.push(format!(
                "set '{}': entries are not the resolved, sorted ones{}{}",
                s(st.name),
                bad.map_or(String::new(), |i| format!(
                    " (first difference at entry {i})"
                )),
                if sorted { "" } else { "; ids are not sorted" }
            ));
        }
    }
    if out.is_empty() && old != new {
        let off = old.iter().zip(new).position(|(a, b)| a != b).unwrap_or(0);
        out.push(format!(
            "section {BTF_IDS_SECTION}: differs at offset {off}"
        ));
    }
    out
}
