//! The PC/SC backend against a real pcscd with vsmartcard's virtual reader and the card
//! emulator in tests/cards/vpcd_card.py: a social-security card read and masked, removal, an
//! unknown card, a card pulled mid-read, a bad record, and pcscd killed and restarted. pcscd and
//! the emulator are started here and stopped by PID.

use bianmin_idcard::pcsc_reader::{PcscReader, VendorSamProfile};
use bianmin_idcard::reader::{IdentityReader, ReadFailure, ReaderEvent};
use bianmin_idcard::simulator::demo_residents;
use bianmin_idcard::CardType;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const READER: &str = "Virtual PCD 00 00";
const EMULATOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cards/vpcd_card.py");

/// A process stopped by its PID when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pcscd_running() -> bool {
    pcsc::Context::establish(pcsc::Scope::User).is_ok()
}

fn start_pcscd() -> Proc {
    let child = Command::new("pcscd")
        .args(["--foreground"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pcscd is installed (make test installs pcscd and vsmartcard-vpcd)");
    let started = Instant::now();
    while !pcscd_running() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "pcscd did not come up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Proc(child)
}

fn card(args: &[&str]) -> Proc {
    Proc(
        Command::new("/usr/bin/python3")
            .arg(EMULATOR)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn card_json(index: usize) -> String {
    let r = &demo_residents()[index];
    serde_json::json!({
        "id_number": r.id_number.as_str(),
        "name": r.name,
        "sex": if r.id_number.is_male() { "1" } else { "2" },
        "birth": r.birth_date.format("%Y%m%d").to_string(),
        "ethnicity": r.ethnicity.unwrap_or(1),
        "card_no": "S51010400015",
    })
    .to_string()
}

/// The next event about our virtual reader (the second virtual reader is ignored).
fn next(r: &mut PcscReader, within: Duration) -> Option<ReaderEvent> {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let Some(e) = r.next_event(Duration::from_millis(200)) {
            let name = match &e {
                ReaderEvent::ReaderAttached { reader }
                | ReaderEvent::ReaderLost { reader }
                | ReaderEvent::CardRemoved { reader } => reader,
                ReaderEvent::CardInserted { reader, .. }
                | ReaderEvent::ReadFailed { reader, .. } => reader,
            };
            if name == READER {
                return Some(e);
            }
        }
    }
    None
}

fn expect(r: &mut PcscReader, what: &str, ok: impl Fn(&ReaderEvent) -> bool) -> ReaderEvent {
    let e = next(r, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no event while waiting for {what}"));
    assert!(ok(&e), "expected {what}, got {e:?}");
    e
}

#[test]
fn pcsc_readers_and_social_security_cards() {
    let mut own_pcscd = if pcscd_running() {
        None
    } else {
        Some(start_pcscd())
    };
    let mut r = PcscReader::new();
    expect(&mut r, "the virtual reader", |e| {
        matches!(e, ReaderEvent::ReaderAttached { .. })
    });

    // A social-security card: read, decoded, masked for display.
    let resident = &demo_residents()[2];
    let holder = card(&["--card", &card_json(2)]);
    let e = expect(&mut r, "card_inserted", |e| {
        matches!(e, ReaderEvent::CardInserted { .. })
    });
    if let ReaderEvent::CardInserted { identity, .. } = e {
        assert_eq!(identity.card_type, CardType::SocialSecurity);
        assert_eq!(identity.id_number, resident.id_number);
        assert_eq!(identity.name_masked(), "王*明");
        assert_eq!(identity.card_number.as_deref(), Some("S51010400015"));
        assert!(!format!("{identity:?}").contains(resident.id_number.as_str()));
    }
    drop(holder);
    expect(&mut r, "card_removed", |e| {
        matches!(e, ReaderEvent::CardRemoved { .. })
    });

    // A card without the social-security application.
    let other = card(&["--unknown"]);
    expect(&mut r, "unsupported card", |e| {
        matches!(
            e,
            ReaderEvent::ReadFailed {
                reason: ReadFailure::UnsupportedCard,
                ..
            }
        )
    });
    drop(other);
    expect(&mut r, "card_removed", |e| {
        matches!(e, ReaderEvent::CardRemoved { .. })
    });

    // Pulled out in the middle of the read.
    let pulled = card(&["--card", &card_json(0), "--remove-after", "3"]);
    expect(&mut r, "a read failure for the pulled card", |e| {
        // Removed, or (when vpcd answers the cut-off APDU with nothing) a garbled answer: a typed
        // failure either way, never a panic and never an identity.
        matches!(
            e,
            ReaderEvent::ReadFailed {
                reason: ReadFailure::CardRemoved | ReadFailure::Garbled(_) | ReadFailure::Reader(_),
                ..
            } | ReaderEvent::CardRemoved { .. }
        )
    });
    drop(pulled);

    // A record that lies about its length.
    std::thread::sleep(Duration::from_millis(300));
    while next(&mut r, Duration::from_millis(300)).is_some() {}
    let bad = card(&["--card", &card_json(1), "--bad-record"]);
    expect(&mut r, "garbled record", |e| {
        matches!(
            e,
            ReaderEvent::ReadFailed {
                reason: ReadFailure::Garbled(_),
                ..
            }
        )
    });
    drop(bad);
    expect(&mut r, "card_removed", |e| {
        matches!(e, ReaderEvent::CardRemoved { .. })
    });

    // A vendor reader with a built-in SAM, configured by name: the ID card's text block over PC/SC.
    let mut vendor = PcscReader::with_vendor_profiles(vec![VendorSamProfile {
        reader_name_contains: "Virtual PCD 00 00".into(),
        read_apdu: vec![0xFF, 0xB0, 0x00, 0x01, 0x00],
    }]);
    expect(&mut vendor, "the virtual reader", |e| {
        matches!(e, ReaderEvent::ReaderAttached { .. })
    });
    let text: String = bianmin_idcard::sam::text::text_for(&demo_residents()[3])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let id_card = card(&["--vendor-text", &text]);
    let e = expect(&mut vendor, "an ID card through the vendor profile", |e| {
        matches!(e, ReaderEvent::CardInserted { .. })
    });
    if let ReaderEvent::CardInserted { identity, .. } = e {
        assert_eq!(identity.card_type, CardType::ResidentId);
        assert_eq!(identity.id_number, demo_residents()[3].id_number);
        assert_eq!(identity.photo_wlt.len(), 1024);
    }
    drop(id_card);
    expect(&mut vendor, "card_removed", |e| {
        matches!(e, ReaderEvent::CardRemoved { .. })
    });
    while next(&mut r, Duration::from_millis(300)).is_some() {}

    // pcscd killed and restarted (only when this test started it): lost, then back.
    if let Some(mut daemon) = own_pcscd.take() {
        let pid = daemon.0.id() as i32;
        // SAFETY: signalling the child we spawned.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        // Wait for the old PID to be gone before starting another pcscd.
        daemon.0.wait().unwrap();
        expect(&mut r, "reader_lost", |e| {
            matches!(e, ReaderEvent::ReaderLost { .. })
        });
        own_pcscd = Some(start_pcscd());
        expect(&mut r, "reader_attached again", |e| {
            matches!(e, ReaderEvent::ReaderAttached { .. })
        });
        let again = card(&["--card", &card_json(2)]);
        expect(&mut r, "card_inserted after the restart", |e| {
            matches!(e, ReaderEvent::CardInserted { .. })
        });
        drop(again);
    }
    drop(own_pcscd);
}
