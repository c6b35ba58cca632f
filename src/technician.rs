//! The technician page on the kiosk's own screen: its entry (a long press in a corner of the
//! attract page, then a PIN checked against an Argon2id hash from the config, with a lockout
//! after five wrong PINs) and what it shows (the health board's snapshot, the last audit
//! entries, the outcome of its tests), as a [`TechnicianView`].
//!
//! The kiosk task (src/kiosk.rs) owns the state and carries out the page's actions, since it
//! owns the printer, the voice and the outbox; nothing here touches a device. Never personal
//! data: a test card shows its type and the last four characters of its masked number only.

use crate::health::{Condition, HealthSnapshot};
use crate::selftest::SelftestReport;
use crate::storage::AuditEntry;
use crate::view::{AuditLine, RowView, TechnicianStage, TechnicianView};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Wrong PINs in a row before the pad locks.
pub const WRONG_PINS_ALLOWED: u32 = 5;
/// How long the pad stays locked after too many wrong PINs.
pub const LOCKOUT: Duration = Duration::from_secs(5 * 60);
/// The page goes back to service after this long without a touch.
pub const PAGE_IDLE: Duration = Duration::from_secs(5 * 60);
/// The PIN pad sits over the attract page: a resident who walks up finds the kiosk again soon.
pub const PIN_PAD_IDLE: Duration = Duration::from_secs(30);
/// The health on the page is read again this often.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);
/// The printer is asked for its status this often while the page is open (a status request
/// blocks the kiosk task for the printer's answer, and a dead printer for its timeout).
pub const PRINTER_CHECK_EVERY: Duration = Duration::from_secs(10);
/// How many audit entries the page lists.
pub const AUDIT_SHOWN: usize = 50;
/// A PIN is 4 to 12 digits.
pub const PIN_DIGITS: std::ops::RangeInclusive<usize> = 4..=12;

/// The PHC string of `pin` under Argon2id with a fresh random salt (`bianmin technician-pin`).
pub fn hash_pin(pin: &str) -> Result<String, String> {
    if !PIN_DIGITS.contains(&pin.len()) || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "a PIN is {} to {} digits",
            PIN_DIGITS.start(),
            PIN_DIGITS.end()
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `hash` is an Argon2id PHC string this kiosk can check a PIN against.
pub fn check_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash).map_err(|e| {
        format!("not a PHC hash string ({e}); make one with `bianmin technician-pin`")
    })?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "the hash is {}, not argon2id; make one with `bianmin technician-pin`",
            parsed.algorithm
        ));
    }
    Ok(())
}

/// The PHC string of a technician card's number under Argon2id with a fresh random salt
/// (`bianmin technician-card`): the number itself is kept nowhere on the kiosk.
pub fn hash_card(id_number: &str) -> Result<String, String> {
    let number =
        bianmin_idcard::IdNumber::parse(id_number).map_err(|e| format!("not an ID number: {e}"))?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(number.as_str().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// The technician cards this kiosk knows (`[technician] cards`): a card on the reader while the
/// PIN pad is up opens the page when its number matches one. Only then is a card checked, so a
/// resident's card never costs an Argon2 verification, and never opens anything.
#[derive(Debug, Clone, Default)]
pub struct TechnicianCards {
    hashes: Vec<String>,
}

impl TechnicianCards {
    pub fn new(hashes: &[String]) -> TechnicianCards {
        TechnicianCards {
            hashes: hashes.to_vec(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether the card's number is one of them (tens of milliseconds of CPU a hash, on
    /// purpose).
    pub fn matches(&self, number: &bianmin_idcard::IdNumber) -> bool {
        self.hashes.iter().any(|hash| {
            PasswordHash::new(hash).is_ok_and(|h| {
                Argon2::default()
                    .verify_password(number.as_str().as_bytes(), &h)
                    .is_ok()
            })
        })
    }
}

/// A button on the technician page (取消 on its PIN pad is `Leave` too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TechnicianAction {
    TestPrint,
    TestCard,
    TestSound,
    DeliverOutbox,
    Reprint,
    Selftest,
    Leave,
}

impl TechnicianAction {
    /// The UI's name for the button.
    pub fn from_code(code: &str) -> Option<TechnicianAction> {
        Some(match code {
            "test_print" => TechnicianAction::TestPrint,
            "test_card" => TechnicianAction::TestCard,
            "test_sound" => TechnicianAction::TestSound,
            "deliver_outbox" => TechnicianAction::DeliverOutbox,
            "reprint" => TechnicianAction::Reprint,
            "selftest" => TechnicianAction::Selftest,
            "leave" => TechnicianAction::Leave,
            _ => return None,
        })
    }
}

/// What a PIN attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Open,
    /// Wrong; this many attempts are left before the lockout.
    Wrong {
        left: u32,
    },
    /// Locked (now or still) for this many seconds.
    Locked {
        seconds: u64,
    },
}

/// The configured PIN and the count of wrong attempts. Lives as long as the kiosk task: closing
/// the pad does not reset the count, only the right PIN or the end of a lockout does.
pub struct PinGate {
    hash: String,
    wrong: u32,
    locked_until: Option<Instant>,
}

impl PinGate {
    /// `None` when no hash is configured: then there is no technician page on this kiosk.
    pub fn new(hash: &str) -> Option<PinGate> {
        (!hash.is_empty()).then(|| PinGate {
            hash: hash.to_string(),
            wrong: 0,
            locked_until: None,
        })
    }

    /// Seconds of lockout left, if locked.
    pub fn locked(&self, now: Instant) -> Option<u64> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until.duration_since(now).as_secs().max(1))
    }

    /// Checks `pin` (an Argon2 verification: tens of milliseconds of CPU, on purpose).
    pub fn try_pin(&mut self, pin: &str, now: Instant) -> Verdict {
        if let Some(seconds) = self.locked(now) {
            return Verdict::Locked { seconds };
        }
        let right = PasswordHash::new(&self.hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(pin.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        if right {
            self.wrong = 0;
            self.locked_until = None;
            return Verdict::Open;
        }
        self.wrong += 1;
        if self.wrong >= WRONG_PINS_ALLOWED {
            self.wrong = 0;
            self.locked_until = Some(now + LOCKOUT);
            return Verdict::Locked {
                seconds: LOCKOUT.as_secs(),
            };
        }
        Verdict::Wrong {
            left: WRONG_PINS_ALLOWED - self.wrong,
        }
    }
}

/// Where the page is: the PIN pad, or the page itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Pin,
    Open,
}

/// A test card on the page: which reader, and what it read (masked) or why it could not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestCard {
    Waiting,
    Read {
        reader: String,
        /// `resident_id`, `social_security`, …
        card_type: &'static str,
        /// The last four characters of the masked number (never more).
        tail: String,
        expired: bool,
    },
    Failed {
        reader: String,
        /// A read failure's machine code.
        code: &'static str,
    },
}

/// What the last action on the page came to: a string key and a value it formats (a count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub key: &'static str,
    pub value: String,
    pub ok: bool,
}

impl Outcome {
    pub fn ok(key: &'static str, value: impl Into<String>) -> Outcome {
        Outcome {
            key,
            value: value.into(),
            ok: true,
        }
    }
    pub fn failed(key: &'static str, value: impl Into<String>) -> Outcome {
        Outcome {
            key,
            value: value.into(),
            ok: false,
        }
    }
}

/// The page's state while it (or its PIN pad) is up.
pub struct TechnicianPage {
    pub stage: Stage,
    /// The digits typed so far (wiped when dropped).
    pub entry: Zeroizing<String>,
    /// What the pad says about the last attempt: a key and its value.
    pub pin_message: Option<(&'static str, String)>,
    pub last_touch: Instant,
    pub refreshed: Option<Instant>,
    pub printer_checked: Option<Instant>,
    pub health: HealthSnapshot,
    pub audit: Vec<AuditEntry>,
    pub outcome: Option<Outcome>,
    pub card: Option<TestCard>,
    /// The last self-test run from the page.
    pub selftest: Option<SelftestReport>,
}

impl TechnicianPage {
    pub fn pin_pad(now: Instant) -> TechnicianPage {
        TechnicianPage {
            stage: Stage::Pin,
            entry: Zeroizing::new(String::new()),
            pin_message: None,
            last_touch: now,
            refreshed: None,
            printer_checked: None,
            health: HealthSnapshot::default(),
            audit: Vec::new(),
            outcome: None,
            card: None,
            selftest: None,
        }
    }

    /// Gone idle: back to service.
    pub fn idle(&self, now: Instant) -> bool {
        let limit = match self.stage {
            Stage::Pin => PIN_PAD_IDLE,
            Stage::Open => PAGE_IDLE,
        };
        now.duration_since(self.last_touch) > limit
    }

    /// A key on the PIN pad: a digit, `back` or `clear`.
    pub fn key(&mut self, key: &str) {
        match key {
            "back" => {
                self.entry.pop();
            }
            "clear" => self.entry.clear(),
            d if d.len() == 1
                && d.chars().all(|c| c.is_ascii_digit())
                && self.entry.len() < *PIN_DIGITS.end() =>
            {
                self.entry.push_str(d)
            }
            _ => {}
        }
    }

    /// What the screen shows, in `lang`'s words where they are keys.
    pub fn view(&self, gate_locked: Option<u64>) -> TechnicianView {
        let stage = match (self.stage, gate_locked) {
            (Stage::Open, _) => TechnicianStage::Open,
            (Stage::Pin, Some(_)) => TechnicianStage::Locked,
            (Stage::Pin, None) => TechnicianStage::Pin,
        };
        let (pin_message, pin_value) = match (stage, gate_locked, &self.pin_message) {
            (TechnicianStage::Locked, Some(s), _) => {
                ("tech.pin.locked".to_string(), s.div_ceil(60).to_string())
            }
            (_, _, Some((k, v))) => (k.to_string(), v.clone()),
            _ => (String::new(), String::new()),
        };
        let mut v = TechnicianView {
            stage,
            pin_len: self.entry.len() as u32,
            pin_message,
            pin_value,
            ..Default::default()
        };
        if stage != TechnicianStage::Open {
            return v;
        }
        v.rows = health_rows(&self.health);
        v.errors = self
            .health
            .devices
            .last_errors
            .iter()
            .map(|e| {
                RowView::new(
                    &e.code,
                    format!("{} × · {}", e.count, short_time(&e.last_at)),
                )
            })
            .collect();
        v.audit = self
            .audit
            .iter()
            .map(|a| AuditLine {
                at: short_time(&a.at),
                action: a.action.clone(),
                detail: a.detail.clone(),
            })
            .collect();
        if let Some(o) = &self.outcome {
            v.outcome = o.key.into();
            v.outcome_value = o.value.clone();
            v.outcome_ok = o.ok;
        }
        if let Some(report) = &self.selftest {
            v.selftest = selftest_rows(report);
        }
        match &self.card {
            None => {}
            Some(TestCard::Waiting) => v.card_state = "tech.card.waiting".into(),
            Some(TestCard::Read {
                reader,
                card_type,
                tail,
                expired,
            }) => {
                v.card_state = if *expired {
                    "tech.card.expired"
                } else {
                    "tech.card.read"
                }
                .into();
                v.card_reader = reader.clone();
                v.card_type = format!("card.{card_type}");
                v.card_tail = format!("…{tail}");
            }
            Some(TestCard::Failed { reader, code }) => {
                v.card_state = "tech.card.failed".into();
                v.card_reader = reader.clone();
                v.card_type = format!("tech.read.{code}");
            }
        }
        v
    }
}

/// The last four characters of a masked number: enough to tell two test cards apart.
pub fn tail_of(masked: &str) -> String {
    let chars: Vec<char> = masked.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// `2026-05-21T10:32:05+08:00` → `05-21 10:32:05` (the kiosk's own time zone throughout).
pub fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(5..10), rfc3339.get(11..19)) {
        (Some(day), Some(time)) => format!("{day} {time}"),
        _ => rfc3339.to_string(),
    }
}

/// Seconds as `3d 04:05:06` or `04:05:06` (the same in either language).
pub fn duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// Free disk below this is worth a technician's look.
const DISK_LOW_MB: u64 = 500;
/// A clock further off than this makes receipts' times and tokens' expiry wrong.
const CLOCK_OFF_MS: i64 = 5_000;

/// The heartbeat's health as label/value rows (labels and word values are string keys; a unit
/// key formats a number).
fn health_rows(h: &HealthSnapshot) -> Vec<RowView> {
    let d = &h.devices;
    let key = |label: &str, value_key: String| RowView::with_unit(label, value_key, "key");
    let warn_if = |r: RowView, w: bool| if w { r.warning() } else { r };
    let mut rows = vec![
        warn_if(
            key(
                "tech.printer",
                format!("tech.printer.{}", d.printer.state.code()),
            ),
            d.printer.condition != Condition::Ok,
        ),
        match &d.printer.checked_at {
            Some(at) => RowView::new("tech.printer.checked", short_time(at)),
            None => key("tech.printer.checked", "tech.never".into()),
        },
    ];
    if d.readers.is_empty() {
        rows.push(key("tech.readers", "tech.readers.none".into()).warning());
    }
    for r in &d.readers {
        // The reader's own name is the label (data, shown as it is).
        // `attached`, `lost`, or the last read failure's code (worded like a test card's).
        let state = match r.state.as_str() {
            "attached" | "lost" => format!("tech.reader.{}", r.state),
            failure => format!("tech.read.{failure}"),
        };
        rows.push(warn_if(key(&r.name, state), r.condition != Condition::Ok));
    }
    rows.push(if d.audio.detail.is_empty() {
        warn_if(
            key(
                "tech.audio",
                format!("tech.condition.{}", condition(d.audio.condition)),
            ),
            d.audio.condition != Condition::Ok,
        )
    } else {
        RowView::new("tech.audio", d.audio.detail.clone()).warning()
    });
    rows.push(warn_if(
        RowView::with_unit("tech.outbox", h.outbox_pending.to_string(), "tech.entries"),
        h.outbox_pending > 0,
    ));
    rows.push(match d.outbox_oldest_pending_s {
        Some(s) => RowView::new("tech.outbox.oldest", duration(s)).warning(),
        None => key("tech.outbox.oldest", "tech.none".into()),
    });
    rows.push(warn_if(
        RowView::new("tech.spool_failures", d.spool_failures.to_string()),
        d.spool_failures > 0,
    ));
    rows.push(match d.disk_free_mb {
        Some(mb) => warn_if(
            RowView::with_unit("tech.disk", mb.to_string(), "tech.mb"),
            mb < DISK_LOW_MB,
        ),
        None => key("tech.disk", "tech.unknown".into()).warning(),
    });
    rows.push(match d.clock_offset_ms {
        Some(ms) => warn_if(
            RowView::with_unit("tech.clock", format!("{ms:+}"), "tech.ms"),
            ms.abs() > CLOCK_OFF_MS,
        ),
        None => key("tech.clock", "tech.unknown".into()),
    });
    rows.push(warn_if(
        key("tech.cloud", format!("tech.cloud.{}", h.cloud_link)),
        h.cloud_link != "up",
    ));
    rows.push(match &h.last_heartbeat_at {
        Some(at) => RowView::new("tech.heartbeat", short_time(at)),
        None => key("tech.heartbeat", "tech.never".into()),
    });
    rows.push(RowView::new("tech.version", h.app_version.clone()));
    rows.push(RowView::new("tech.uptime", duration(h.uptime_s)));
    rows
}

/// A self-test's checks as rows: the device, and how its check ended: what to check, in the
/// page's language, for a known problem; otherwise the check's own words (a technician's
/// diagnostics).
fn selftest_rows(report: &SelftestReport) -> Vec<RowView> {
    use crate::selftest::Outcome as Checked;
    report
        .devices
        .iter()
        .into_iter()
        .map(|(device, check)| {
            let label = format!("tech.selftest.{device}");
            let found = check.found.as_deref().filter(|f| !f.is_empty());
            let detail = match (found, check.hint.as_deref()) {
                (Some(found), Some(hint)) => format!("{found}: {} ({hint})", check.detail),
                (Some(found), None) => format!("{found}: {}", check.detail),
                (None, Some(hint)) => format!("{} ({hint})", check.detail),
                (None, None) => check.detail.clone(),
            };
            if let (Some(problem), Checked::Warn | Checked::Fail) =
                (check.problem.as_deref(), check.result)
            {
                let unit = if check.result == Checked::Warn {
                    "tech.selftest.warn.problem"
                } else {
                    "tech.selftest.fail.problem"
                };
                return RowView::with_unit(&label, problem.to_string(), unit).warning();
            }
            match check.result {
                Checked::Pass => {
                    RowView::with_unit(&label, "tech.selftest.pass".to_string(), "key")
                }
                Checked::Skipped => {
                    RowView::with_unit(&label, "tech.selftest.skipped".to_string(), "key")
                }
                Checked::Warn => RowView::with_unit(&label, detail, "tech.selftest.warn").warning(),
                Checked::Fail => RowView::with_unit(&label, detail, "tech.selftest.fail").warning(),
            }
        })
        .collect()
}

fn condition(c: Condition) -> &'static str {
    match c {
        Condition::Unknown => "unknown",
        Condition::Ok => "ok",
        Condition::Warning => "warning",
        Condition::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_card_matches_and_no_other_does() {
        let residents = bianmin_idcard::simulator::demo_residents();
        let technician = residents[2].id_number.clone();
        let hash = hash_card(&format!(" {} ", technician.as_str().to_lowercase())).unwrap();
        check_hash(&hash).unwrap();
        assert!(
            !hash.contains(technician.as_str()),
            "the number is kept nowhere"
        );
        let cards = TechnicianCards::new(&[hash]);
        assert!(cards.matches(&technician));
        assert!(!cards.matches(&residents[1].id_number));
        assert!(!TechnicianCards::default().matches(&technician));
        assert!(hash_card("12345").is_err() && hash_card("510104199911020150").is_err());
    }

    #[test]
    fn the_right_pin_opens_and_five_wrong_ones_lock_for_five_minutes() {
        let hash = hash_pin("24681357").unwrap();
        check_hash(&hash).unwrap();
        assert!(check_hash("1234").is_err());
        assert!(hash_pin("12a4").is_err() && hash_pin("123").is_err());
        let mut gate = PinGate::new(&hash).unwrap();
        let t0 = Instant::now();
        assert_eq!(gate.try_pin("24681357", t0), Verdict::Open);
        for left in (1..WRONG_PINS_ALLOWED).rev() {
            assert_eq!(gate.try_pin("0000", t0), Verdict::Wrong { left });
        }
        assert_eq!(gate.try_pin("0000", t0), Verdict::Locked { seconds: 300 });
        // Locked: even the right PIN is refused until the lockout ends.
        let later = t0 + Duration::from_secs(299);
        assert_eq!(
            gate.try_pin("24681357", later),
            Verdict::Locked { seconds: 1 }
        );
        let after = t0 + Duration::from_secs(301);
        assert_eq!(gate.locked(after), None);
        assert_eq!(gate.try_pin("24681357", after), Verdict::Open);
        assert!(PinGate::new("").is_none());
    }

    #[test]
    fn the_pad_takes_digits_only_and_the_view_never_shows_them() {
        let mut p = TechnicianPage::pin_pad(Instant::now());
        for k in ["1", "2", "x", "12", "3", "back", "4"] {
            p.key(k);
        }
        assert_eq!(p.entry.as_str(), "124");
        let v = p.view(None);
        assert_eq!((v.stage, v.pin_len), (TechnicianStage::Pin, 3));
        assert!(v.rows.is_empty(), "no health before the PIN");
        assert_eq!(p.view(Some(250)).pin_value, "5");
    }

    #[test]
    fn the_pad_goes_after_30_s_and_the_page_after_5_minutes_untouched() {
        let t0 = Instant::now();
        let mut p = TechnicianPage::pin_pad(t0);
        assert!(!p.idle(t0 + Duration::from_secs(30)));
        assert!(p.idle(t0 + Duration::from_secs(31)));
        p.stage = Stage::Open;
        assert!(!p.idle(t0 + Duration::from_secs(300)));
        assert!(p.idle(t0 + Duration::from_secs(301)));
    }

    #[test]
    fn durations_times_and_tails() {
        assert_eq!(duration(59), "00:00:59");
        assert_eq!(duration(90_061), "1d 01:01:01");
        assert_eq!(short_time("2026-05-21T10:32:05+08:00"), "05-21 10:32:05");
        assert_eq!(tail_of("510108********031X"), "031X");
    }
}
