//! ELF reading (through `object::read::elf`, zero-copy) and the few byte offsets needed to
//! patch section headers in place.

use kfunc_layout::Endian;
use object::elf::{FileHeader32, FileHeader64, SHT_NOBITS, SHT_SYMTAB};
use object::read::elf::{FileHeader, SectionHeader, Sym};
use object::{Endianness, SectionIndex, SymbolIndex};

/// A section header, decoded.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    /// Section index.
    pub index: usize,
    /// Name (from the section header string table).
    pub name: &'a [u8],
    /// `sh_type`.
    pub sh_type: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_addr`.
    pub addr: u64,
    /// `sh_offset`.
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
    /// `sh_link`.
    pub link: u32,
    /// `sh_addralign`.
    pub addralign: u64,
    /// File offset of this section header.
    pub hdr_off: u64,
}

impl Section<'_> {
    /// The name as text.
    pub fn name_str(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }
}

/// A symbol, decoded.
#[derive(Debug, Clone)]
pub struct Symbol<'a> {
    /// Name.
    pub name: &'a [u8],
    /// `st_value`.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// Section index (extended indexes resolved), `None` for undefined/special.
    pub section: Option<usize>,
}

/// A parsed ELF file borrowing its bytes.
#[derive(Debug)]
pub struct ElfFile<'a> {
    /// The whole file.
    pub data: &'a [u8],
    /// Byte order.
    pub endian: Endian,
    /// ELFCLASS64?
    pub is64: bool,
    /// `e_type`.
    pub e_type: u16,
    /// `e_shoff`.
    pub shoff: u64,
    /// `e_shentsize`.
    pub shentsize: u64,
    /// Sections, index 0 being the null section.
    pub sections: Vec<Section<'a>>,
}

/// `ET_REL`.
pub const ET_REL: u16 = 1;
/// `SHF_COMPRESSED`.
pub const SHF_COMPRESSED: u64 = 1 << 11;

fn conv(e: Endianness) -> Endian {
    match e {
        Endianness::Little => Endian::Little,
        Endianness::Big => Endian::Big,
    }
}

fn parse_generic<'a, H: FileHeader<Endian = Endianness>>(
    data: &'a [u8],
) -> Result<ElfFile<'a>, String> {
    let h = H::parse(data).map_err(|e| format!("ELF header: {e}"))?;
    let endian = h.endian().map_err(|e| format!("ELF header: {e}"))?;
    let table = h
        .sections(endian, data)
        .map_err(|e| format!("section headers: {e}"))?;
    let shoff: u64 = h.e_shoff(endian).into();
    let shentsize = u64::from(h.e_shentsize(endian));
    let mut sections = Vec::with_capacity(table.len());
    for (i, s) in table.enumerate() {
        let name = if i.0 == 0 {
            &b""[..]
        } else {
            table
                .section_name(endian, s)
                .map_err(|e| format!("section {}: name: {e}", i.0))?
        };
        let sec = Section {
            index: i.0,
            name,
            sh_type: s.sh_type(endian),
            flags: s.sh_flags(endian).into(),
            addr: s.sh_addr(endian).into(),
            offset: s.sh_offset(endian).into(),
            size: s.sh_size(endian).into(),
            link: s.sh_link(endian),
            addralign: s.sh_addralign(endian).into(),
            hdr_off: shoff + shentsize * i.0 as u64,
        };
        if i.0 != 0
            && sec.sh_type != SHT_NOBITS
            && sec
                .offset
                .checked_add(sec.size)
                .is_none_or(|e| e > data.len() as u64)
        {
            return Err(format!(
                "section {} ({}): data [{:#x}, +{:#x}) beyond the end of the {}-byte file",
                i.0,
                sec.name_str(),
                sec.offset,
                sec.size,
                data.len()
            ));
        }
        sections.push(sec);
    }
    Ok(ElfFile {
        data,
        endian: conv(endian),
        is64: h.is_type_64(),
        e_type: h.e_type(endian),
        shoff,
        shentsize,
        sections,
    })
}

fn symbols_generic<'a, H: FileHeader<Endian = Endianness>>(
    data: &'a [u8],
    in_section: usize,
) -> Result<Vec<Symbol<'a>>, String> {
    let h = H::parse(data).map_err(|e| format!("ELF header: {e}"))?;
    let endian = h.endian().map_err(|e| format!("ELF header: {e}"))?;
    let table = h
        .sections(endian, data)
        .map_err(|e| format!("section headers: {e}"))?;
    let syms = table
        .symbols(endian, data, SHT_SYMTAB)
        .map_err(|e| format!("symbol table: {e}"))?;
    let mut out = Vec::new();
    for (i, s) in syms.symbols().iter().enumerate() {
        let shndx = s.st_shndx(endian);
        // Cheap filter first: most symbols are in other sections.
        if shndx != object::elf::SHN_XINDEX && usize::from(shndx) != in_section {
            continue;
        }
        let sec = syms
            .symbol_section(endian, s, SymbolIndex(i))
            .map_err(|e| format!("symbol {i}: {e}"))?;
        if sec != Some(SectionIndex(in_section)) {
            continue;
        }
        let name = syms
            .symbol_name(endian, s)
            .map_err(|e| format!("symbol {i}: name: {e}"))?;
        out.push(Symbol {
            name,
            value: s.st_value(endian).into(),
            size: s.st_size(endian).into(),
            section: sec.map(|x| x.0),
        });
    }
    Ok(out)
}

impl<'a> ElfFile<'a> {
    /// Parse the ELF header and section headers.
    pub fn parse(data: &'a [u8]) -> Result<Self, String> {
        if data.len() < 16 || &data[..4] != b"\x7fELF" {
            return Err("not an ELF file (bad magic or too short)".into());
        }
        match data[4] {
            1 => parse_generic::<FileHeader32<Endianness>>(data),
            2 => parse_generic::<FileHeader64<Endianness>>(data),
            c => Err(format!("ELF header: unknown class {c}")),
        }
    }

    /// The only section named `name`; an error if there are several.
    pub fn section_by_name(&self, name: &str) -> Result<Option<&Section<'a>>, String> {
        let mut found = None;
        for s in &self.sections[1.min(self.sections.len())..] {
            if s.name == name.as_bytes() {
                if found.is_some() {
                    return Err(format!("duplicate section {name}"));
                }
                found = Some(s);
            }
        }
        Ok(found)
    }

    /// The only `SHT_SYMTAB` section.
    pub fn symtab(&self) -> Result<Option<&Section<'a>>, String> {
        let mut it = self.sections.iter().filter(|s| s.sh_type == SHT_SYMTAB);
        let first = it.next();
        if it.next().is_some() {
            return Err("more than one SHT_SYMTAB section".into());
        }
        Ok(first)
    }

    /// A section's bytes (an error for SHT_NOBITS).
    pub fn section_data(&self, s: &Section<'_>) -> Result<&'a [u8], String> {
        if s.sh_type == SHT_NOBITS {
            return Err(format!("section {} has no data (SHT_NOBITS)", s.name_str()));
        }
        Ok(&self.data[s.offset as usize..(s.offset + s.size) as usize])
    }

    /// Symbols of the symbol table that are defined in section `index`.
    pub fn symbols_in(&self, index: usize) -> Result<Vec<Symbol<'a>>, String> {
        if self.is64 {
            symbols_generic::<FileHeader64<Endianness>>(self.data, index)
        } else {
            symbols_generic::<FileHeader32<Endianness>>(self.data, index)
        }
    }

    /// File offset and width of `e_shoff` in the ELF header.
    pub fn e_shoff_field(&self) -> (usize, usize) {
        if self.is64 {
            (0x28, 8)
        } else {
            (0x20, 4)
        }
    }
    /// Offset inside a section header, and width, of `sh_offset`.
    pub fn sh_offset_field(&self) -> (usize, usize) {
        if self.is64 {
            (24, 8)
        } else {
            (16, 4)
        }
    }
    /// Offset inside a section header, and width, of `sh_size`.
    pub fn sh_size_field(&self) -> (usize, usize) {
        if self.is64 {
            (32, 8)
        } else {
            (20, 4)
        }
    }
    /// Offset inside a section header, and width, of `sh_addralign`.
    pub fn sh_addralign_field(&self) -> (usize, usize) {
        if self.is64 {
            (48, 8)
        } else {
            (32, 4)
        }
    }

    /// Encode an address-sized value in the file's byte order and class.
    pub fn word_bytes(&self, v: u64, width: usize) -> Vec<u8> {
        match (width, self.endian) {
            (8, Endian::Little) => v.to_le_bytes().to_vec(),
            (8, Endian::Big) => v.to_be_bytes().to_vec(),
            (_, e) => e.u32_bytes(v as u32).to_vec(),
        }
    }
}
