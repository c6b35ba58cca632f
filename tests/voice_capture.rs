//! Spoken prompts, heard: a kiosk journey runs through the real binary with ALSA's default
//! output swapped for a named device that writes every sample to a file (`plug` → `file` →
//! `null`, declared in a private ~/.asoundrc), and the capture is checked against what the kiosk
//! says it started: one stretch of real sound per utterance, in order, each as long as its clips
//! (within a tolerance), and the prompt a tap interrupted cut short at the tap.

use std::path::{Path, PathBuf};
use std::process::Command;

const RATE: usize = 16_000;
/// Below this (of 32767) a sample is silence; espeak-ng's quietest speech is far above it.
const QUIET: i16 = 300;
/// A pause at least this long separates two utterances: clips hold none over 0.25 s, and the
/// kiosk leaves 0.7 s between utterances.
const SPLIT_MS: usize = 450;

fn asoundrc(capture: &Path) -> String {
    format!(
        r#"pcm.bianmin_capture {{
    type plug
    slave {{
        pcm "bianmin_capture_file"
        format S16_LE
        rate {RATE}
        channels 1
    }}
    hint {{ show on description "Bianmin voice capture (tests)" }}
}}
pcm.bianmin_capture_file {{
    type file
    slave.pcm "null"
    file "{}"
    format "raw"
}}
"#,
        capture.display()
    )
}

/// (start, end) of each stretch of sound, in samples.
fn segments(samples: &[i16]) -> Vec<(usize, usize)> {
    let split = SPLIT_MS * RATE / 1000;
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if s.unsigned_abs() < QUIET as u16 {
            continue;
        }
        match out.last_mut() {
            Some((_, end)) if i - *end <= split => *end = i,
            _ => out.push((i, i)),
        }
    }
    // A click (a few stray samples) is not speech.
    out.retain(|(a, b)| b - a > RATE / 20);
    out
}

fn ms(samples: usize) -> i64 {
    (samples * 1000 / RATE) as i64
}

const JOURNEY: &str = r#"
name = "语音：取号全程朗读，触摸打断"
description = "Start → home → 预约取号 → business chosen while its prompt plays (cut) → card → confirm → ticket read out."

[[step]]
tap = "点击屏幕开始办理"
[[step]]
expect_page = "home"
[[step]]
wait_s = 9
[[step]]
open_service = "queue_and_cases"
[[step]]
expect_page = "form"
[[step]]
wait_s = 1.2
[[step]]
tap = "社保医保"
[[step]]
expect_page = "identify"
[[step]]
wait_s = 5.5
[[step]]
insert_card = 1
[[step]]
expect_page = "confirm"
[[step]]
wait_s = 10
[[step]]
tap = "确认"
[[step]]
expect_page = "result"
[[step]]
expect_spoken = "result.ticket"
[[step]]
wait_s = 14
"#;

#[test]
fn a_journey_is_heard_prompt_by_prompt_and_a_tap_cuts_speech() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let capture = work.path().join("capture.raw");
    std::fs::write(home.join(".asoundrc"), asoundrc(&capture)).unwrap();
    let config = work.path().join("kiosk.toml");
    std::fs::write(
        &config,
        "[voice]\ndevice = \"bianmin_capture\"\nvolume = 100\nprivate_listening = \"speaker\"\n",
    )
    .unwrap();
    let journey = work.path().join("journey.toml");
    std::fs::write(&journey, JOURNEY).unwrap();
    let out: PathBuf = work.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .env("HOME", &home)
        .args(["--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(work.path().join("data"))
        .args(["scenario", "run"])
        .arg(&journey)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    let t: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("transcript.json")).unwrap()).unwrap();
    assert!(status.success(), "journey failed: {}", t["failure"]);

    let raw = std::fs::read(&capture).expect("ALSA's file plugin wrote the capture");
    let samples: Vec<i16> = raw
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let heard = segments(&samples);
    let said: Vec<(String, i64)> = t["said"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["ms"].as_i64().unwrap_or(0) > 0)
        .map(|s| {
            let ids: Vec<&str> = s["phrases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            (ids.join(" "), s["ms"].as_i64().unwrap())
        })
        .collect();
    println!("capture: {:.1} s", samples.len() as f64 / RATE as f64);
    // From the moment the kiosk started an utterance (its page was pushed) to its first sample
    // in the stream: decoding, joining, and the device's buffer.
    let starts: Vec<(i64, i64)> = t["said"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["ms"].as_i64().unwrap_or(0) > 0)
        .map(|s| {
            (
                s["stream_ms"].as_i64().unwrap_or(-1),
                s["pause_ms"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let mut lat: Vec<i64> = heard
        .iter()
        .zip(&starts)
        .filter(|(_, (at, pause))| *at >= 0 && *pause == 0)
        .map(|((a, _), (at, _))| ms(*a) - at)
        .collect();
    lat.sort();
    println!("utterance start → first sample in the stream (ms, no leading pause): {lat:?}");
    for (i, (a, b)) in heard.iter().enumerate() {
        println!(
            "heard {i}: at {:>6} ms for {:>5} ms | said: {:?}",
            ms(*a),
            ms(b - a),
            said.get(i)
        );
    }
    let first = |id: &str| {
        said.iter()
            .position(|(p, _)| p.starts_with(id))
            .unwrap_or_else(|| panic!("{id} was never said: {said:?}"))
    };
    // In order: the welcome, home, the business list, the card, confirm, the ticket.
    let order = [
        first("event.welcome"),
        first("page.home"),
        first("page.form"),
        first("page.identify"),
        first("event.card_read"),
        first("page.confirm"),
        first("result.success result.ticket"),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "order: {order:?} in {said:?}"
    );
    assert_eq!(
        heard.len(),
        said.len(),
        "one stretch of sound per utterance: heard {heard:?}, said {said:?}"
    );
    let cut = first("page.form");
    for (i, ((a, b), (ids, want))) in heard.iter().zip(&said).enumerate() {
        let got = ms(b - a);
        if i == cut {
            // Tapped 1.2 s after the page showed: well before the prompt's end.
            assert!(
                got < want - 300 && got > 400,
                "{ids}: {got} ms heard of {want} ms; the tap should have cut it near 1.2 s"
            );
        } else {
            let slack = (want / 10).max(200);
            assert!(
                (got - want).abs() <= slack,
                "{ids}: heard {got} ms, its clips last {want} ms"
            );
        }
    }
    // Nothing personal on the speaker: the card's tail stayed unsaid.
    assert!(
        !said.iter().any(|(p, _)| p.contains("event.id_tail")),
        "an ID tail was spoken on the speaker"
    );
}
