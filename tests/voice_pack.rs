//! The shipped voice pack (voice/pack, rendered by voice/render.sh at set-up): every phrase the
//! code can say is in it in both languages and decodes to real audio; no phrase holds a
//! resident's name or an ID number.

use bianmin::lang::Lang;
use bianmin::session::PageId;
use bianmin::view::{
    IdentifyMode, InputMode, PrintState, ResultKind, SpokenResult, TechnicianStage, ViewState,
};
use bianmin::voice::{numbers, prompts, Utterance, VoicePack};
use std::collections::BTreeSet;
use std::path::Path;

fn shipped() -> VoicePack {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("voice/pack");
    VoicePack::load(&[dir]).expect("the voice pack is rendered by voice/render.sh (make deps)")
}

/// Every utterance the kiosk can build: each page in each of its modes, every event, and the
/// number pieces over a wide range.
fn everything_said() -> Vec<Utterance> {
    let mut out = Vec::new();
    let pages = PageId::ALL;
    for lang in [Lang::Zh, Lang::En] {
        for page in pages {
            for variant in 0..4 {
                let mut v = ViewState::default();
                v.chrome.page = page;
                v.chrome.lang = lang;
                v.flow.identify.mode =
                    [IdentifyMode::Required, IdentifyMode::Optional][variant % 2];
                v.flow.input.mode = [
                    InputMode::Text,
                    InputMode::Phone,
                    InputMode::Month,
                    InputMode::Number,
                ][variant];
                v.flow.print.state = [
                    PrintState::Printing,
                    PrintState::Done,
                    PrintState::PaperOut,
                    PrintState::Failed,
                ][variant];
                v.flow.result.kind =
                    [ResultKind::Success, ResultKind::Error, ResultKind::Info][variant % 3];
                v.technician.stage = [
                    TechnicianStage::Pin,
                    TechnicianStage::Open,
                    TechnicianStage::Locked,
                    TechnicianStage::Open,
                ][variant];
                out.push(prompts::page(&v));
            }
        }
        for ahead in [0, 1, 2, 13, 120] {
            out.push(prompts::result(
                ResultKind::Success,
                Some(&SpokenResult::Ticket {
                    number: "A023".into(),
                    ahead,
                }),
                lang,
            ));
        }
        for utility in ["water", "electricity", "gas"] {
            out.push(prompts::result(
                ResultKind::Success,
                Some(&SpokenResult::Paid {
                    fen: 12650,
                    utility: utility.into(),
                }),
                lang,
            ));
        }
        for n in (0..=20_000u64).chain([99_999, 1_000_000, 123_456_789, 300_000_000]) {
            out.push(Utterance::default().then_all(numbers::integer(n, lang, numbers::Use::Value)));
            out.push(Utterance::default().then_all(numbers::money(n * 7, lang)));
            out.push(Utterance::default().then_all(numbers::people(n, lang)));
        }
        for c in 'A'..='Z' {
            out.push(
                Utterance::default().then_all(numbers::ticket(&format!("{c}0123456789"), lang)),
            );
        }
    }
    for p in [
        bianmin::session::Prompt::Welcome,
        bianmin::session::Prompt::PlaceCard,
        bianmin::session::Prompt::CountdownWarning,
        bianmin::session::Prompt::TakeCard,
        bianmin::session::Prompt::Goodbye,
    ] {
        out.extend(prompts::event(p));
    }
    out.push(prompts::card_read("1101**********1234"));
    out.push(prompts::offline());
    out.push(prompts::staff_called());
    out.push(prompts::test());
    out
}

#[test]
fn every_phrase_the_code_says_is_in_the_pack_in_both_languages() {
    let pack = shipped();
    let used: BTreeSet<&str> = everything_said().iter().flat_map(|u| u.all_ids()).collect();
    assert!(
        used.len() > 60,
        "only {} ids: the walk missed something",
        used.len()
    );
    let mut missing = Vec::new();
    for id in &used {
        for lang in [Lang::Zh, Lang::En] {
            if !pack.has(id, lang) {
                missing.push(format!("{id} ({})", lang.code()));
            }
        }
    }
    assert!(missing.is_empty(), "not in the voice pack: {missing:?}");
    println!("{} phrase ids used, all in both languages", used.len());
}

#[test]
fn every_clip_decodes_to_real_audio() {
    let pack = shipped();
    let mut total = 0.0;
    let mut count = 0;
    for (id, lang, _) in pack.phrases() {
        let pcm = pack
            .decode(id, lang)
            .unwrap_or_else(|| panic!("{id} ({}) does not decode", lang.code()));
        let d = pcm.duration().as_secs_f64();
        assert!(d > 0.05 && d < 15.0, "{id}: {d} s");
        let peak = pcm.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.05, "{id} ({}) is silent", lang.code());
        total += d;
        count += 1;
    }
    println!("{count} clips, {total:.1} s of speech");
}

#[test]
fn no_phrase_holds_a_name_or_an_id_number() {
    let pack = shipped();
    // The residents the simulator knows (the demo's cards): their names must never be phrases.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sim.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(bianmin::cloud_sim::CloudSim::start(
            "127.0.0.1:0".parse().unwrap(),
            bianmin::cloud_sim::SimOptions {
                db: db.clone(),
                enrollment_codes: vec!["VOICE-TEST".into()],
                case_step: std::time::Duration::from_secs(3600),
                payment_ttl: bianmin::cloud_sim::SimOptions::DEFAULT_PAYMENT_TTL,
            },
        ))
        .unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, id_number FROM residents")
        .unwrap();
    let people: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(sim);
    assert!(!people.is_empty());
    let mut bad = Vec::new();
    for (id, lang, text) in pack.phrases() {
        // An ID number (18 characters, 17 digits and a digit or X) or any run of six digits.
        let digits_run = text
            .chars()
            .fold((0, 0), |(run, max), c| {
                let run = if c.is_ascii_digit() { run + 1 } else { 0 };
                (run, max.max(run))
            })
            .1;
        if digits_run >= 6 {
            bad.push(format!(
                "{id} ({}): a number like an ID: {text}",
                lang.code()
            ));
        }
        for (name, number) in &people {
            if text.contains(name.as_str()) || text.contains(number.as_str()) {
                bad.push(format!(
                    "{id} ({}): a resident's name or number",
                    lang.code()
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{bad:?}");
}
