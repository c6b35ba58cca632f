//! Time as residents and the cloud see it: China Standard Time (+08:00), RFC 3339 on the wire.
//! The bottom layer: everything above takes its clock and zone from here.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// China Standard Time: every time the cloud sends, and every time printed, is in +08:00.
pub const CST: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(o) => o,
    None => panic!("valid offset"),
};

/// Now in +08:00.
pub fn now() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&CST)
}

/// Now as the contract writes times: `2026-11-29T17:05:00+08:00`.
pub fn now_rfc3339() -> String {
    now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Today's date in +08:00 (card validity, receipt numbers).
pub fn today() -> NaiveDate {
    now().date_naive()
}

/// `2026-11-29T17:05:00+08:00` → `2026-11-29 17:05` for screens and paper; a value that is not
/// RFC 3339 is shown as it came.
pub fn short_time(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&CST).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// The date of a time or date on the wire (`2027-02-28T23:59:59+08:00` or `2027-02-28` →
/// `2027-02-28`), in +08:00; anything else as it came.
pub fn date_of(value: &str) -> String {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&CST).format("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| value.to_string())
}

/// A calendar month, as the contract writes it (`2026-11`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Month> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year))
            .then_some(Month { year, month })
    }

    /// This month in +08:00.
    pub fn current() -> Month {
        use chrono::Datelike;
        let d = today();
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    /// `2026-11`.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        Month::new(y.parse().ok()?, m.parse().ok()?)
    }

    /// Six keypad digits, `202611`.
    pub fn from_digits(s: &str) -> Option<Month> {
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Month::new(s[..4].parse().ok()?, s[4..].parse().ok()?)
    }

    /// `n` months later (earlier when negative).
    pub fn plus(self, n: i32) -> Month {
        let i = self.year * 12 + self.month as i32 - 1 + n;
        Month {
            year: i.div_euclid(12),
            month: i.rem_euclid(12) as u32 + 1,
        }
    }

    /// Months from `self` to `to`, both counted.
    pub fn span_to(self, to: Month) -> i32 {
        (to.year * 12 + to.month as i32) - (self.year * 12 + self.month as i32) + 1
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_count_and_step_across_years() {
        let m = Month::parse("2026-01").unwrap();
        assert_eq!(m.plus(-1).to_string(), "2025-12");
        assert_eq!(m.plus(11).to_string(), "2026-12");
        assert_eq!(m.plus(-11).span_to(m), 12);
        assert_eq!(Month::from_digits("202613"), None);
        assert_eq!(Month::from_digits("202602"), Month::new(2026, 2));
        assert_eq!(Month::parse("2026-1"), None);
        assert_eq!(date_of("2027-02-28T23:59:59+08:00"), "2027-02-28");
        assert_eq!(date_of("2027-02-28"), "2027-02-28");
    }

    #[test]
    fn short_time_is_in_china_time() {
        assert_eq!(short_time("2026-11-29T09:05:00Z"), "2026-11-29 17:05");
        assert_eq!(short_time("2026-11-29T17:05:00+08:00"), "2026-11-29 17:05");
        assert_eq!(short_time("yesterday"), "yesterday");
        assert!(now_rfc3339().ends_with("+08:00"));
    }
}
