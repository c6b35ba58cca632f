//! Runs every journey in tests/scenarios/*.toml through the real binary (headless UI, software
//! renderer, embedded cloud simulator), in parallel, and checks the transcripts and screenshots.
//! One journey also runs against a standalone `bianmin cloud-sim` process over HTTP.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bianmin")
}

fn out_root(test: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("scenarios")
        .join(test);
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

fn check_transcript(name: &str, out: &Path) {
    let t: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("transcript.json")).unwrap()).unwrap();
    assert_eq!(t["ok"], true, "{name}: {}", t["failure"]);
    let shots = t["screenshots"].as_array().unwrap();
    assert!(!shots.is_empty(), "{name}: a screenshot per page");
    for s in shots {
        let (w, h) = png_size(&out.join(s.as_str().unwrap()));
        assert!(
            (w, h) == (1080, 1920) || (w, h) == (1920, 1080),
            "{name}: {s} is {w}×{h}"
        );
    }
    let pages: Vec<&str> = t["pages_seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(pages.first(), Some(&"attract"), "{name}: starts on attract");
    assert!(
        !t["cloud_calls"].as_array().unwrap().is_empty(),
        "{name}: talked to the cloud"
    );
    // No resident's full name or ID number may reach what the kiosk recorded (the steps are the
    // scenario's own words, which may name a resident to check that the screen does not).
    let mut recorded = t.clone();
    recorded.as_object_mut().unwrap().remove("steps");
    let text = recorded.to_string();
    for r in bianmin_idcard::simulator::demo_residents() {
        assert!(
            !text.contains(r.id_number.as_str()),
            "{name}: an ID number leaked into the transcript"
        );
        assert!(
            !text.contains(&r.name),
            "{name}: a name leaked into the transcript"
        );
    }
}

#[test]
fn every_scenario_file_passes() {
    let root = out_root("all");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
    files.sort();
    assert!(files.len() >= 3, "at least three journeys");
    let runs: Vec<(String, PathBuf, std::process::Child)> = files
        .iter()
        .map(|f| {
            let name = f.file_stem().unwrap().to_string_lossy().to_string();
            let dir = root.join(&name);
            let child = Command::new(bin())
                .args([
                    "--data-dir",
                    dir.join("data").to_str().unwrap(),
                    "scenario",
                    "run",
                    f.to_str().unwrap(),
                    "--out",
                    dir.join("out").to_str().unwrap(),
                ])
                // Debug logs of our own code: the PII check below reads them.
                .env("RUST_LOG", "bianmin=debug,warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (name, dir, child)
        })
        .collect();
    let mut failed = Vec::new();
    for (name, dir, child) in runs {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("== {name}\n{stdout}");
        if !out.status.success() {
            failed.push(format!(
                "{name}: exit {:?}\n{stdout}\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        check_transcript(&name, &dir.join("out"));
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.contains("cloud call"), "{name}: debug logging was on");
        for r in bianmin_idcard::simulator::demo_residents() {
            assert!(
                !log.contains(r.id_number.as_str()) && !log.contains(&r.name),
                "{name}: personal data in the log"
            );
        }
        if name == "report_pinyin_zh" {
            // Every key type_pinyin tapped was timed to a frame showing its candidates.
            let t: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join("out/transcript.json")).unwrap())
                    .unwrap();
            let keys = t["key_to_candidates_ms"].as_array().unwrap();
            assert_eq!(keys.len(), 30, "{name}: one timing per key");
        }
        if name == "card_session" || name == "queue_happy_zh" {
            // The session ended through the wipe: the cloud session was revoked.
            let t: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join("out/transcript.json")).unwrap())
                    .unwrap();
            let revoked = t["cloud_calls"].as_array().unwrap().iter().any(|c| {
                c["method"] == "DELETE"
                    && c["path"] == "/v1/identity/sessions/current"
                    && c["status"] == 204
            });
            assert!(revoked, "{name}: the resident's cloud session was revoked");
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

#[test]
fn a_failed_expectation_fails_the_run_and_names_the_step() {
    let root = out_root("failing");
    let file = root.join("bad.toml");
    std::fs::write(&file, "[[step]]\nopen_service = \"queue_and_cases\"\n[[step]]\nexpect_text = \"这段文字不会出现\"\n").unwrap();
    let out = Command::new(bin())
        .args([
            "--data-dir",
            root.join("data").to_str().unwrap(),
            "scenario",
            "run",
            file.to_str().unwrap(),
            "--out",
            root.join("out").to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let t: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("out/transcript.json")).unwrap()).unwrap();
    assert_eq!(t["ok"], false);
    assert!(
        t["failure"].as_str().unwrap().starts_with("step 2"),
        "{}",
        t["failure"]
    );
    assert!(root.join("out").read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("failure")));

    std::fs::write(&file, "[[step]]\ntapp = \"x\"\n").unwrap();
    let out = Command::new(bin())
        .args([
            "scenario",
            "run",
            file.to_str().unwrap(),
            "--out",
            root.join("out2").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("step 1: unknown key `tapp`"), "{err}");
}

/// A standalone simulator process, stopped by PID when the test ends.
struct SimProcess(std::process::Child);

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_journey_against_a_standalone_cloud_sim() {
    let root = out_root("standalone");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _sim = SimProcess(
        Command::new(bin())
            .args([
                "cloud-sim",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--db",
                root.join("sim.db").to_str().unwrap(),
                "--enrollment-code",
                "SITE-42",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scenarios/queue_happy_zh.toml"
    );
    let run = |code: &str, out: &str| {
        Command::new(bin())
            .args([
                "--data-dir",
                root.join("kiosk").to_str().unwrap(),
                "scenario",
                "run",
                file,
                "--out",
                root.join(out).to_str().unwrap(),
                "--cloud",
                &url,
                "--enrollment-code",
                code,
            ])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let wrong = run("WRONG", "out0");
    assert_eq!(
        wrong.status.code(),
        Some(2),
        "a refused enrollment code stops the run"
    );
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("enrollment code was refused"));
    let first = run("SITE-42", "out1");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    check_transcript("standalone", &root.join("out1"));
    // The data dir now holds the device token: a second run needs no code.
    let second = Command::new(bin())
        .args([
            "--data-dir",
            root.join("kiosk").to_str().unwrap(),
            "scenario",
            "run",
            file,
            "--out",
            root.join("out2").to_str().unwrap(),
            "--cloud",
            &url,
        ])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    let t: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("out2/transcript.json")).unwrap()).unwrap();
    assert!(t["cloud_calls"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["path"] != "/v1/devices/enroll"));
}
