//! The GA/T 467 serial backend against a SAM reader emulator on a pty: insertion, removal, a
//! residence permit, garbage on the line, a corrupted frame, and a reader that goes silent.

mod support;

use bianmin_idcard::reader::{IdentityReader, ReadFailure, ReaderEvent};
use bianmin_idcard::sam::text::text_for;
use bianmin_idcard::sam::SamReader;
use bianmin_idcard::simulator::demo_residents;
use bianmin_idcard::CardType;
use std::time::Duration;
use support::sam_emulator::SamEmulator;

const T: Duration = Duration::from_millis(30);

fn next(r: &mut impl IdentityReader) -> ReaderEvent {
    for _ in 0..100 {
        if let Some(e) = r.next_event(T) {
            return e;
        }
    }
    panic!("no event");
}

#[test]
fn cards_come_and_go() {
    let sam = SamEmulator::start();
    let mut r = SamReader::open(&sam.path, 115_200).unwrap();
    assert!(matches!(next(&mut r), ReaderEvent::ReaderAttached { .. }));
    assert!(r.next_event(T).is_none(), "no card yet");

    let resident = demo_residents().remove(1);
    sam.set(|s| s.card = Some(text_for(&resident)));
    match next(&mut r) {
        ReaderEvent::CardInserted { identity, .. } => {
            assert_eq!(identity.id_number, resident.id_number);
            assert_eq!(identity.name, resident.name);
            assert_eq!(
                identity.photo_wlt.len(),
                1024,
                "the WLT photo is kept as bytes"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(r.next_event(T).is_none(), "the same card is not read twice");
    let reads = sam
        .state
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|q| **q == (0x30, 0x01))
        .count();
    assert_eq!(reads, 1);

    sam.set(|s| s.card = None);
    assert!(matches!(next(&mut r), ReaderEvent::CardRemoved { .. }));

    let mut permit = demo_residents().remove(5);
    permit.card_number = Some("H60123456".into());
    sam.set(|s| s.card = Some(text_for(&permit)));
    match next(&mut r) {
        ReaderEvent::CardInserted { identity, .. } => {
            assert_eq!(identity.card_type, CardType::ResidencePermitHkMoTw);
            assert_eq!(identity.card_number.as_deref(), Some("H60123456"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_is_skipped_and_a_bad_frame_is_a_read_failure() {
    let sam = SamEmulator::start();
    sam.set(|s| s.garbage = true);
    let mut r = SamReader::open(&sam.path, 115_200).unwrap();
    assert!(matches!(next(&mut r), ReaderEvent::ReaderAttached { .. }));
    sam.set(|s| {
        s.card = Some(text_for(&demo_residents()[0]));
        s.bad_checksum_once = true;
    });
    match next(&mut r) {
        ReaderEvent::ReadFailed {
            reason: ReadFailure::Garbled(_),
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    // Take the card away and put it back: read cleanly through the noise.
    sam.set(|s| s.card = None);
    assert!(matches!(next(&mut r), ReaderEvent::CardRemoved { .. }));
    sam.set(|s| s.card = Some(text_for(&demo_residents()[0])));
    assert!(matches!(next(&mut r), ReaderEvent::CardInserted { .. }));
}

#[test]
fn a_bad_check_digit_is_reported_as_such() {
    let sam = SamEmulator::start();
    let mut text = text_for(&demo_residents()[1]);
    // Replace the last character of the ID number (offset 122, 18 UCS-2 characters).
    let at = 122 + 17 * 2;
    text[at] = if text[at] == b'0' { b'1' } else { b'0' };
    sam.set(|s| s.card = Some(text));
    let mut r = SamReader::open(&sam.path, 115_200).unwrap();
    assert!(matches!(next(&mut r), ReaderEvent::ReaderAttached { .. }));
    match next(&mut r) {
        ReaderEvent::ReadFailed {
            reason: ReadFailure::InvalidNumber(why),
            ..
        } => assert!(why.contains("check"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_silent_reader_is_lost_and_found_again() {
    let sam = SamEmulator::start();
    let mut r = SamReader::open(&sam.path, 115_200).unwrap();
    assert!(matches!(next(&mut r), ReaderEvent::ReaderAttached { .. }));
    sam.set(|s| s.silent = true);
    let started = std::time::Instant::now();
    assert!(matches!(next(&mut r), ReaderEvent::ReaderLost { .. }));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up after the answer timeout"
    );
    assert!(r.next_event(T).is_none(), "lost once, not on every poll");
    sam.set(|s| s.silent = false);
    assert!(matches!(next(&mut r), ReaderEvent::ReaderAttached { .. }));
}

#[test]
fn card_watch_prints_masked_json_lines() {
    let sam = SamEmulator::start();
    let resident = demo_residents().remove(0);
    sam.set(|s| s.card = Some(text_for(&resident)));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args([
            "card",
            "watch",
            "--json",
            "--no-pcsc",
            "--sam-port",
            &sam.path,
            "--for",
            "1.5",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["event"], "reader_attached");
    let card = lines
        .iter()
        .find(|l| l["event"] == "card_inserted")
        .expect("card_inserted");
    let id = &card["identity"];
    assert_eq!(id["card_type"], "resident_id");
    assert_eq!(id["id_masked"], resident.id_masked());
    assert_eq!(id["name_masked"], "张*国");
    assert_eq!(id["sex"], "male");
    assert_eq!(id["ethnicity"], "汉族");
    assert_eq!(id["birth_date"], "1950-03-15");
    assert_eq!(id["valid_to"], "long-term");
    assert_eq!(id["expired"], false);
    assert_eq!(id["check_digit_ok"], true);
    assert!(
        !stdout.contains(resident.id_number.as_str()) && !stdout.contains(&resident.name),
        "never the full number or name"
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args([
            "card",
            "watch",
            "--no-pcsc",
            "--sam-port",
            "/dev/nope",
            "--for",
            "0.1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_kiosk_greets_a_card_on_its_sam_reader_and_wipes_when_it_leaves() {
    let sam = SamEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!("[card_reader]\nsam_port = \"{}\"\n", sam.path),
    )
    .unwrap();
    let journey = dir.path().join("journey.toml");
    std::fs::write(
        &journey,
        "[[step]]\nexpect_page = \"home\"\n[[step]]\nexpect_text = \"您好，李*英\"\n[[step]]\nwait_attract = true\n[[step]]\nexpect_no_text = \"李*英\"\n",
    )
    .unwrap();
    sam.set(|s| s.card = Some(text_for(&demo_residents()[1])));
    let remover = {
        let state = sam.state.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(4));
            state.lock().unwrap().card = None;
        })
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
        ])
        .args([
            "scenario",
            "run",
            journey.to_str().unwrap(),
            "--out",
            dir.path().join("out").to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    remover.join().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let t: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/transcript.json")).unwrap())
            .unwrap();
    let revoked = t["cloud_calls"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["method"] == "DELETE" && c["status"] == 204);
    assert!(revoked, "the session was revoked when the card left");
}
