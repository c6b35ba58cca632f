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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_time_is_in_china_time() {
        assert_eq!(short_time("2026-11-29T09:05:00Z"), "2026-11-29 17:05");
        assert_eq!(short_time("2026-11-29T17:05:00+08:00"), "2026-11-29 17:05");
        assert_eq!(short_time("yesterday"), "yesterday");
        assert!(now_rfc3339().ends_with("+08:00"));
    }
}
