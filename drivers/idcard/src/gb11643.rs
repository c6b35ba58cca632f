//! Citizen identity numbers (公民身份号码, GB 11643-1999): 6-digit area code, 8-digit birth date,
//! 3-digit sequence (odd = male), and an ISO 7064 MOD 11-2 check character.

use chrono::NaiveDate;
use zeroize::{Zeroize, ZeroizeOnDrop};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("an ID number has 18 characters (or 15 digits for a legacy number), got {0}")]
    Length(usize),
    #[error("an ID number holds digits only, with an optional final X")]
    Characters,
    #[error("the birth date inside the ID number is not a valid date")]
    BirthDate,
    #[error("the check character does not match (expected {expected})")]
    CheckDigit { expected: char },
}

/// The check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> Option<char> {
    if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(CHECK_CHARS[(sum % 11) as usize] as char)
}

/// A validated 18-character ID number, held in memory that is wiped on drop.
/// `Debug` never prints the number; use [`crate::mask_id_number`] for display.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct IdNumber(String);

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdNumber({})", crate::mask_id_number(&self.0))
    }
}

impl IdNumber {
    /// Parses an 18-character number (checking the check character) or converts a 15-digit
    /// legacy number (19YYMMDD birth date, check character computed).
    pub fn parse(raw: &str) -> Result<Self, IdNumberError> {
        let s = raw.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let full = match b.len() {
            18 => {
                if !b[..17].iter().all(u8::is_ascii_digit)
                    || !(b[17].is_ascii_digit() || b[17] == b'X')
                {
                    return Err(IdNumberError::Characters);
                }
                let expected = check_char(&b[..17]).ok_or(IdNumberError::Characters)?;
                if expected as u8 != b[17] {
                    return Err(IdNumberError::CheckDigit { expected });
                }
                s
            }
            15 => {
                if !b.iter().all(u8::is_ascii_digit) {
                    return Err(IdNumberError::Characters);
                }
                let mut first17 = String::with_capacity(18);
                first17.push_str(&s[..6]);
                first17.push_str("19");
                first17.push_str(&s[6..]);
                let c = check_char(first17.as_bytes()).ok_or(IdNumberError::Characters)?;
                first17.push(c);
                first17
            }
            n => return Err(IdNumberError::Length(n)),
        };
        let id = IdNumber(full);
        id.birth_date().ok_or(IdNumberError::BirthDate)?;
        Ok(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> Option<NaiveDate> {
        let s = &self.0[6..14];
        NaiveDate::from_ymd_opt(
            s[..4].parse().ok()?,
            s[4..6].parse().ok()?,
            s[6..8].parse().ok()?,
        )
    }

    /// Odd sequence digit = male.
    pub fn is_male(&self) -> bool {
        (self.0.as_bytes()[16] - b'0') % 2 == 1
    }

    /// Whole years of age on `today`.
    pub fn age_on(&self, today: NaiveDate) -> u32 {
        let Some(b) = self.birth_date() else { return 0 };
        today.years_since(b).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers_pass() {
        // Built from the algorithm by hand: 11010519491231002 → weights sum 167, 167 % 11 = 2 → X.
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(
            IdNumber::parse("11010519491231002x").is_ok(),
            "lower-case x is accepted"
        );
        let id = IdNumber::parse("510108198001011234").err();
        // 510108198001011234 does not check out; the expected character is reported.
        assert!(matches!(id, Some(IdNumberError::CheckDigit { .. })));
    }

    #[test]
    fn check_char_matches_standard_example() {
        // GB 11643-1999 appendix example: 11010519491231002X.
        assert_eq!(check_char(b"11010519491231002"), Some('X'));
        assert_eq!(check_char(b"44052418800101001"), Some('4'));
    }

    #[test]
    fn wrong_check_digit_is_reported_as_such() {
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(IdNumberError::CheckDigit { expected: 'X' })
        );
    }

    #[test]
    fn legacy_15_digit_numbers_are_converted() {
        let id = IdNumber::parse("110105491231002").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31));
    }

    #[test]
    fn bad_shapes_are_rejected() {
        assert_eq!(IdNumber::parse("1234"), Err(IdNumberError::Length(4)));
        assert_eq!(
            IdNumber::parse("11010519491231002Y"),
            Err(IdNumberError::Characters)
        );
        // 1949-13-31 is no date; fix the check char so only the date is wrong.
        let mut s = String::from("11010519491331002");
        s.push(check_char(s.as_bytes()).unwrap());
        assert_eq!(IdNumber::parse(&s), Err(IdNumberError::BirthDate));
    }

    #[test]
    fn sex_and_age_come_from_the_number() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert!(!id.is_male(), "sequence 002 is even: female");
        assert_eq!(
            id.age_on(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()),
            76
        );
    }

    #[test]
    fn debug_never_prints_the_number() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        let d = format!("{id:?}");
        assert!(!d.contains("11010519491231002X"));
        assert!(d.contains("110105********002X"));
    }
}
