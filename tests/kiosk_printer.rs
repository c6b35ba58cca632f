//! The kiosk end to end on a "real" serial printer: the scenario runner with `--printer-port`
//! pointing at the fake ESC/POS printer on a pty. The ticket comes out of the serial line; paper
//! running out mid-ticket tells the resident, and their retry is the one 补打 copy.

mod support;

use std::process::Command;
use support::fake_printer::{Behaviour, FakePrinter};

fn run(fake: &FakePrinter, dir: &std::path::Path, scenario: &str) -> std::process::Output {
    let file = dir.join("journey.toml");
    std::fs::write(&file, scenario).unwrap();
    Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args([
            "--data-dir",
            dir.join("data").to_str().unwrap(),
            "scenario",
            "run",
            file.to_str().unwrap(),
        ])
        .args([
            "--out",
            dir.join("out").to_str().unwrap(),
            "--printer-port",
            &fake.path,
        ])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

const TICKET: &str = r#"
[[step]]
open_service = "queue_and_cases"
[[step]]
tap = "公积金"
[[step]]
tap = "不刷卡，直接取号"
[[step]]
tap = "确认"
[[step]]
expect_page = "result"
"#;

#[test]
fn the_ticket_comes_out_of_the_serial_printer() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakePrinter::start(Behaviour::default());
    let out = run(
        &fake,
        dir.path(),
        &format!("{TICKET}[[step]]\nexpect_text = \"打印完成，请取走凭条\"\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let paper = fake.paperwork();
    let text = paper.lines.join("\n");
    assert!(text.contains("公积金 Housing fund"), "{text}");
    assert!(text.contains("排队取号  Queue ticket"));
    assert_eq!(paper.cuts, 1);
}

#[test]
fn paper_out_mid_ticket_is_told_and_the_retry_is_one_reprint() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakePrinter::start(Behaviour {
        paper_out_after: Some(150),
        ..Default::default()
    });
    // The resident sees why, refills are done by staff (the fault clears), and "print" again.
    let journey = format!(
        "{TICKET}[[step]]\nexpect_text = \"打印机缺纸，请呼叫工作人员\"\n[[step]]\nwait_s = 0.5\n[[step]]\ntap = \"打印凭条\"\n[[step]]\nexpect_text = \"打印完成，请取走凭条\"\n"
    );
    let refill = {
        let behaviour = fake.behaviour.clone();
        let db = dir.path().join("data/bianmin.db");
        std::thread::spawn(move || {
            // Staff put paper in once the kiosk has recorded the job as in doubt.
            let start = std::time::Instant::now();
            while start.elapsed() < std::time::Duration::from_secs(30) {
                let in_doubt = bianmin::storage::Store::open(&db)
                    .ok()
                    .and_then(|s| s.spool_jobs().ok())
                    .is_some_and(|jobs| jobs.iter().any(|j| j.2 == "in_doubt"));
                if in_doubt {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let mut b = behaviour.lock().unwrap();
            b.paper_out_after = None;
            b.status.paper = bianmin_printer::Paper::Ok;
            b.status.online = true;
        })
    };
    let out = run(&fake, dir.path(), &journey);
    refill.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let paper = fake.paperwork();
    assert_eq!(
        paper
            .lines
            .iter()
            .filter(|l| l.contains("补打 REPRINT"))
            .count(),
        1,
        "one marked reprint"
    );
    assert_eq!(
        paper.cuts, 1,
        "the interrupted ticket never reached its cut; the reprint did"
    );
    let store = bianmin::storage::Store::open_in(&dir.path().join("data")).unwrap();
    let jobs = store.spool_jobs().unwrap();
    assert_eq!(
        jobs.len(),
        1,
        "the retry is the same job, not a second one: {jobs:?}"
    );
    assert_eq!((jobs[0].2.as_str(), jobs[0].3), ("done", true));
}
