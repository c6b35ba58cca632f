//! The print spool across a crash: the printing process is killed (by PID) mid-job, restarted,
//! and the job in doubt comes out exactly once more, marked 补打; a done job never goes again.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::fake_printer::{Behaviour, FakePrinter};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bianmin")
}

fn reprints(fake: &FakePrinter) -> usize {
    fake.paperwork()
        .lines
        .iter()
        .filter(|l| l.contains("补打 REPRINT"))
        .count()
}

fn titles(fake: &FakePrinter) -> usize {
    fake.paperwork()
        .lines
        .iter()
        .filter(|l| l.contains("便民自助终端 打印测试"))
        .count()
}

#[test]
fn a_job_killed_mid_print_is_reprinted_once_marked_reprint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let fake = FakePrinter::start(Behaviour {
        hold_confirm: true,
        ..Default::default()
    });

    // 1. The job goes out but is never confirmed; the process is killed while it waits.
    let mut child = Command::new(bin())
        .args(["--data-dir", data, "printer", "test", "--port", &fake.path])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while fake.paperwork().cuts == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the job never reached the printer"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(titles(&fake), 1);

    // 2. Restarted with a healthy printer, asked for the same page: the job in doubt is reprinted,
    //    marked, and that reprint is the answer — the identical document is not printed a third time.
    fake.set(|b| b.hold_confirm = false);
    let out = Command::new(bin())
        .args(["--data-dir", data, "printer", "test", "--port", &fake.path])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        reprints(&fake),
        1,
        "the job in doubt came out once more, marked 补打"
    );
    assert_eq!(titles(&fake), 2, "original (in doubt) and its reprint");

    // 3. Nothing done is ever sent again; a new request is a new job.
    let out = Command::new(bin())
        .args(["--data-dir", data, "printer", "test", "--port", &fake.path])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(reprints(&fake), 1);
    assert_eq!(titles(&fake), 3);

    let store = bianmin::storage::Store::open_in(dir.path()).unwrap();
    let jobs = store.spool_jobs().unwrap();
    let states: Vec<(&str, bool)> = jobs.iter().map(|j| (j.2.as_str(), j.3)).collect();
    assert_eq!(states, vec![("done", true), ("done", false)]);
}

#[test]
fn status_command_speaks_json_and_exit_codes() {
    let fake = FakePrinter::start(Behaviour::default());
    let out = Command::new(bin())
        .args(["printer", "status", "--port", &fake.path, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"online": true, "cover_open": false, "paper": "ok", "cutter_error": false})
    );
    fake.set(|b| {
        b.status.paper = bianmin_printer::Paper::Out;
        b.status.online = false;
    });
    let out = Command::new(bin())
        .args(["printer", "status", "--port", &fake.path, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a printer that cannot print");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["paper"], "out");
    let out = Command::new(bin())
        .args(["printer", "test", "--port", &fake.path])
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("paper_out"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fake.set(|b| b.silent = true);
    let out = Command::new(bin())
        .args(["printer", "status", "--port", &fake.path])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not answer"));
}
