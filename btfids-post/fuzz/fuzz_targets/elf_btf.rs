//! Fuzz the ELF reader, symbol collection, set decoding, `.kfunc.meta` and `.BTF` parsing
//! on arbitrary bytes: every input must give Ok or Err, never a panic.
#![no_main]

use btfids_post::btf::Btf;
use btfids_post::elf::ElfFile;
use btfids_post::object::BTF_IDS_SECTION;
use btfids_post::phase::collect::{collect_symbols, set_infos};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(elf) = ElfFile::parse(data) else { return };
    let path = Path::new("fuzz");
    if let Ok(Some(meta)) = elf.section_by_name(kfunc_layout::META_SECTION) {
        if let Ok(d) = elf.section_data(meta) {
            let _ = kfunc_layout::MetaRecord::read_all(d, elf.endian);
        }
    }
    if let Ok(Some(btf)) = elf.section_by_name(".BTF") {
        if let Ok(d) = elf.section_data(btf) {
            if let Ok(b) = Btf::parse(d, None) {
                for t in b.all_types() {
                    let _ = b.str_at(t.name_off);
                    let _ = b.resolve_alias(t.id);
                }
            }
        }
    }
    let Ok(Some(ids)) = elf.section_by_name(BTF_IDS_SECTION) else { return };
    let ids = ids.clone();
    let Ok(syms) = collect_symbols(path, &elf, &ids) else { return };
    let Ok(d) = elf.section_data(&ids) else { return };
    let _ = set_infos(path, &syms, ids.addr, d, elf.endian);
});
