//! An index of the NUL-terminated strings of a BTF string section: content → offset of its
//! first occurrence, as libbpf's `strset` keeps it. Open addressing over `u32` offsets
//! into the section, which the caller passes to every call (the section may grow between
//! calls); nothing is allocated per string.

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[inline]
fn mix(h: u64, v: u64) -> u64 {
    (h.rotate_left(5) ^ v).wrapping_mul(K)
}

#[inline]
fn fold(h: u64, len: usize) -> u32 {
    let h = mix(h, len as u64);
    (h ^ (h >> 29) ^ (h >> 47)) as u32
}

/// The hash of a string's bytes (FxHash-style, eight bytes at a time, the last ones
/// zero-padded, then the length).
pub fn hash_bytes(s: &[u8]) -> u32 {
    let mut h = 0u64;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        h = mix(h, u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(b));
    }
    fold(h, s.len())
}

/// [`hash_bytes`] and the length of the string at `off` of `data` (up to its NUL, or the
/// end of `data`), in one pass.
pub fn hash_at(data: &[u8], off: usize) -> (u32, usize) {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut h = 0u64;
    let mut p = off.min(data.len());
    loop {
        let w = match data.get(p..p + 8) {
            Some(b) => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
            None => {
                let mut b = [0u8; 8];
                b[..data.len() - p].copy_from_slice(&data[p..]);
                u64::from_le_bytes(b)
            }
        };
        let z = w.wrapping_sub(LO) & !w & HI;
        if z == 0 {
            h = mix(h, w);
            p += 8;
            continue;
        }
        let n = (z.trailing_zeros() / 8) as usize;
        if n > 0 {
            h = mix(h, w & ((1u64 << (8 * n)) - 1));
        }
        let len = p + n - off.min(data.len());
        return (fold(h, len), len);
    }
}

/// An index of the strings of a section built from their hashes, sorted: `(hash << 32 |
/// offset)` ascending (the offsets of one hash ascending). Made in one sequential pass and
/// a radix sort, no hash table; lookups are binary searches.
#[derive(Debug, Clone, Default)]
pub struct SortedIdx {
    keys: Vec<u64>,
}

impl SortedIdx {
    /// From `(hash, offset)` pairs in ascending offset order.
    pub fn from_pairs(mut keys: Vec<u64>) -> Self {
        // LSD radix sort on the hash (the upper 32 bits), 8 bits a pass: stable, so the
        // offsets of one hash stay ascending.
        let mut tmp = vec![0u64; keys.len()];
        for shift in [32u32, 40, 48, 56] {
            let mut count = [0usize; 257];
            for &k in &keys {
                count[((k >> shift) & 0xff) as usize + 1] += 1;
            }
            for i in 1..257 {
                count[i] += count[i - 1];
            }
            for &k in &keys {
                let b = ((k >> shift) & 0xff) as usize;
                tmp[count[b]] = k;
                count[b] += 1;
            }
            std::mem::swap(&mut keys, &mut tmp);
        }
        SortedIdx { keys }
    }

    /// The first pair of equal hashes whose strings (in `data`) are equal too: a duplicate.
    pub fn has_duplicate(&self, data: &[u8]) -> bool {
        self.keys.windows(2).any(|w| {
            w[0] >> 32 == w[1] >> 32
                && str_at(data, (w[0] as u32) as usize) == str_at(data, (w[1] as u32) as usize)
        })
    }

    /// Index every string of `data` (offsets ascending within a hash: a lookup finds the
    /// first occurrence).
    pub fn build(data: &[u8]) -> Self {
        let mut pairs = Vec::with_capacity(data.len() / 12 + 16);
        let mut off = 0usize;
        while off < data.len() {
            let (h, len) = hash_at(data, off);
            pairs.push((u64::from(h) << 32) | off as u64);
            off += len + 1;
        }
        SortedIdx::from_pairs(pairs)
    }

    /// Call `f` with the values (lower 32 bits, ascending) of every run of two or more
    /// keys of equal hash.
    pub fn for_each_equal_hash_run(&self, mut f: impl FnMut(&[u32])) {
        let mut run: Vec<u32> = Vec::new();
        let mut i = 0;
        while i < self.keys.len() {
            let h = self.keys[i] >> 32;
            let mut j = i + 1;
            while j < self.keys.len() && self.keys[j] >> 32 == h {
                j += 1;
            }
            if j - i > 1 {
                run.clear();
                run.extend(self.keys[i..j].iter().map(|&k| k as u32));
                f(&run);
            }
            i = j;
        }
    }

    /// The first value (lower 32 bits) of hash `h` that `is` accepts.
    pub fn find_by(&self, h: u32, mut is: impl FnMut(u32) -> bool) -> Option<u32> {
        let h = u64::from(h);
        let from = self.keys.partition_point(|&k| k >> 32 < h);
        self.keys[from..]
            .iter()
            .take_while(|&&k| k >> 32 == h)
            .map(|&k| k as u32)
            .find(|&v| is(v))
    }

    /// The offset of `s` in `data`, if indexed (the first, if several).
    pub fn find(&self, data: &[u8], s: &[u8]) -> Option<u32> {
        let h = u64::from(hash_bytes(s));
        let from = self.keys.partition_point(|&k| k >> 32 < h);
        self.keys[from..]
            .iter()
            .take_while(|&&k| k >> 32 == h)
            .map(|&k| k as u32)
            .find(|&o| {
                let o = o as usize;
                data.get(o..o + s.len()) == Some(s) && data.get(o + s.len()) == Some(&0)
            })
    }
}

/// The length of the string at the start of `tail` (up to its NUL, or all of `tail`),
/// eight bytes at a time (BTF names are short: this beats `memchr`'s setup).
#[inline]
pub fn str_len(tail: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut p = 0;
    while let Some(b) = tail.get(p..p + 8) {
        let w = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        let z = w.wrapping_sub(LO) & !w & HI;
        if z != 0 {
            return p + (z.trailing_zeros() / 8) as usize;
        }
        p += 8;
    }
    p + tail[p..]
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(tail.len() - p)
}

/// The first (up to) eight bytes of the string at `off` of `data`, zero-padded, as a
/// little-endian `u64`: a cheap key to filter names by before comparing them.
#[inline]
pub fn prefix8(data: &[u8], off: usize) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let w = match data.get(off..off + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
        None => {
            let mut b = [0u8; 8];
            let tail = data.get(off..).unwrap_or_default();
            b[..tail.len()].copy_from_slice(tail);
            u64::from_le_bytes(b)
        }
    };
    let z = w.wrapping_sub(LO) & !w & HI;
    if z == 0 {
        return w;
    }
    let n = z.trailing_zeros() / 8;
    if n == 0 {
        0
    } else {
        w & (u64::MAX >> (64 - 8 * n))
    }
}

/// [`prefix8`] of a string given as bytes.
pub fn prefix8_of(s: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = s.len().min(8);
    b[..n].copy_from_slice(&s[..n]);
    u64::from_le_bytes(b)
}

/// The string at `off` of `data` (up to its NUL; the rest of `data` without one).
#[inline]
pub fn str_at(data: &[u8], off: usize) -> &[u8] {
    let tail = data.get(off..).unwrap_or_default();
    &tail[..str_len(tail)]
}

/// The NUL-terminated string at `off` of `data`, `None` past the end or without a NUL
/// (`btf__str_by_offset`).
#[inline]
pub fn cstr_at(data: &[u8], off: usize) -> Option<&[u8]> {
    let tail = data.get(off..)?;
    let n = str_len(tail);
    (n < tail.len()).then(|| &tail[..n])
}

/// Every string start of `data`: `(offset, bytes)`, in order.
pub fn string_starts(data: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        if off >= data.len() {
            return None;
        }
        let s = str_at(data, off);
        let item = (off as u32, s);
        off += s.len() + 1;
        Some(item)
    })
}

/// The index (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct StrIdx {
    /// `hash << 32 | (offset + 1)`; 0 is an empty slot.
    slots: Vec<u64>,
    len: usize,
}

impl StrIdx {
    /// An empty index with room for `n` strings.
    pub fn with_capacity(n: usize) -> Self {
        let cap = (n.max(12) * 4 / 3 + 1).next_power_of_two();
        StrIdx {
            slots: vec![0; cap],
            len: 0,
        }
    }

    /// Index every string of `data`, keeping the first offset of each content.
    pub fn build(data: &[u8]) -> Self {
        let n = data.iter().filter(|&&b| b == 0).count();
        let mut idx = StrIdx::with_capacity(n + 1);
        for (off, s) in string_starts(data) {
            let _ = idx.find_or_insert(data, s, off);
        }
        idx
    }

    /// Number of strings indexed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn probe(&self, data: &[u8], s: &[u8], h: u32) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut i = (h.wrapping_mul(0x9e37_79b9) >> 7) as usize & mask;
        loop {
            let e = self.slots[i];
            if e == 0 {
                return Err(i);
            }
            if (e >> 32) as u32 == h {
                let off = (e as u32 - 1) as usize;
                if data.get(off..off + s.len()) == Some(s) && data.get(off + s.len()) == Some(&0) {
                    return Ok(off as u32);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// The offset of `s` in `data`, if indexed.
    pub fn find(&self, data: &[u8], s: &[u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.probe(data, s, hash_bytes(s)).ok()
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = vec![0; (old.len() * 2).max(16)];
        let mask = self.slots.len() - 1;
        for e in old.into_iter().filter(|&e| e != 0) {
            let h = (e >> 32) as u32;
            let mut i = (h.wrapping_mul(0x9e37_79b9) >> 7) as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = e;
        }
    }

    /// The offset of `s` if indexed; else `off` is recorded as its offset (the caller has
    /// put, or is about to put, `s` and a NUL there) and returned as `Err`.
    pub fn find_or_insert(&mut self, data: &[u8], s: &[u8], off: u32) -> Result<u32, u32> {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let h = hash_bytes(s);
        match self.probe(data, s, h) {
            Ok(o) => Ok(o),
            Err(slot) => {
                self.slots[slot] = (u64::from(h) << 32) | u64::from(off + 1);
                self.len += 1;
                Err(off)
            }
        }
    }

    /// Record `s` at `off` without looking for it first (the caller knows it is new).
    pub fn insert_new(&mut self, s: &[u8], off: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let h = hash_bytes(s);
        let mask = self.slots.len() - 1;
        let mut i = (h.wrapping_mul(0x9e37_79b9) >> 7) as usize & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = (u64::from(h) << 32) | u64::from(off + 1);
        self.len += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_occurrence_wins_and_growth_keeps_entries() {
        let data = b"\0abc\0de\0abc\0\0xyz\0";
        let idx = StrIdx::build(data);
        assert_eq!(idx.find(data, b""), Some(0));
        assert_eq!(idx.find(data, b"abc"), Some(1));
        assert_eq!(idx.find(data, b"de"), Some(5));
        assert_eq!(idx.find(data, b"xyz"), Some(13));
        assert_eq!(idx.find(data, b"ab"), None);
        let mut buf = vec![0u8];
        let mut idx = StrIdx::with_capacity(1);
        for i in 0..1000 {
            let s = format!("s{i}");
            let off = buf.len() as u32;
            assert_eq!(idx.find_or_insert(&buf, s.as_bytes(), off), Err(off));
            buf.extend_from_slice(s.as_bytes());
            buf.push(0);
        }
        assert_eq!(idx.len(), 1000);
        assert_eq!(idx.find(&buf, b"s0"), Some(1));
        assert_eq!(
            idx.find_or_insert(&buf, b"s999", 0),
            Ok(idx.find(&buf, b"s999").unwrap())
        );
    }
}
