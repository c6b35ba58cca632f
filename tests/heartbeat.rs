//! The heartbeat end to end with real parts: the kiosk (the real binary, headless, waiting on its
//! attract page) heartbeats once a second to the standalone simulator over HTTP on 127.0.0.1,
//! with the fake ESC/POS printer on a pseudo-terminal. The simulator sees the printer run out of
//! paper within one heartbeat; a queued command (print a test page) is carried out once and
//! acknowledged once; a kiosk cut off for more than three intervals catches up when the cloud
//! returns (its missed beats arrive late, none lost); the local metrics endpoint is scraped and
//! parsed by Prometheus's own parser (python3-prometheus-client).

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::fake_printer::{Behaviour, FakePrinter};
use support::soak::{free_port, start_sim, stop, until};

const BIN: &str = env!("CARGO_BIN_EXE_bianmin");
const INTERVAL: Duration = Duration::from_secs(1);

fn get(url: &str) -> Value {
    let body = std::process::Command::new("curl")
        .args(["-sf", "--max-time", "5", url])
        .output()
        .unwrap();
    assert!(body.status.success(), "GET {url} failed");
    serde_json::from_slice(&body.stdout).unwrap()
}

fn post(url: &str, body: &str) -> Value {
    let out = std::process::Command::new("curl")
        .args([
            "-sf",
            "--max-time",
            "5",
            "-H",
            "content-type: application/json",
            "-d",
            body,
            url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "POST {url} failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn kiosk(dir: &Path, url: &str, printer: &str, metrics_port: u16) -> Child {
    let config = dir.join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[kiosk]\nserial = \"HB-0001\"\n\n[health]\nheartbeat_s = 1\nmetrics_listen = \"127.0.0.1:{metrics_port}\"\n\n[voice]\nenabled = false\n"
        ),
    )
    .unwrap();
    let journey = dir.join("idle.toml");
    // The kiosk waits on its attract page while the test plays the cloud's side.
    std::fs::write(&journey, "[[step]]\nwait_s = 90\n").unwrap();
    Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .args(["--data-dir", dir.join("data").to_str().unwrap()])
        .args(["scenario", "run", journey.to_str().unwrap()])
        .args(["--out", dir.join("out").to_str().unwrap()])
        .args(["--cloud", url, "--enrollment-code", "SOAK"])
        .args(["--printer-port", printer, "--no-screenshots"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("kiosk.log")).unwrap())
        .spawn()
        .unwrap()
}

/// The only device the simulator knows.
fn device(url: &str) -> Option<Value> {
    get(&format!("{url}/_sim/devices"))
        .as_array()
        .and_then(|d| d.first().cloned())
        .filter(|d| !d["last_seen"].is_null())
}

#[test]
fn the_cloud_hears_the_kiosk_and_its_commands_are_carried_out_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let db = dir.path().join("sim.db");
    let mut sim = start_sim(BIN, port, &db, &[]);
    let printer = FakePrinter::start(Behaviour::default());
    let metrics_port = free_port();
    let mut kiosk = kiosk(dir.path(), &url, &printer.path, metrics_port);
    let log = || std::fs::read_to_string(dir.path().join("kiosk.log")).unwrap_or_default();

    // The first beats: the printer ready, the kiosk's version and uptime.
    let first = until(Duration::from_secs(30), "a first heartbeat", || {
        device(&url).filter(|d| d["health"]["printer"]["state"] == "ready")
    });
    let id = first["device_id"].as_str().unwrap().to_string();
    assert_eq!(first["printer"], "ok");
    assert_eq!(first["app_version"], env!("CARGO_PKG_VERSION"));

    // Paper runs out: the cloud knows within one heartbeat.
    printer.set(|b| b.status.paper = bianmin_printer::Paper::Out);
    let out_at = Instant::now();
    let seen = until(INTERVAL * 4, "paper out in the heartbeat", || {
        device(&url).filter(|d| d["health"]["printer"]["state"] == "paper_out")
    });
    let took = out_at.elapsed();
    assert_eq!(seen["printer"], "error");
    assert!(
        seen["health"]["last_errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["code"] == "printer_paper_out"),
        "{seen}"
    );
    println!(
        "paper out → seen by the cloud in {} ms (heartbeat interval {} ms)",
        took.as_millis(),
        INTERVAL.as_millis()
    );
    assert!(
        took <= INTERVAL * 2 + Duration::from_millis(500),
        "{took:?}"
    );
    printer.set(|b| b.status.paper = bianmin_printer::Paper::Ok);

    // A command: print a test page. Carried out once, acknowledged once.
    let queued = post(
        &format!("{url}/_sim/devices/{id}/commands"),
        r#"{"command": "print_test_page"}"#,
    );
    let command_id = queued["id"].as_str().unwrap().to_string();
    let command = |url: &str| {
        get(&format!("{url}/_sim/devices/{id}"))["commands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == command_id.as_str())
            .cloned()
            .unwrap()
    };
    let acked = until(Duration::from_secs(10), "the test page's ack", || {
        Some(command(&url)).filter(|c| !c["acked_at"].is_null())
    });
    assert_eq!(acked["result"], "done", "{acked}");
    // More beats pass; the page is not printed again and the ack is not repeated.
    std::thread::sleep(INTERVAL * 3);
    let pages = printer
        .paperwork()
        .lines
        .iter()
        .filter(|l| l.contains("打印测试"))
        .count();
    assert_eq!(pages, 1, "{:?}\n{}", printer.paperwork().lines, log());
    let later = command(&url);
    assert_eq!(later["duplicate_acks"], 0, "{later}");
    assert_eq!(later["acked_at"], acked["acked_at"]);

    // The self-test, asked for by the cloud: its report comes back with the ack, the printer
    // tested through the kiosk's spool (a second page: the self-test page).
    let selftest = post(
        &format!("{url}/_sim/devices/{id}/commands"),
        r#"{"command": "run_selftest"}"#,
    );
    let selftest_id = selftest["id"].as_str().unwrap().to_string();
    let report = until(Duration::from_secs(20), "the self-test's ack", || {
        get(&format!("{url}/_sim/devices/{id}"))["commands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == selftest_id.as_str() && !c["acked_at"].is_null())
            .cloned()
    });
    let devices = &report["report"]["devices"];
    assert_eq!(devices["printer"]["result"], "pass", "{report}\n{}", log());
    assert_eq!(devices["storage"]["result"], "pass", "{report}");
    assert_eq!(devices["cloud"]["result"], "warn", "plain http: {report}");
    assert_eq!(
        report["result"],
        if report["report"]["ok"] == true {
            "done"
        } else {
            "failed"
        },
        "{report}"
    );
    assert!(
        printer.paperwork().lines.iter().any(|l| l.contains("自检")),
        "{:?}",
        printer.paperwork().lines
    );

    // An unknown command is refused, not ignored.
    post(
        &format!("{url}/_sim/devices/{id}/commands"),
        r#"{"command": "format_disk"}"#,
    );
    until(Duration::from_secs(10), "the refusal", || {
        get(&format!("{url}/_sim/devices/{id}"))["commands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["command"] == "format_disk" && c["result"] == "refused")
            .cloned()
    });

    // The local metrics, parsed as OpenMetrics text by Prometheus's own client library.
    let text = std::process::Command::new("curl")
        .args(["-sf", &format!("http://127.0.0.1:{metrics_port}/metrics")])
        .output()
        .unwrap();
    assert!(text.status.success(), "metrics endpoint: {}", log());
    let parsed = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys, json\n\
             from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse\n\
             out = {}\n\
             for f in parse(sys.stdin.read()):\n\
             \x20   for s in f.samples:\n\
             \x20       out[s.name + json.dumps(s.labels, sort_keys=True)] = s.value\n\
             print(json.dumps(out))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&text.stdout)?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        parsed.status.success(),
        "the metrics do not parse: {}\n{}",
        String::from_utf8_lossy(&parsed.stderr),
        String::from_utf8_lossy(&text.stdout)
    );
    let samples: Value = serde_json::from_slice(&parsed.stdout).unwrap();
    let sample = |key: &str| {
        samples[key]
            .as_f64()
            .unwrap_or_else(|| panic!("no {key} in {samples}"))
    };
    assert!(sample(r#"bianmin_heartbeats_total{"outcome": "answered"}"#) >= 3.0);
    assert_eq!(
        sample(r#"bianmin_print_jobs_total{"outcome": "done"}"#),
        2.0,
        "the test page and the self-test page"
    );
    assert!(sample(r#"bianmin_errors_total{"code": "printer_paper_out"}"#) >= 1.0);
    assert_eq!(
        sample(r#"bianmin_device_condition{"device": "printer"}"#),
        1.0
    );
    assert_eq!(sample("bianmin_outbox_pending{}"), 0.0);
    println!(
        "metrics: {} samples parsed",
        samples.as_object().unwrap().len()
    );

    // The cloud goes away for more than three intervals, then comes back.
    let beats = |url: &str| {
        get(&format!("{url}/_sim/devices/{id}"))["beats"]
            .as_array()
            .unwrap()
            .clone()
    };
    let before = beats(&url).len();
    let away = Instant::now();
    stop(&mut sim);
    std::thread::sleep(INTERVAL * 4);
    let mut sim = start_sim(BIN, port, &db, &[]);
    let away = away.elapsed();
    let back = until(Duration::from_secs(10), "the missed beats", || {
        let b = beats(&url);
        let late = b.iter().filter(|b| b["late"] == true).count();
        (late >= 3).then_some(b)
    });
    let late = back.iter().filter(|b| b["late"] == true).count();
    // One beat a second while away (give or take the first and the last).
    assert!(
        late as u128 + 2 >= away.as_millis() / INTERVAL.as_millis(),
        "{late} late beats for {away:?} away"
    );
    println!(
        "cloud away {} ms: {late} beats arrived late, {} beats in all (was {before})",
        away.as_millis(),
        back.len()
    );
    // In time order, the late beats fill the gap.
    let times: Vec<&str> = back.iter().map(|b| b["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);

    // Logs on request: the last lines, with no personal data in them.
    let logs = post(
        &format!("{url}/_sim/devices/{id}/commands"),
        r#"{"command": "upload_logs", "argument": "50"}"#,
    );
    let logs_id = logs["id"].as_str().unwrap().to_string();
    let uploaded = until(Duration::from_secs(10), "the log upload", || {
        get(&format!("{url}/_sim/devices/{id}"))["commands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == logs_id.as_str() && !c["acked_at"].is_null())
            .cloned()
    });
    let lines = uploaded["log_lines"].as_array().unwrap();
    assert!(!lines.is_empty() && lines.len() <= 50, "{uploaded}");
    assert!(
        lines
            .iter()
            .any(|l| l.as_str().unwrap().contains("heartbeat")),
        "{uploaded}"
    );

    stop(&mut kiosk);
    stop(&mut sim);
}
