//! `bianmin provision` and `bianmin selftest` with real parts: the standalone simulator as a
//! process over HTTP, the pty ESC/POS printer, the GA/T 467 SAM reader emulator, an SNTP server
//! on 127.0.0.1, and (one test) pcscd with vpcd and the card emulator.

mod support;

use bianmin_idcard::simulator::demo_residents;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::fake_printer::{Behaviour, FakePrinter};
use support::field::{issue_code, Sim, SntpServer};
use support::sam_emulator::{SamEmulator, SAM_ID_TEXT};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bianmin")
}

/// A config written beforehand by the site (a comment, the test's time server), which
/// provisioning must keep.
fn site_config(dir: &Path, sntp: &SntpServer) -> std::path::PathBuf {
    let file = dir.join("etc/kiosk.toml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        format!(
            "# 建设南路 hall kiosk 1\n[kiosk]\nserial = \"BM-TEST-1\"\n\n[clock]\nntp_servers = [\"{}\"]  # the hall's time server\n",
            sntp.addr
        ),
    )
    .unwrap();
    file
}

/// `bianmin --config C --data-dir D ARGS…` with errors-only logging.
fn kiosk_command(config: &Path, data: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args([
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

fn provision(config: &Path, data: &Path, args: &[&str]) -> (Output, serde_json::Value, Duration) {
    let started = Instant::now();
    let out = kiosk_command(
        config,
        data,
        &[&["provision", "--yes", "--json"], args].concat(),
    );
    let took = started.elapsed();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not only the JSON report ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, report, took)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn sam_with_card() -> SamEmulator {
    let sam = SamEmulator::start();
    let text = bianmin_idcard::sam::text::text_for(&demo_residents()[0]);
    sam.set(|s| s.card = Some(text));
    sam
}

fn reads(sam: &SamEmulator) -> usize {
    sam.state
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| **r == (0x30, 0x01))
        .count()
}

#[test]
fn a_kiosk_is_provisioned_with_printer_and_sam_reader_then_self_tested() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &["PROV-OK"]);
    let sntp = SntpServer::start(800);
    let printer = FakePrinter::start(Behaviour::default());
    let sam = sam_with_card();
    let config = site_config(dir.path(), &sntp);
    let data = dir.path().join("data");
    let (out, r, took) = provision(
        &config,
        &data,
        &[
            "--cloud",
            &sim.url,
            "--code",
            "PROV-OK",
            "--printer-port",
            &printer.path,
            "--sam-port",
            &sam.path,
            "--no-pcsc",
            "--card-wait",
            "5",
        ],
    );
    println!(
        "provisioning wall time (full non-interactive run, process start to exit): {} ms (the report's own: {} ms)",
        took.as_millis(),
        r["elapsed_ms"]
    );
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["ok"], true);
    let id = r["device_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("kiosk-"), "{id}");
    assert_eq!(r["site"]["hall_id"], "chenghua-jianshelu");
    let d = &r["devices"];
    for name in ["printer", "reader", "storage", "enrolment"] {
        assert_eq!(d[name]["result"], "pass", "{name}: {:#}", d[name]);
        assert_eq!(d[name]["required"], true, "{name}");
    }
    assert_eq!(d["printer"]["found"], printer.path.as_str());
    // Plain HTTP to the simulator works, and is said to be no way to reach a real cloud.
    assert_eq!(d["cloud"]["result"], "warn", "{:#}", d["cloud"]);
    assert!(d["cloud"]["latency_ms"].as_u64().is_some());
    for name in ["audio", "display", "clock"] {
        assert_eq!(d[name]["required"], false, "{name}");
        assert!(d[name]["result"] != "fail", "{name} is warn-only");
    }
    let offset = d["clock"]["offset_ms"].as_i64().unwrap();
    assert!(
        (650..950).contains(&offset),
        "the SNTP server runs 800 ms ahead: {offset}"
    );
    assert!(d["storage"]["free_mb"].as_u64().unwrap() > 0);
    let reader = &d["reader"]["readers"][0];
    assert_eq!(reader["name"], sam.path.as_str());
    assert_eq!(reader["backend"], "gat467-serial");
    assert_eq!(reader["sam_id"], SAM_ID_TEXT);
    assert_eq!(reader["card"]["card_type"], "resident_id");
    let masked = reader["card"]["id_masked"].as_str().unwrap();
    assert!(masked.contains("********"), "{masked}");
    // No personal data, no token in the report.
    let text = r.to_string();
    let resident = &demo_residents()[0];
    assert!(!text.contains(resident.id_number.as_str()));
    assert!(!text.contains(&resident.name));
    assert!(!text.contains("dev_"), "no device token in the report");

    // The config: written, parseable, the site's comment kept, the devices found in it.
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.contains("# 建设南路 hall kiosk 1") && written.contains("# the hall's time server")
    );
    let parsed = bianmin::config::Config::parse(&written, &config).unwrap();
    assert_eq!(parsed.printer.port, printer.path);
    assert_eq!(parsed.card_reader.sam_port, sam.path);
    assert_eq!(parsed.cloud.url, sim.url);
    assert_eq!(parsed.kiosk.serial, "BM-TEST-1");
    assert!(!written.contains("dev_"), "no secret in the config");
    assert_eq!(mode(&config), 0o644);
    // The token and the outbox key: owner-only.
    assert_eq!(r["token_file"], data.join("bianmin.db").to_str().unwrap());
    assert_eq!(mode(&data.join("bianmin.db")), 0o600);
    let key = data.join("outbox.key");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);

    // On paper: the test page and the provisioning slip, both naming the kiosk, QR of its id.
    assert_eq!(r["slip_printed"], true);
    let paper = printer.paperwork();
    let lines = paper.lines.join("\n");
    assert!(lines.contains("设备自检"), "{lines}");
    assert!(lines.contains("终端开通单"), "{lines}");
    assert!(lines.matches(&id).count() >= 2, "{lines}");
    assert!(
        paper.qr_payloads.contains(&format!("device:{id}")),
        "{:?}",
        paper.qr_payloads
    );
    assert!(!lines.contains("dev_"));
    assert_eq!(paper.cuts, 2);

    // `bianmin selftest --json`: the same shape against the configured devices, no enrolment.
    let out = kiosk_command(&config, &data, &["selftest", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{s:#}");
    assert_eq!(s["ok"], true);
    assert_eq!(s["device_id"], id.as_str());
    assert!(s["devices"].get("enrolment").is_none());
    assert_eq!(s["devices"]["printer"]["result"], "pass");
    assert_eq!(s["devices"]["reader"]["result"], "pass");
    assert_eq!(s["devices"]["reader"]["readers"][0]["sam_id"], SAM_ID_TEXT);
    assert!(s["devices"]["cloud"]["detail"]
        .as_str()
        .unwrap()
        .contains("catalogue"));
    assert_eq!(
        printer.paperwork().cuts,
        3,
        "the self-test printed its test page"
    );
}

#[test]
fn an_absent_printer_fails_and_the_rerun_resumes_without_a_new_code() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &["PROV-RESUME"]);
    let sntp = SntpServer::start(0);
    let config = site_config(dir.path(), &sntp);
    let data = dir.path().join("data");
    let sam = sam_with_card();
    // A port where nobody answers: the pty's other side is held open and never read.
    let (_master, _slave, silent) = support::pty::openpty();
    let args = |printer: &str| {
        vec![
            "--cloud".to_string(),
            sim.url.clone(),
            "--code".into(),
            "PROV-RESUME".into(),
            "--printer-port".into(),
            printer.to_string(),
            "--sam-port".into(),
            sam.path.clone(),
            "--no-pcsc".into(),
        ]
    };
    let first_args = args(&silent);
    let first_args: Vec<&str> = first_args.iter().map(String::as_str).collect();
    let (out, r, _) = provision(&config, &data, &first_args);
    assert_eq!(out.status.code(), Some(1), "{r:#}");
    assert_eq!(r["ok"], false);
    let p = &r["devices"]["printer"];
    assert_eq!(p["result"], "fail");
    assert_eq!(p["found"], silent.as_str());
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("did not answer DLE EOT"),
        "{p:#}"
    );
    let hint = p["hint"].as_str().unwrap();
    assert!(hint.contains("power") && hint.contains("baud"), "{hint}");
    assert_eq!(r["devices"]["reader"]["result"], "pass");
    assert_eq!(r["devices"]["enrolment"]["result"], "pass");
    assert_eq!(r["slip_printed"], false);
    let id = r["device_id"].as_str().unwrap().to_string();
    let cards_read = reads(&sam);
    assert_eq!(cards_read, 1);

    // The printer plugged in, the same command again: the spent code is not sent again, the
    // test card is not asked for again, only the printer is tested.
    let printer = FakePrinter::start(Behaviour::default());
    let second_args = args(&printer.path);
    let second_args: Vec<&str> = second_args.iter().map(String::as_str).collect();
    let (out, r, _) = provision(&config, &data, &second_args);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["device_id"], id.as_str());
    assert!(r["resumed_from"].is_string());
    let reused: Vec<&str> = r["reused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        reused.contains(&"enrolment") && reused.contains(&"reader test cards"),
        "{reused:?}"
    );
    assert!(r["devices"]["enrolment"]["detail"]
        .as_str()
        .unwrap()
        .contains("reused"));
    assert_eq!(r["devices"]["printer"]["result"], "pass");
    assert_eq!(reads(&sam), cards_read, "no second test card");
    assert_eq!(r["slip_printed"], true);
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains(&printer.path), "{written}");
}

#[test]
fn a_used_or_unknown_code_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &[]);
    let code = issue_code(&sim.url);
    let sntp = SntpServer::start(0);
    let printer = FakePrinter::start(Behaviour::default());
    let sam = sam_with_card();
    let run = |name: &str, code: &str| {
        let config = site_config(&dir.path().join(name), &sntp);
        provision(
            &config,
            &dir.path().join(name).join("data"),
            &[
                "--cloud",
                &sim.url,
                "--code",
                code,
                "--printer-port",
                &printer.path,
                "--sam-port",
                &sam.path,
                "--no-pcsc",
                "--card-wait",
                "3",
            ],
        )
    };
    let (out, r, _) = run("first", &code);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    // Another kiosk (or this one, wiped) with the same code.
    let (out, r, _) = run("second", &code);
    assert_eq!(out.status.code(), Some(1));
    let e = &r["devices"]["enrolment"];
    assert_eq!(e["result"], "fail");
    let detail = e["detail"].as_str().unwrap();
    assert!(
        detail.contains(&code) && detail.contains("already been used"),
        "{detail}"
    );
    assert!(e["hint"].as_str().unwrap().contains("new code"));
    assert!(r["device_id"].is_null());
    assert_eq!(r["slip_printed"], false);
    let (out, r, _) = run("third", "NO-SUCH-CODE");
    assert_eq!(out.status.code(), Some(1));
    let detail = r["devices"]["enrolment"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("NO-SUCH-CODE") && detail.contains("not a valid code"),
        "{detail}"
    );
}

// ---- PC/SC: pcscd, vpcd and the card emulator, stopped by PID ----

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const READER: &str = "Virtual PCD 00 00";

#[test]
fn a_pcsc_reader_is_found_and_its_test_card_read() {
    let _pcscd = if pcsc::Context::establish(pcsc::Scope::User).is_ok() {
        None
    } else {
        let child = Command::new("pcscd")
            .arg("--foreground")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pcscd is installed (make test installs pcscd and vsmartcard-vpcd)");
        let started = Instant::now();
        while pcsc::Context::establish(pcsc::Scope::User).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "no pcscd");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Proc(child))
    };
    let r = &demo_residents()[2];
    let card = serde_json::json!({
        "id_number": r.id_number.as_str(), "name": r.name,
        "sex": if r.id_number.is_male() { "1" } else { "2" },
        "birth": r.birth_date.format("%Y%m%d").to_string(),
        "ethnicity": r.ethnicity.unwrap_or(1), "card_no": "S51010400015",
    })
    .to_string();
    let _card = Proc(
        Command::new("/usr/bin/python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/cards/vpcd_card.py"
            ))
            .args(["--card", &card])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Provisioning starts once pcscd sees the card.
    let started = Instant::now();
    loop {
        let seen = bianmin_idcard::pcsc_reader::survey()
            .unwrap_or_default()
            .iter()
            .any(|s| s.name == READER && s.atr.is_some());
        if seen {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "vpcd shows no card"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::start(dir.path(), &["PROV-PCSC"]);
    let sntp = SntpServer::start(0);
    let printer = FakePrinter::start(Behaviour::default());
    let config = site_config(dir.path(), &sntp);
    let (out, rep, _) = provision(
        &config,
        &dir.path().join("data"),
        &[
            "--cloud",
            &sim.url,
            "--code",
            "PROV-PCSC",
            "--printer-port",
            &printer.path,
            "--card-wait",
            "10",
        ],
    );
    let reader = &rep["devices"]["reader"];
    assert_eq!(reader["result"], "pass", "{reader:#}");
    assert_eq!(out.status.code(), Some(0), "{rep:#}");
    let found = reader["readers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == READER)
        .unwrap_or_else(|| panic!("{reader:#}"));
    assert_eq!(found["backend"], "pcsc");
    assert!(
        found["atr"].as_str().unwrap().starts_with("3B"),
        "{found:#}"
    );
    assert_eq!(found["card"]["card_type"], "social_security");
    assert!(!rep.to_string().contains(r.id_number.as_str()));
    let written =
        bianmin::config::Config::parse(&std::fs::read_to_string(&config).unwrap(), &config)
            .unwrap();
    assert!(written.card_reader.pcsc);
}
