//! The social-security card (社会保障卡, LD/T 32.5) over APDUs: SELECT the SSSE application, READ
//! RECORD from EF05 (card data) and EF06 (holder data). Records are TLV; no PIN is needed for
//! these files.
//!
//! EF05: 01 card identifier, 02 card type, 03 version, 04 issuing organisation, 05 issue date,
//! 06 valid until (BCD YYYYMMDD), 07 card number. EF06: 08 social-security number (the citizen
//! ID number, 18 characters), 09 name (GBK, 30 bytes), 4E name extension, 0A sex ('1'/'2'),
//! 0B ethnicity (BCD), 0C birthplace (BCD), 0D birth date (BCD YYYYMMDD).

use crate::gb11643::IdNumber;
use crate::identity::{CardType, Identity, Sex, ValidTo};
use crate::reader::ReadFailure;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// SELECT by DF name "sx1.sh.社会保障" (the name in GBK).
pub const SELECT_SSSE: [u8; 20] = [
    0x00, 0xA4, 0x04, 0x00, 0x0F, 0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1,
    0xB1, 0xA3, 0xD5, 0xCF,
];

/// READ RECORD `rec` of the file with short identifier `sfi`.
pub fn read_record(sfi: u8, rec: u8) -> [u8; 5] {
    [0x00, 0xB2, rec, (sfi << 3) | 0x04, 0x00]
}

pub const EF05: u8 = 5;
pub const EF06: u8 = 6;

/// Parses TLV items (one-byte tag, one-byte length) into `into`; a truncated item is an error.
pub fn parse_tlv(data: &[u8], into: &mut BTreeMap<u8, Vec<u8>>) -> Result<(), ReadFailure> {
    let mut i = 0;
    while i < data.len() {
        if data[i] == 0x00 || data[i] == 0xFF {
            // Padding after the last item.
            break;
        }
        if i + 2 > data.len() {
            return Err(ReadFailure::Garbled("TLV item without a length".into()));
        }
        let (tag, len) = (data[i], data[i + 1] as usize);
        if i + 2 + len > data.len() {
            return Err(ReadFailure::Garbled(format!(
                "TLV item {tag:02X} longer than its record"
            )));
        }
        into.insert(tag, data[i + 2..i + 2 + len].to_vec());
        i += 2 + len;
    }
    Ok(())
}

fn bcd_date(v: &[u8]) -> Option<NaiveDate> {
    if v.len() != 4 {
        return None;
    }
    let digits: String = v.iter().map(|b| format!("{b:02X}")).collect();
    NaiveDate::parse_from_str(&digits, "%Y%m%d").ok()
}

fn gbk(v: &[u8]) -> String {
    let (s, _, _) = encoding_rs::GB18030.decode(v);
    s.trim_matches(|c: char| c == ' ' || c == '\0' || c == '\u{3000}')
        .to_string()
}

/// Builds the identity from the tags of EF05 and EF06.
pub fn identity_from(tags: &BTreeMap<u8, Vec<u8>>) -> Result<Identity, ReadFailure> {
    let need = |t: u8| {
        tags.get(&t)
            .ok_or_else(|| ReadFailure::Garbled(format!("record {t:02X} missing")))
    };
    let number = gbk(need(0x08)?);
    let id = IdNumber::parse(&number).map_err(|e| ReadFailure::InvalidNumber(e.to_string()))?;
    let mut name = gbk(need(0x09)?);
    if let Some(ext) = tags.get(&0x4E) {
        name.push_str(&gbk(ext));
    }
    let birth = tags
        .get(&0x0D)
        .and_then(|v| bcd_date(v))
        .or(id.birth_date())
        .ok_or_else(|| ReadFailure::Garbled("no birth date".into()))?;
    if id.birth_date() != Some(birth) {
        return Err(ReadFailure::Garbled(
            "the birth date does not match the number".into(),
        ));
    }
    let sex = match tags.get(&0x0A).map(|v| v.first().copied()) {
        Some(Some(b'1')) => Sex::Male,
        Some(Some(b'2')) => Sex::Female,
        _ => {
            if id.is_male() {
                Sex::Male
            } else {
                Sex::Female
            }
        }
    };
    if (sex == Sex::Male) != id.is_male() {
        return Err(ReadFailure::Garbled(
            "the sex does not match the number".into(),
        ));
    }
    let ethnicity = tags
        .get(&0x0B)
        .and_then(|v| v.first())
        .map(|b| (b >> 4) * 10 + (b & 0x0F));
    let valid_to = match tags.get(&0x06).and_then(|v| bcd_date(v)) {
        Some(d) if d.format("%Y").to_string() != "9999" => ValidTo::Date(d),
        _ => ValidTo::LongTerm,
    };
    Ok(Identity {
        card_type: CardType::SocialSecurity,
        name,
        sex,
        id_number: id,
        ethnicity,
        birth_date: birth,
        address: String::new(),
        authority: tags.get(&0x04).map(|v| gbk(v)).unwrap_or_default(),
        valid_from: tags.get(&0x05).and_then(|v| bcd_date(v)),
        valid_to,
        card_number: tags.get(&0x07).map(|v| gbk(v)),
        photo_wlt: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, v: &[u8]) -> Vec<u8> {
        let mut out = vec![tag, v.len() as u8];
        out.extend_from_slice(v);
        out
    }

    #[test]
    fn select_names_the_ssse_application() {
        let (name, _, _) = encoding_rs::GBK.encode("sx1.sh.社会保障");
        assert_eq!(&SELECT_SSSE[5..], &*name);
        assert_eq!(SELECT_SSSE[4] as usize, name.len());
        assert_eq!(read_record(EF06, 2), [0x00, 0xB2, 0x02, 0x34, 0x00]);
    }

    #[test]
    fn records_make_an_identity() {
        let resident = crate::simulator::demo_residents().remove(2);
        let mut tags = BTreeMap::new();
        let (name, _, _) = encoding_rs::GBK.encode(&resident.name);
        for rec in [
            tlv(0x07, b"S51010400015"),
            tlv(0x06, &[0x20, 0x31, 0x01, 0x01]),
            tlv(0x08, resident.id_number.as_str().as_bytes()),
            tlv(0x09, &name),
            tlv(0x0A, b"1"),
            tlv(0x0B, &[0x03]),
            tlv(0x0D, &[0x19, 0x99, 0x11, 0x02]),
        ] {
            parse_tlv(&rec, &mut tags).unwrap();
        }
        let id = identity_from(&tags).unwrap();
        assert_eq!(id.card_type, CardType::SocialSecurity);
        assert_eq!(id.name, "王小明");
        assert_eq!(id.ethnicity, Some(3));
        assert_eq!(
            id.valid_to,
            ValidTo::Date(NaiveDate::from_ymd_opt(2031, 1, 1).unwrap())
        );
        assert_eq!(id.card_number.as_deref(), Some("S51010400015"));
    }

    #[test]
    fn bad_records_are_garbled_not_panics() {
        let mut tags = BTreeMap::new();
        assert!(parse_tlv(&[0x08, 0x12, b'5'], &mut tags).is_err());
        assert!(parse_tlv(&[0x08], &mut tags).is_err());
        assert!(matches!(
            identity_from(&BTreeMap::new()),
            Err(ReadFailure::Garbled(_))
        ));
        let mut tags = BTreeMap::new();
        parse_tlv(&tlv(0x08, b"110105194912310021"), &mut tags).unwrap();
        parse_tlv(&tlv(0x09, b"X"), &mut tags).unwrap();
        assert!(matches!(
            identity_from(&tags),
            Err(ReadFailure::InvalidNumber(_))
        ));
    }
}
