//! Arbitrary social-security card records: the TLV parser and the identity builder refuse bad
//! input with a typed failure and never panic.
#![no_main]

use bianmin_idcard::sscard::{identity_from, parse_tlv};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let mut tags = BTreeMap::new();
    for record in data.split(|b| *b == 0xFE) {
        let _ = parse_tlv(record, &mut tags);
    }
    let _ = identity_from(&tags);
});
