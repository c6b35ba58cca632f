//! `bianmin card watch`: reader and card events for technicians, as text or one JSON object a
//! line. Never the full number or name.

use bianmin_idcard::reader::{IdentityReader, ReaderEvent};
use bianmin_idcard::sam::SamReader;
use bianmin_idcard::{ethnicity, Identity, Sex};
use serde_json::{json, Value};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct WatchOptions {
    pub json: bool,
    pub sam_port: Option<String>,
    pub baud: u32,
    pub pcsc: bool,
    pub duration: Option<Duration>,
}

/// The masked, technician-facing view of a card.
pub fn identity_json(id: &Identity) -> Value {
    let today = crate::time::today();
    json!({
        "card_type": id.card_type.code(),
        "id_masked": id.id_masked(),
        "name_masked": id.name_masked(),
        "sex": if id.sex == Sex::Male { "male" } else { "female" },
        "ethnicity": id.ethnicity.and_then(ethnicity::name_zh),
        "birth_date": id.birth_date.format("%Y-%m-%d").to_string(),
        "valid_from": id.valid_from.map(|d| d.format("%Y-%m-%d").to_string()),
        "valid_to": id.valid_to.wire(),
        "expired": id.is_expired_on(today),
        // A number failing GB 11643 never becomes an identity: it is a read_failed/invalid_number.
        "check_digit_ok": true,
    })
}

pub fn event_json(ev: &ReaderEvent) -> Value {
    match ev {
        ReaderEvent::ReaderAttached { reader } => {
            json!({"event": "reader_attached", "reader": reader})
        }
        ReaderEvent::ReaderLost { reader } => json!({"event": "reader_lost", "reader": reader}),
        ReaderEvent::CardRemoved { reader } => json!({"event": "card_removed", "reader": reader}),
        ReaderEvent::CardInserted { reader, identity } => {
            json!({"event": "card_inserted", "reader": reader, "identity": identity_json(identity)})
        }
        ReaderEvent::ReadFailed { reader, reason } => {
            json!({"event": "read_failed", "reader": reader, "reason": reason.code(), "detail": reason.to_string()})
        }
    }
}

fn text_line(v: &Value) -> String {
    let ev = v["event"].as_str().unwrap_or("");
    let reader = v["reader"].as_str().unwrap_or("");
    match ev {
        "card_inserted" => {
            let i = &v["identity"];
            format!(
                "{reader}: card inserted — {} {} {} born {} valid to {}{}",
                i["card_type"].as_str().unwrap_or(""),
                i["name_masked"].as_str().unwrap_or(""),
                i["id_masked"].as_str().unwrap_or(""),
                i["birth_date"].as_str().unwrap_or(""),
                i["valid_to"].as_str().unwrap_or(""),
                if i["expired"] == true {
                    " (EXPIRED)"
                } else {
                    ""
                }
            )
        }
        "read_failed" => format!(
            "{reader}: read failed — {}",
            v["detail"].as_str().unwrap_or("")
        ),
        other => format!("{reader}: {}", other.replace('_', " ")),
    }
}

fn spawn(mut reader: Box<dyn IdentityReader>, tx: mpsc::Sender<ReaderEvent>) {
    std::thread::spawn(move || loop {
        if let Some(ev) = reader.next_event(Duration::from_millis(200)) {
            if tx.send(ev).is_err() {
                return;
            }
        }
    });
}

/// Exit code 0, or 2 when no reader backend could start.
pub fn watch(opts: WatchOptions) -> anyhow::Result<i32> {
    let (tx, rx) = mpsc::channel();
    let mut backends = 0;
    if let Some(port) = &opts.sam_port {
        match SamReader::open(port, opts.baud) {
            Ok(r) => {
                spawn(Box::new(r), tx.clone());
                backends += 1;
            }
            Err(e) => eprintln!("bianmin: SAM reader on {port}: {e}"),
        }
    }
    if opts.pcsc {
        // pcscd may start later: the backend waits for it without failing.
        spawn(
            Box::new(bianmin_idcard::pcsc_reader::PcscReader::new()),
            tx.clone(),
        );
        backends += 1;
    }
    if backends == 0 {
        eprintln!("bianmin: no card reader backend could start");
        return Ok(2);
    }
    drop(tx);
    let deadline = opts.duration.map(|d| Instant::now() + d);
    loop {
        let wait = deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(3600));
        if deadline.is_some() && wait.is_zero() {
            return Ok(0);
        }
        match rx.recv_timeout(wait) {
            Ok(ev) => {
                let v = event_json(&ev);
                if opts.json {
                    println!("{v}");
                } else {
                    println!("{}", text_line(&v));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(0),
        }
    }
}
