//! Fuzz the BTF reader (base, and split on a small valid base) and the builder round trip.
#![no_main]

use btfids_post::btf::{Btf, BtfBuilder, KIND_INT};
use kfunc_layout::Endian;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = Btf::parse(data, None) {
        for t in b.all_types() {
            let _ = b.name(t.name_off);
            let _ = t.params().count();
        }
        // A parsed blob rebuilds into a blob that parses to the same types.
        let again = BtfBuilder::from_btf(&b).finish();
        let b2 = Btf::parse(&again, None).expect("rebuilt BTF parses");
        assert_eq!(b2.type_count(), b.type_count());
    }
    let mut base = BtfBuilder::new(Endian::Little, None);
    let n = base.add_str("int");
    base.add_type(n, KIND_INT, 0, 4, &[32]);
    let base_bytes = base.finish();
    let base = Btf::parse(&base_bytes, None).unwrap();
    if let Ok(s) = Btf::parse(data, Some(&base)) {
        for t in s.all_types() {
            let _ = s.name(t.name_off);
        }
    }
});
