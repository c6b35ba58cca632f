//! What a card tells us about a resident. Held in zeroizing memory; `Debug` masks.

use crate::gb11643::IdNumber;
use crate::mask::{mask_id_number, mask_name};
use chrono::NaiveDate;
use serde::Serialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardType {
    /// 居民身份证
    ResidentId,
    /// 港澳台居民居住证
    ResidencePermitHkMoTw,
    /// 外国人永久居留身份证
    ForeignPermanentResident,
    /// 社会保障卡
    SocialSecurity,
}

impl CardType {
    /// The wire name used by the cloud API's `card_type`.
    pub fn code(self) -> &'static str {
        match self {
            CardType::ResidentId => "resident_id",
            CardType::ResidencePermitHkMoTw => "residence_permit",
            CardType::ForeignPermanentResident => "foreign_permanent_resident",
            CardType::SocialSecurity => "social_security",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidTo {
    Date(NaiveDate),
    /// 长期
    LongTerm,
}

impl ValidTo {
    pub fn is_expired_on(&self, today: NaiveDate) -> bool {
        matches!(self, ValidTo::Date(d) if *d < today)
    }

    /// `YYYY-MM-DD`, or `long-term`.
    pub fn wire(&self) -> String {
        match self {
            ValidTo::Date(d) => d.format("%Y-%m-%d").to_string(),
            ValidTo::LongTerm => "long-term".into(),
        }
    }
}

/// A resident as read from a card. The name and number are wiped from memory on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Identity {
    #[zeroize(skip)]
    pub card_type: CardType,
    pub name: String,
    pub id_number: IdNumber,
    #[zeroize(skip)]
    pub sex: Sex,
    #[zeroize(skip)]
    pub ethnicity: Option<u8>,
    #[zeroize(skip)]
    pub birth_date: NaiveDate,
    pub address: String,
    pub authority: String,
    #[zeroize(skip)]
    pub valid_from: Option<NaiveDate>,
    #[zeroize(skip)]
    pub valid_to: ValidTo,
    /// Card serial / social-security card number where the card has one.
    pub card_number: Option<String>,
    /// The WLT-compressed photo, kept as bytes only (decoding needs a licensed vendor library).
    pub photo_wlt: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("card_type", &self.card_type)
            .field("name", &mask_name(&self.name))
            .field("id_number", &mask_id_number(self.id_number.as_str()))
            .field("valid_to", &self.valid_to)
            .finish_non_exhaustive()
    }
}

impl Identity {
    pub fn name_masked(&self) -> String {
        mask_name(&self.name)
    }
    pub fn id_masked(&self) -> String {
        mask_id_number(self.id_number.as_str())
    }
    pub fn is_expired_on(&self, today: NaiveDate) -> bool {
        self.valid_to.is_expired_on(today)
    }
    pub fn age_on(&self, today: NaiveDate) -> u32 {
        self.id_number.age_on(today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_name_and_number() {
        let id = crate::simulator::demo_residents().remove(0);
        let d = format!("{id:?}");
        assert!(!d.contains(id.id_number.as_str()));
        assert!(!d.contains(&id.name));
        assert!(d.contains(&id.id_masked()));
    }

    #[test]
    fn long_term_never_expires() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert!(!ValidTo::LongTerm.is_expired_on(today));
        assert!(ValidTo::Date(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()).is_expired_on(today));
        assert!(!ValidTo::Date(today).is_expired_on(today));
    }
}
