//! Verifiable paper, end to end: the kiosk (the scenario runner, headless) against a standalone
//! `bianmin cloud-sim` over HTTP and the fake ESC/POS printer on a pty. Each document kind is
//! printed; its QR payload and verification code are read back from the bytes on the serial
//! line, and checked at the simulator's public verification endpoint as anyone holding the paper
//! would (valid; a wrong code answers `valid: false` and names nobody). Then the misissuance
//! guard: another resident's certificate, and an answer that arrives after the card was pulled,
//! print nothing; two residents back to back each get exactly their own paper.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use support::fake_printer::{Behaviour, FakePrinter};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bianmin")
}

/// A standalone simulator process, stopped by PID when the test ends.
struct SimProcess {
    child: std::process::Child,
    url: String,
}

impl SimProcess {
    fn start(dir: &Path) -> SimProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin())
            .args([
                "cloud-sim",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--db",
                dir.join("sim.db").to_str().unwrap(),
                "--enrollment-code",
                "DOCS-1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        SimProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a journey; `cloud` is a standalone simulator's URL, or `None` for the embedded one
/// (which can play faults).
fn journey(
    dir: &Path,
    name: &str,
    steps: &str,
    cloud: Option<&str>,
    printer: &FakePrinter,
) -> serde_json::Value {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, steps).unwrap();
    let out_dir = dir.join(format!("out-{name}"));
    let mut cmd = Command::new(bin());
    cmd.args([
        "--data-dir",
        dir.join("kiosk").to_str().unwrap(),
        "scenario",
        "run",
        file.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--printer-port",
        &printer.path,
    ]);
    if let Some(url) = cloud {
        cmd.args(["--cloud", url, "--enrollment-code", "DOCS-1"]);
    }
    let out = cmd.env("RUST_LOG", "warn").output().unwrap();
    assert!(
        out.status.success(),
        "{name}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(out_dir.join("transcript.json")).unwrap()).unwrap()
}

const SOCIAL: &str = r#"
[[step]]
insert_card = 2
[[step]]
open_service = "social_insurance"
[[step]]
tap = "打印参保证明"
[[step]]
tap = "最近 12 个月"
[[step]]
expect_page = "document"
[[step]]
tap = "打印"
[[step]]
expect_text = "证明已打印"
[[step]]
remove_card = true
"#;

const MEDICAL: &str = r#"
[[step]]
insert_card = 2
[[step]]
open_service = "medical_insurance"
[[step]]
tap = "打印医保对账单"
[[step]]
tap = "去年"
[[step]]
expect_page = "document"
[[step]]
tap = "打印"
[[step]]
expect_text = "证明已打印"
[[step]]
remove_card = true
"#;

const HOUSING: &str = r#"
[[step]]
insert_card = 2
[[step]]
open_service = "housing_fund"
[[step]]
tap = "打印缴存证明"
[[step]]
tap = "贷款使用"
[[step]]
expect_page = "document"
[[step]]
tap = "打印"
[[step]]
expect_text = "证明已打印"
[[step]]
remove_card = true
"#;

/// `…/v1/certificates/{no}?verify_code=CODE` → (no, code).
fn parse_verify_url(url: &str) -> (String, String) {
    let (path, query) = url.split_once('?').expect("a query");
    let no = path.rsplit('/').next().unwrap().to_string();
    let code = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("verify_code="))
        .expect("verify_code")
        .to_string();
    assert!(
        path.ends_with(&format!("/v1/certificates/{no}")),
        "the QR points at the verification endpoint: {url}"
    );
    (no, code)
}

fn get_json(url: &str) -> (u16, serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // As anyone would: no device token, no session.
        let r = reqwest::get(url).await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    })
}

#[test]
fn every_document_kind_prints_with_a_qr_that_verifies_at_the_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProcess::start(dir.path());
    let printer = FakePrinter::start(Behaviour::default());
    let holder = &bianmin_idcard::simulator::demo_residents()[1];
    let mut seen = Vec::new();
    for (name, steps, title) in [
        ("social", SOCIAL, "参保证明"),
        ("medical", MEDICAL, "对账单"),
        ("housing", HOUSING, "缴存证明"),
    ] {
        let before = printer.paperwork().qr_payloads.len();
        journey(dir.path(), name, steps, Some(&sim.url), &printer);
        let paper = printer.paperwork();
        assert_eq!(
            paper.qr_payloads.len(),
            before + 1,
            "{name}: one document came out"
        );
        let url = paper.qr_payloads.last().unwrap().clone();
        assert!(url.is_ascii() && url.starts_with(&sim.url), "{name}: {url}");
        let (no, code) = parse_verify_url(&url);
        let text = paper.lines.join("\n");
        assert!(text.contains(title), "{name}: the title is on paper");
        assert!(text.contains(&no), "{name}: the number is on paper");
        assert!(
            text.contains(&code),
            "{name}: the code is on paper for typing in"
        );
        assert!(
            text.contains(&holder.name),
            "{name}: the holder is named on the paper"
        );
        assert!(
            !text.contains(holder.id_number.as_str()),
            "{name}: the ID number is masked on paper"
        );

        let (status, ok) = get_json(&url);
        assert_eq!(status, 200, "{name}: {ok}");
        assert_eq!(ok["valid"], true, "{name}: {ok}");
        assert_eq!(
            ok["holder_name_masked"].as_str(),
            Some(holder.name_masked().as_str())
        );
        assert!(ok["holder_id_masked"]
            .as_str()
            .is_some_and(|m| m.contains('*') && m.ends_with(&holder.id_number.as_str()[14..])));

        let wrong_code: String = code
            .chars()
            .rev()
            .map(|c| if c == '2' { '3' } else { '2' })
            .collect();
        let (status, bad) = get_json(&url.replace(&code, &wrong_code));
        assert_eq!(status, 200, "{name}: {bad}");
        assert_eq!(bad["valid"], false, "{name}: {bad}");
        for field in [
            "holder_name_masked",
            "holder_id_masked",
            "kind",
            "issued_at",
        ] {
            assert!(
                bad.get(field).is_none(),
                "{name}: a wrong code reveals {field}"
            );
        }
        seen.push(no);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "three different documents");
}

fn audit(dir: &Path) -> Vec<(String, String)> {
    let store = bianmin::storage::Store::open_in(&dir.join("kiosk")).unwrap();
    store.audit_entries().unwrap()
}

#[test]
fn another_residents_certificate_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let printer = FakePrinter::start(Behaviour::default());
    let t = journey(
        dir.path(),
        "wrong_holder",
        r#"
[[step]]
insert_card = 2
[[step]]
open_service = "social_insurance"
[[step]]
cloud_fault = "wrong_holder"
[[step]]
tap = "打印参保证明"
[[step]]
tap = "最近 12 个月"
[[step]]
expect_text = "未打印，请联系工作人员"
[[step]]
expect_no_print = "参保证明"
"#,
        None,
        &printer,
    );
    assert_eq!(t["ok"], true);
    assert!(
        printer.paperwork().qr_payloads.is_empty(),
        "nothing reached the printer"
    );
    let log = audit(dir.path());
    assert!(
        log.iter()
            .any(|(a, d)| a == "document_withheld" && d.starts_with("other_")),
        "{log:?}"
    );
}

#[test]
fn an_answer_after_the_card_was_pulled_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let printer = FakePrinter::start(Behaviour::default());
    journey(
        dir.path(),
        "late",
        r#"
[[step]]
insert_card = 2
[[step]]
open_service = "social_insurance"
[[step]]
cloud_fault = "late"
[[step]]
tap = "打印参保证明"
[[step]]
tap_no_wait = "最近 12 个月"
[[step]]
remove_card = true
[[step]]
expect_page = "goodbye"
[[step]]
wait_s = 1
[[step]]
expect_no_print = "参保证明"
"#,
        None,
        &printer,
    );
    assert!(printer.paperwork().qr_payloads.is_empty());
    let log = audit(dir.path());
    assert!(
        log.iter()
            .any(|(a, d)| a == "document_withheld" && d.starts_with("resident_gone")),
        "{log:?}"
    );
}

#[test]
fn two_residents_back_to_back_each_get_their_own_paper() {
    let dir = tempfile::tempdir().unwrap();
    let printer = FakePrinter::start(Behaviour::default());
    let residents = bianmin_idcard::simulator::demo_residents();
    let one_visit = |card: usize| {
        format!(
            r#"
[[step]]
insert_card = {card}
[[step]]
open_service = "social_insurance"
[[step]]
tap = "打印参保证明"
[[step]]
tap = "最近 12 个月"
[[step]]
tap = "打印"
[[step]]
expect_text = "证明已打印"
[[step]]
remove_card = true
"#
        )
    };
    let started = std::time::Instant::now();
    journey(
        dir.path(),
        "back_to_back",
        &format!("{}{}", one_visit(2), one_visit(3)),
        None,
        &printer,
    );
    println!(
        "two residents' certificates in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let paper = printer.paperwork();
    assert_eq!(paper.qr_payloads.len(), 2, "two documents, no more");
    let text = paper.lines.join("\n");
    let (first, second) = text
        .split_once("参保证明\n")
        .and_then(|(_, rest)| rest.split_once("参保证明\n"))
        .expect("two certificates on the roll");
    assert!(first.contains(&residents[1].name) && !first.contains(&residents[2].name));
    assert!(second.contains(&residents[2].name) && !second.contains(&residents[1].name));
}
