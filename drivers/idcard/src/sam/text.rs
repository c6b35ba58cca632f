//! The 256-byte UCS-2LE text block of a GA/T 467 read, decoded into an [`Identity`].
//!
//! Resident ID cards and HK/Macau/Taiwan residence permits share one layout (the permit adds its
//! pass number and issue count in the reserved area, and the type flag 'J' at 248); the foreign
//! permanent residence card has its own (type flag 'I').

use crate::gb11643::{IdNumber, IdNumberError};
use crate::identity::{CardType, Identity, Sex, ValidTo};
use chrono::NaiveDate;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the text block has {0} bytes, not 256")]
    Length(usize),
    #[error("the ID number is not valid: {0}")]
    Number(IdNumberError),
    #[error("the birth date on the card does not match the ID number")]
    BirthMismatch,
    #[error("the sex on the card does not match the ID number")]
    SexMismatch,
    #[error("the {0} field is not a date")]
    Date(&'static str),
    #[error("unsupported card layout: {0}")]
    Unsupported(&'static str),
}

/// UCS-2LE text at `off`, `len` bytes, without padding.
fn field(text: &[u8], off: usize, len: usize) -> String {
    let units: Vec<u16> = text[off..off + len]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
        .trim_matches(|c: char| c == ' ' || c == '\0' || c == '\u{3000}')
        .to_string()
}

fn date(s: &str, name: &'static str) -> Result<NaiveDate, TextError> {
    NaiveDate::parse_from_str(s, "%Y%m%d").map_err(|_| TextError::Date(name))
}

fn valid_to(s: &str) -> Result<ValidTo, TextError> {
    if s == "长期" {
        Ok(ValidTo::LongTerm)
    } else {
        date(s, "valid to").map(ValidTo::Date)
    }
}

fn sex(code: &str) -> Option<Sex> {
    match code {
        "1" => Some(Sex::Male),
        "2" => Some(Sex::Female),
        _ => None,
    }
}

/// Checks what the card says against what its number says.
fn cross_check(id: &IdNumber, birth: NaiveDate, sex: Option<Sex>) -> Result<(), TextError> {
    if id.birth_date() != Some(birth) {
        return Err(TextError::BirthMismatch);
    }
    if let Some(s) = sex {
        if (s == Sex::Male) != id.is_male() {
            return Err(TextError::SexMismatch);
        }
    }
    Ok(())
}

/// Decodes the text block; `photo` is kept as WLT bytes.
pub fn decode_text(text: &[u8], photo: Vec<u8>) -> Result<Identity, TextError> {
    if text.len() != 256 {
        return Err(TextError::Length(text.len()));
    }
    let flag = field(text, 248, 2);
    match flag.as_str() {
        "I" => decode_foreign(text, photo),
        "J" | "" => {
            let number = IdNumber::parse(&field(text, 122, 36)).map_err(TextError::Number)?;
            let birth = date(&field(text, 36, 16), "birth date")?;
            let card_sex = sex(&field(text, 30, 2));
            cross_check(&number, birth, card_sex)?;
            let permit = flag == "J";
            Ok(Identity {
                card_type: if permit {
                    CardType::ResidencePermitHkMoTw
                } else {
                    CardType::ResidentId
                },
                name: field(text, 0, 30),
                sex: card_sex.unwrap_or(if number.is_male() {
                    Sex::Male
                } else {
                    Sex::Female
                }),
                id_number: number,
                ethnicity: field(text, 32, 4).parse().ok(),
                birth_date: birth,
                address: field(text, 52, 70),
                authority: field(text, 158, 30),
                valid_from: date(&field(text, 188, 16), "valid from").ok(),
                valid_to: valid_to(&field(text, 204, 16))?,
                card_number: permit
                    .then(|| field(text, 220, 18))
                    .filter(|s| !s.is_empty()),
                photo_wlt: photo,
            })
        }
        _ => Err(TextError::Unsupported("unknown card type flag")),
    }
}

/// Foreign permanent residence card (2017 layout): English name 0/120, sex 120/2, number 122/30,
/// nationality 152/6, Chinese name 158/30, valid from 188/16, valid to 204/16, birth 220/16.
/// Its number is 15 characters (three letters, twelve digits) with no GB 11643 check, and the
/// cloud's identity API takes GB 11643 numbers only, so the card is recognised and refused with
/// that reason rather than misread as a resident ID card.
fn decode_foreign(text: &[u8], _photo: Vec<u8>) -> Result<Identity, TextError> {
    let number = field(text, 122, 30);
    let well_formed = number.len() == 15
        && number.is_ascii()
        && number[..3].chars().all(|c| c.is_ascii_uppercase())
        && number[3..].chars().all(|c| c.is_ascii_digit());
    if !well_formed {
        return Err(TextError::Unsupported(
            "foreign permanent residence card with a malformed number",
        ));
    }
    date(&field(text, 220, 16), "birth date")?;
    Err(TextError::Unsupported("foreign permanent residence card (15-character number, not yet accepted by the identity API)"))
}

/// Builds a text block (the test emulators use this; so does the round-trip test).
pub fn encode_text(fields: &[(usize, usize, &str)]) -> Vec<u8> {
    let mut out = vec![0u8; 256];
    for chunk in out.chunks_mut(2) {
        chunk.copy_from_slice(&0x0020u16.to_le_bytes());
    }
    for (off, len, value) in fields {
        let units: Vec<u16> = value.encode_utf16().collect();
        for (i, u) in units.iter().take(len / 2).enumerate() {
            out[off + 2 * i..off + 2 * i + 2].copy_from_slice(&u.to_le_bytes());
        }
    }
    out
}

/// The text block a resident ID card (or, with `permit`, a residence permit) carries for `id`.
pub fn text_for(id: &Identity) -> Vec<u8> {
    let sex = if id.sex == Sex::Male { "1" } else { "2" };
    let eth = id.ethnicity.map(|e| format!("{e:02}")).unwrap_or_default();
    let birth = id.birth_date.format("%Y%m%d").to_string();
    let from = id
        .valid_from
        .map(|d| d.format("%Y%m%d").to_string())
        .unwrap_or_default();
    let to = match id.valid_to {
        ValidTo::LongTerm => "长期".to_string(),
        ValidTo::Date(d) => d.format("%Y%m%d").to_string(),
    };
    let mut fields = vec![
        (0, 30, id.name.as_str()),
        (30, 2, sex),
        (32, 4, eth.as_str()),
        (36, 16, birth.as_str()),
        (52, 70, id.address.as_str()),
        (122, 36, id.id_number.as_str()),
        (158, 30, id.authority.as_str()),
        (188, 16, from.as_str()),
        (204, 16, to.as_str()),
    ];
    let permit_no = id.card_number.clone().unwrap_or_default();
    if id.card_type == CardType::ResidencePermitHkMoTw {
        fields.push((220, 18, permit_no.as_str()));
        fields.push((238, 4, "01"));
        fields.push((248, 2, "J"));
    }
    encode_text(&fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::demo_residents;

    #[test]
    fn resident_id_round_trips() {
        let original = demo_residents().remove(0);
        let back = decode_text(&text_for(&original), vec![7; 1024]).unwrap();
        assert_eq!(back.card_type, CardType::ResidentId);
        assert_eq!(back.name, original.name);
        assert_eq!(back.id_number, original.id_number);
        assert_eq!(back.address, original.address);
        assert_eq!(back.ethnicity, Some(1));
        assert_eq!(back.valid_to, ValidTo::LongTerm);
        assert_eq!(back.photo_wlt.len(), 1024);
    }

    #[test]
    fn residence_permits_carry_their_pass_number() {
        let mut permit = demo_residents().remove(5);
        permit.card_number = Some("H12345678".into());
        let back = decode_text(&text_for(&permit), Vec::new()).unwrap();
        assert_eq!(back.card_type, CardType::ResidencePermitHkMoTw);
        assert_eq!(back.card_number.as_deref(), Some("H12345678"));
        assert!(back.id_number.as_str().starts_with("81"));
    }

    #[test]
    fn foreign_permanent_residence_card_is_recognised_by_its_layout() {
        let card = encode_text(&[
            (0, 120, "SMITH JOHN"),
            (120, 2, "1"),
            (122, 30, "GBR110090010101"),
            (152, 6, "GBR"),
            (158, 30, "史密斯"),
            (220, 16, "19900101"),
            (248, 2, "I"),
        ]);
        match decode_text(&card, Vec::new()) {
            Err(TextError::Unsupported(why)) => {
                assert!(why.contains("foreign permanent residence card (15-character"))
            }
            other => panic!("{:?}", other.map(|i| i.card_type)),
        }
        // Found by the sam_frame fuzz target: a 15-byte number that is not ASCII.
        let odd = encode_text(&[(122, 30, "ab一二三四x"), (248, 2, "I")]);
        assert!(matches!(
            decode_text(&odd, Vec::new()),
            Err(TextError::Unsupported(_))
        ));
        let bad = encode_text(&[(122, 30, "12345"), (248, 2, "I")]);
        assert!(
            matches!(decode_text(&bad, Vec::new()), Err(TextError::Unsupported(w)) if w.contains("malformed"))
        );
    }

    #[test]
    fn inconsistent_cards_are_refused_as_such() {
        let id = demo_residents().remove(1);
        let mut block = text_for(&id);
        block[36..52].copy_from_slice(&encode_text(&[(0, 16, "19850723")])[..16]);
        assert!(matches!(
            decode_text(&block, Vec::new()),
            Err(TextError::BirthMismatch)
        ));
        let mut block = text_for(&id);
        block[30..32].copy_from_slice(&encode_text(&[(0, 2, "1")])[..2]);
        assert!(matches!(
            decode_text(&block, Vec::new()),
            Err(TextError::SexMismatch)
        ));
        let mut block = text_for(&id);
        let n = id.id_number.as_str().to_string();
        let wrong = format!("{}{}", &n[..17], if n.ends_with('0') { '1' } else { '0' });
        block[122..158].copy_from_slice(&encode_text(&[(0, 36, &wrong)])[..36]);
        assert!(matches!(
            decode_text(&block, Vec::new()),
            Err(TextError::Number(IdNumberError::CheckDigit { .. }))
        ));
        assert!(matches!(
            decode_text(&[0; 10], Vec::new()),
            Err(TextError::Length(10))
        ));
    }
}
